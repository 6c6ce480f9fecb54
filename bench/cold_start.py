#!/usr/bin/env python3
"""Cold-start latency of the CLI, and warm search latency, on an indexed library.

    python bench/cold_start.py LIBRARY [--query "a Chinese pagoda"] [--question "..."]
                                       [--runs 3] [--warm 30]

Each command runs ``--runs`` times in a fresh process (``hourlens --library LIBRARY ...``,
the installed entry point); the median wall time is reported for ``search``, ``ask`` (a
lookup question: "What is said at about MM:SS?" at the spoken line nearest a third of
the first video, unless ``--question`` is given), ``show`` and ``list``. The warm figure
is the p50 of ``--warm`` searches in one process (``Library.search``, after one warm-up
search). A probe run of search and ask reports whether torch was imported. Nothing is
written to the library (read-only commands). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WARM_QUERIES = [
    "a Chinese pagoda",
    "a red motorcycle",
    "a cup of coffee",
    "a rocket on a launch pad",
    "a cat",
    "people talking in a car",
    "a white bird",
    "a boat on the water",
    "a man in a suit",
    "slides with text",
]

PROBE = """
import sys
from hourlens.cli import main
sys.argv = ["hourlens", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("TORCH_IMPORTED=" + str("torch" in sys.modules), file=sys.stderr)
"""


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("hourlens")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "hourlens"]


def _first_video(library: str) -> tuple[str, float, float]:
    """``(file name, duration, time of the spoken line nearest a third of the way)``."""
    from hourlens import Library

    with Library(library) as lib:
        videos = lib.videos("indexed")
        if not videos:
            sys.exit(f"{library}: no indexed videos")
        v = videos[0]
        duration = float(v.duration or 0.0)
        lines = lib.transcript(v.id)
        mid = [(ln.start + ln.end) / 2 for ln in lines] or [duration / 3]
        at = min(mid, key=lambda t: abs(t - duration / 3))
        return os.path.basename(v.path), duration, at


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    sec = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return sec


def _torch_imported(args: list[str]) -> bool:
    out = subprocess.run(  # -I: the current folder (a checkout) must not shadow the install
        [sys.executable, "-I", "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    if "TORCH_IMPORTED=" not in out.stderr:
        sys.exit(f"torch probe failed: {out.stderr.strip()[-500:]}")
    return "TORCH_IMPORTED=True" in out.stderr


def _warm_p50(library: str, n: int) -> float:
    from hourlens import Library

    with Library(library) as lib:
        lib.search(WARM_QUERIES[0], k=5)
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            lib.search(WARM_QUERIES[i % len(WARM_QUERIES)], k=5)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("library")
    ap.add_argument("--query", default="a Chinese pagoda")
    ap.add_argument("--question", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", type=int, default=30)
    a = ap.parse_args()
    if not Path(a.library, "library.db").is_file():
        sys.exit(f"{a.library}: not a hourlens library (no library.db)")
    video, duration, at = _first_video(a.library)
    t = int(at)
    question = a.question or f"What is said at about {t // 60:02d}:{t % 60:02d}?"
    base = [*_cli(), "--library", a.library]
    commands = {
        "search": ["search", a.query, "-k", "3"],
        "ask": ["ask", video, question],
        "show": ["show", video],
        "list": ["list"],
    }
    env_note = "HOURLENS_LLM=" + os.environ.get("HOURLENS_LLM", "(default)")
    print(f"library {a.library}: {video} ({duration:.0f} s); {env_note}")
    print(f"ask question: {question!r}; search query: {a.query!r}")
    result: dict[str, object] = {"library": a.library, "video": video, "runs": a.runs}
    for name, args in commands.items():
        walls = [_timed([*base, *args]) for _ in range(a.runs)]
        med = statistics.median(walls)
        result[f"{name}_cold_s"] = round(med, 3)
        print(f"{name:<7} cold  median {med:6.2f} s   ({', '.join(f'{w:.2f}' for w in walls)})")
    for name in ("search", "ask"):
        imported = _torch_imported(["--library", a.library, *commands[name]])
        result[f"{name}_imports_torch"] = imported
        print(f"{name:<7} imports torch: {imported}")
    p50 = _warm_p50(a.library, a.warm)
    result["search_warm_p50_ms"] = round(p50 * 1000, 1)
    print(f"search  warm  p50 {p50 * 1000:7.1f} ms  ({a.warm} searches in one process)")
    result["cpus"] = os.cpu_count()
    result["hourlens"] = shutil.which("hourlens") or base[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
