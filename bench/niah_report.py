"""Helpers of ``bench/niah.py``: index statistics, scoring, percentiles and tables.

Kept apart from the runner so that both stay short; nothing here loads a model.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Variant letter → what it measures (printed in the table and the summary).
VARIANTS: dict[str, str] = {
    "a": "full agent (depth segments, backtracking)",
    "b": "one-shot retrieval (no backtracking)",
    "c": "fixed 30 s windows instead of depth segments",
    "d": "transcript-only evidence",
}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def index_stats(library: Path, video: str) -> dict[str, Any]:
    """Duration, counts and per-stage seconds of ``video`` from ``library/library.db``.

    Reads the ``videos`` row and the stats JSON of its last finished ``index_runs`` row
    (read-only; the store's schema may change, so missing columns are skipped).

    Args:
        library: The library folder.
        video: The indexed video's path.

    Returns:
        ``{"duration", "seconds", "rtf", "stages": {name: s}, "counts": {...}}``; empty
        when the video is not in the library.
    """
    db = library / "library.db"
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute(
            "SELECT * FROM videos WHERE path = ? AND status = 'indexed' ORDER BY id DESC LIMIT 1",
            (str(Path(video).resolve()),),
        ).fetchone()
        if row is None:
            return {}
        run = con.execute(
            "SELECT seconds, stats FROM index_runs WHERE video_id = ? AND "
            "status = 'indexed' ORDER BY id DESC LIMIT 1",
            (row["id"],),
        ).fetchone()
    finally:
        con.close()
    stats = json.loads(run["stats"]) if run is not None and run["stats"] else {}
    duration = float(stats.get("duration") or row["duration"] or 0.0)
    stages = {k: round(float(v), 2) for k, v in (stats.get("seconds") or {}).items()}
    for k in ("seconds_segment", "seconds_compress"):
        if k in stats:
            stages[k.removeprefix("seconds_")] = round(float(stats[k]), 2)
    total = float(stages.get("total") or (run["seconds"] if run is not None else 0.0) or 0.0)
    counts = {
        k: stats[k]
        for k in (
            "frames",
            "encoded",
            "reused",
            "segments",
            "memories",
            "lines",
            "ocr_items",
            "chapters",
            "language",
        )
        if k in stats
    }
    return {
        "duration": round(duration, 2),
        "seconds": round(total, 2),
        "rtf": round(duration / total, 2) if total else None,
        "stages": stages,
        "counts": counts,
        "encoder": row["encoder"],
    }


def score(score_py: Path, manifest: Path, answers: Path, details: Path) -> dict[str, Any]:
    """Run the niah scorer; its last stdout line is the JSON summary.

    Raises:
        RuntimeError: The scorer failed or printed no JSON.
    """
    out = subprocess.run(
        [sys.executable, str(score_py), str(manifest), str(answers), "--details", str(details)],
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"score.py failed: {out.stderr.strip()[-800:]}")
    return json.loads(lines[-1])


def _f(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def variant_row(letter: str, scores: dict[str, Any], latencies: Sequence[float]) -> dict[str, Any]:
    """One summary row of a variant: quality and latency figures."""
    return {
        "variant": letter,
        "what": VARIANTS[letter],
        "grounding_hit": scores.get("grounding_hit"),
        "answer_correct": scores.get("answer_correct"),
        "n": len(latencies),
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "max_s": max(latencies) if latencies else None,
    }


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The variant table as aligned text."""
    head = f"{'variant':<46} {'n':>3} {'ground':>7} {'correct':>7} {'p50 s':>7} {'p95 s':>7}"
    out = [head, "-" * len(head)]
    for r in rows:
        name = f"({r['variant']}) {r['what']}"[:46]
        out.append(
            f"{name:<46} {r['n']:>3} {_f(r['grounding_hit']):>7} "
            f"{_f(r['answer_correct']):>7} {_f(r['p50_s'], 1):>7} "
            f"{_f(r['p95_s'], 1):>7}"
        )
    return "\n".join(out)


def format_types(scores: dict[str, Any]) -> str:
    """Per-question-type figures of one variant's scorer summary."""
    types = scores.get("types") or scores.get("per_type") or {}
    head = f"{'type':<14} {'n':>3} {'ground':>7} {'correct':>7}"
    out = [head, "-" * len(head)]
    for name, t in sorted(types.items()):
        out.append(
            f"{name:<14} {t.get('n', 0):>3} {_f(t.get('grounding_hit')):>7} "
            f"{_f(t.get('answer_correct')):>7}"
        )
    return "\n".join(out)


def format_index(name: str, st: dict[str, Any], wall: float | None) -> str:
    """One library's indexing figures: RTF, per-stage seconds and counts."""
    if not st.get("stages") and not st.get("duration"):
        return f"{name}: no index statistics"
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in st["stages"].items() if k != "total")
    counts = ", ".join(f"{k} {v}" for k, v in st["counts"].items())
    took = f"; this run {wall:.0f}s wall" if wall is not None else " (reused)"
    return (
        f"{name}: {st['duration']:.0f}s of video indexed in {st['seconds']:.0f}s, "
        f"RTF {_f(st['rtf'], 1)}x{took}\n  stages: {stages}\n  counts: {counts}"
    )
