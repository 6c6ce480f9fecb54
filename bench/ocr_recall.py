#!/usr/bin/env python3
"""On-screen text recall of an indexed niah video, against its slides and another index.

    python bench/ocr_recall.py LIBRARY MANIFEST [--reference LIBRARY]

* **slides** — every text needle of the manifest (a slide with a written sentence, shown
  for a few seconds) counts as read when an OCR item overlapping its time span, or those
  items joined (a sentence may wrap onto two lines), read it (difflib similarity ≥ 0.8
  after case folding); the word recall is the share of its words read there;
* **strings** (with ``--reference``) — of the distinct OCR strings of the reference
  library (e.g. the same video indexed by the previous commit), the share that the
  library also read somewhere in the video (similarity ≥ 0.8), and the reverse.

Reads the libraries only. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sqlite3
from pathlib import Path

SIM = 0.8


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _sim(a: str, b: str) -> float:
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def ocr_items(library: str) -> list[tuple[float, float, str]]:
    """``(start, end, normalised text)`` of every OCR item of the library's first video."""
    db = sqlite3.connect(f"file:{Path(library) / 'library.db'}?mode=ro", uri=True)
    rows = db.execute("select start, end, text from ocr_items order by start").fetchall()
    db.close()
    return [(float(s), float(e), _norm(t)) for s, e, t in rows]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text)


def slide_recall(items: list[tuple[float, float, str]], manifest: dict) -> dict:
    """A slide's sentence may wrap onto two lines (two OCR items): it counts as read when
    one item, or the items seen during the slide joined in order, match it."""
    slides = [n for n in manifest["needles"] if n.get("kind") == "text"]
    found = []
    for n in slides:
        want = _norm(n["text"])
        near = [t for s, e, t in items if s <= n["end"] + 1.0 and e >= n["start"] - 1.0]
        best = max([_sim(want, t) for t in near] + [_sim(want, " ".join(near))])
        seen = set(_words(" ".join(near)))
        words = _words(want)
        word_recall = sum(w in seen for w in words) / max(1, len(words))
        found.append(
            {
                "text": n["text"],
                "start": n["start"],
                "best": round(best, 3),
                "words": round(word_recall, 3),
            }
        )
    hits = sum(f["best"] >= SIM for f in found)
    words = sum(f["words"] for f in found) / max(1, len(found))
    return {"slides": len(slides), "read": hits, "word_recall": round(words, 4), "detail": found}


def string_recall(items: list, reference: list) -> dict:
    mine = {t for _, _, t in items}
    ref = {t for _, _, t in reference}

    def share(a: set[str], b: set[str]) -> float:
        if not a:
            return 1.0
        return sum(max((_sim(x, y) for y in b), default=0.0) >= SIM for x in a) / len(a)

    return {
        "reference_strings": len(ref),
        "strings": len(mine),
        "recall_of_reference": round(share(ref, mine), 4),
        "reference_recall_of_these": round(share(mine, ref), 4),
        "missed": sorted(x for x in ref if max((_sim(x, y) for y in mine), default=0) < SIM),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("library")
    ap.add_argument("manifest")
    ap.add_argument("--reference", help="another library of the same video")
    a = ap.parse_args()
    manifest = json.loads(Path(a.manifest).read_text())
    items = ocr_items(a.library)
    out: dict = {"library": a.library, "items": len(items)}
    out["slides"] = slide_recall(items, manifest)
    s = out["slides"]
    print(
        f"{a.library}: {len(items)} OCR items; slides read {s['read']}/{s['slides']}, "
        f"word recall {100 * s['word_recall']:.0f}%"
    )
    for d in s["detail"]:
        print(f"  {d['start']:7.1f} s  best {d['best']:.2f}  words {d['words']:.2f}  {d['text']}")
    if a.reference:
        out["strings"] = string_recall(items, ocr_items(a.reference))
        r = out["strings"]
        print(
            f"  strings: {r['strings']} here, {r['reference_strings']} in {a.reference}; "
            f"{100 * r['recall_of_reference']:.1f}% of those read here, "
            f"{100 * r['reference_recall_of_these']:.1f}% of these read there"
        )
        print(f"  missed: {r['missed'][:30]}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
