#!/usr/bin/env python3
"""Ask a niah manifest's questions in other everyday wordings: write a questions file.

    python bench/wordings.py MANIFEST --set tune|test|tune2|test2 --out FILE [--rounds N]

Every question of ``MANIFEST`` (a ``shared/niah`` build) is reworded with one of the
wordings of its type — ``wordings_tune_templates.py`` (``--set tune``, for tuning) or
``wordings_test_templates.py`` (``--set test``, held out: report on it, never tune on
it); ``tune2``/``test2`` are a second set written the same way — filled from the
manifest: the needle's label, the quoted sentence, the question's time written other
ways, the options (their texts exactly as in the manifest, in its order, so the scorer
still finds them), the counted word. The output is a JSONL of
``{"id", "question", "round", "template"}`` reusing the manifest's ids, for
``bench/niah.py --questions FILE``: round k asks every question once, and each round
moves every type on to its next wordings, so that ``--rounds`` (default: just enough)
uses every wording of the set at least once. Deterministic: no randomness.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import string
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SETS = ("tune", "test", "tune2", "test2")
_TIME = re.compile(r"\b(?:(\d+):)?(\d{1,2}):(\d{2})\b")
_QUOTED = re.compile("\u201c(.+?)\u201d")
#: A template's full stop right after a quoted sentence that ends in its own punctuation.
_DOUBLE_STOP = re.compile("([.!?])([\"'\u201d])\\.")


def templates(which: str) -> dict[str, list[str]]:
    """The wordings of one half (imports only that half's module)."""
    if which not in SETS:
        raise SystemExit(f"--set must be one of {', '.join(SETS)}, not {which!r}")
    return importlib.import_module(f"wordings_{which}_templates").TEMPLATES


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("\u2019", "'")).split()


def _contains(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def _lower_plain(text: str) -> str:
    """Lower case, punctuation dropped (apostrophes kept): how a sentence gets typed."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower().replace("\u2019", "'")).split())


def _fragment(text: str, others: list[str]) -> str | None:
    """The sentence's first 3-6 words, if a real part of it and in no other sentence."""
    words = text.split()
    other_toks = [_words(o) for o in others]
    for k in range(3, 7):
        if k > len(words) - 2:
            return None
        frag = " ".join(words[:k]).rstrip(",.;:!?")
        toks = _words(frag)
        if not any(_contains(o, toks) for o in other_toks):
            return frag
    return None


def time_forms(t: int) -> dict[str, str]:
    """A time in seconds written the ways people write it."""
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in ((h, "hour"), (m, "minute"))]
    spoken = [p for p, n in zip(parts, (h, m), strict=True) if n]
    if s or not spoken:
        spoken.append(f"{s} second{'' if s == 1 else 's'}")
    return {
        "mmss": f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}",
        "mss": f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}",
        "hmmss": f"{h}:{m:02d}:{s:02d}",
        "spoken": " ".join(spoken),
        "secs": f"{t} seconds",
    }


def _question_time(q: dict[str, Any]) -> int:
    """The time the manifest's question asks about (its text, else its evidence)."""
    m = _TIME.search(q["question"])
    if m:
        return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    a, b = q["evidence"][0]
    return int(math.floor((a + b) / 2 + 1e-6))


def _approx_minute(t: int, target: str, items: list[dict[str, Any]]) -> str | None:
    """The nearest whole minute, where no other item of the same kind is near it."""
    m = round(t / 60)
    if m < 1 or abs(t - 60 * m) > 15:
        return None
    lo, hi = 60 * m - 40, 60 * m + 40
    if any(it["id"] != target and it["start"] <= hi and it["end"] >= lo for it in items):
        return None
    return str(m)


def _the(label: str) -> str:
    for art in ("a ", "an "):
        if label.startswith(art):
            return "the " + label[len(art) :]
    return label


def _choices(opts: list[str]) -> dict[str, str]:
    head = ", ".join(opts[:-1])
    return {
        "opts": f"{head} or {opts[-1]}",
        "opts_oxford": f"{head}, or {opts[-1]}",
        "opts_and": f"{head} and {opts[-1]}",
    }


def fields(q: dict[str, Any], manifest: dict[str, Any]) -> tuple[str, dict[str, str | None]]:
    """The template key of ``q`` and the values its wordings may use (None: unavailable).

    Raises:
        ValueError: The question's type (or count kind) has no wordings, or its parts
            are not where the manifest format puts them.
    """
    needles = {n["id"]: n for n in manifest["needles"]}
    speech = {u["id"]: u for u in manifest["speech"]}
    slides = [n for n in manifest["needles"] if n["kind"] == "text"]
    texts = [u["text"] for u in manifest["speech"]] + [n["text"] for n in slides]
    t = q["type"]

    def sentence(text: str) -> dict[str, str | None]:
        if f"\u201c{text.strip()}\u201d" not in q["question"]:
            raise ValueError(f"{q['id']}: the sentence {text!r} is not in its question")
        return {
            "s": text.strip(),
            "s_lc": _lower_plain(text),
            "frag": _fragment(text, [x for x in texts if x != text]),
        }

    if t == "visual_when":
        label = needles[q["target"]]["label"]
        the = _the(label)
        return t, {"label": label, "the_label": the, "The_label": the[:1].upper() + the[1:]}
    if t == "speech_when":
        return t, sentence(speech[q["target"]]["text"])
    if t == "ocr_when":
        return t, sentence(needles[q["target"]]["text"])
    if t in ("speech_what", "ocr_what"):
        sec = _question_time(q)
        items = list(manifest["speech"]) if t == "speech_what" else slides
        return t, {**time_forms(sec), "approx_min": _approx_minute(sec, q["target"], items)}
    if t == "order":
        a, b = q["options"]
        vis = q.get("modality") == "visual"
        return t, {"a": a, "b": b, "va": a if vis else None, "vb": b if vis else None}
    if t == "cross_modal":
        return t, {**sentence(speech[q["targets"][0]]["text"]), **_choices(q["options"])}
    if t == "count":
        if q.get("modality") == "speech":
            m = _QUOTED.search(q["question"])
            if not m:
                raise ValueError(f"{q['id']}: no quoted word in {q['question']!r}")
            return "count_word", {"w": m.group(1)}
        if q.get("modality") == "ocr":
            return "count_slides", {}
    raise ValueError(f"{q['id']}: no wordings for question type {t!r} / {q.get('modality')!r}")


def _names(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def reword(
    manifest: dict[str, Any], which: str, rounds: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every question in ``rounds`` rounds of wordings of set ``which``.

    Question i of a template key (n questions, m wordings) in round k takes, of the
    wordings whose fields it has, the least used so far, counting from ``(k * n + i) mod
    m``: the default ``ceil(m / n)`` rounds use every wording that some question fits.

    Returns:
        The rows (round 1 first, manifest order within a round) and the rounds used.
    """
    tpl = templates(which)
    keyed: dict[str, list[tuple[dict[str, Any], dict[str, str | None]]]] = {}
    for q in manifest["questions"]:
        key, vals = fields(q, manifest)
        if key not in tpl:
            raise ValueError(f"set {which!r} has no wordings for {key!r}")
        keyed.setdefault(key, []).append((q, vals))
    if rounds is None:
        rounds = max(math.ceil(len(tpl[k]) / len(v)) for k, v in keyed.items())
    order = {q["id"]: i for i, q in enumerate(manifest["questions"])}
    rows: list[dict[str, Any]] = []
    used: dict[str, Counter[int]] = {key: Counter() for key in keyed}
    for k in range(rounds):
        this: list[dict[str, Any]] = []
        for key, qs in keyed.items():
            ws = tpl[key]
            for i, (q, vals) in enumerate(qs):
                start = (k * len(qs) + i) % len(ws)
                fits = [
                    j
                    for j in ((start + step) % len(ws) for step in range(len(ws)))
                    if all(vals.get(f) is not None for f in _names(ws[j]))
                ]
                if not fits:
                    raise ValueError(f"{q['id']}: no wording of {key!r} fits it")
                jj = min(fits, key=lambda j: used[key][j])  # least used, first in turn
                used[key][jj] += 1
                this.append(
                    {
                        "id": q["id"],
                        "question": _DOUBLE_STOP.sub(r"\1\2", ws[jj].format(**vals)),
                        "round": k + 1,
                        "template": f"{which}:{key}:{jj}",
                    }
                )
        rows += sorted(this, key=lambda r: order[r["id"]])
    return rows, rounds


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("manifest", help="a niah build's manifest.json")
    p.add_argument("--set", dest="which", required=True, choices=SETS, help="which half")
    p.add_argument("--out", required=True, help="questions JSONL to write")
    p.add_argument("--rounds", type=int, help="rounds [default: enough to use every wording once]")
    a = p.parse_args(argv)
    if a.rounds is not None and a.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    manifest = json.loads(Path(a.manifest).read_text())
    try:
        rows, rounds = reword(manifest, a.which, a.rounds)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tpl = templates(a.which)
    used = Counter(r["template"] for r in rows)
    unused = [
        f"{a.which}:{k}:{j}"
        for k, ws in tpl.items()
        for j in range(len(ws))
        if f"{a.which}:{k}:{j}" not in used
    ]
    print(
        json.dumps(
            {
                "out": str(out),
                "set": a.which,
                "rounds": rounds,
                "questions": len(rows),
                "wordings_used": len(used),
                "wordings_unused": unused,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
