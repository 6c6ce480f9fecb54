#!/usr/bin/env python3
"""One long video through the Ray engine: windows that read their own text vs not.

    python bench/ray_windows.py VIDEO [--window-s 200] [--workers 2] [--cpus 2] [--json]

Indexes VIDEO twice into fresh libraries with ``--engine ray`` on a local Ray: once with
``RayConfig(window_text=False)`` (the windows run only the frame pass; the task that
stitches them reads speech and on-screen text for the whole video on one worker), once
with the default ``window_text=True`` (each window also reads its own speech and text).
Prints wall time, the seconds the stitching task spent on on-screen text and waiting for
speech (the serial tail of a long video: what windows remove, whatever the machine's
load), CPU seconds of the whole process tree (``RUSAGE_CHILDREN`` of the Ray
workers is not visible from the driver, so CPU is sampled with psutil over the Ray
processes), transcript lines, OCR items, and how far the two transcripts agree (word
error rate of one against the other) and the OCR strings (share of the first run's
distinct strings the second run also has). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from asr_quality import wer as word_error_rate  # noqa: E402


class _CpuMeter:
    """CPU seconds of this process and its descendants (Ray's workers included)."""

    def __init__(self) -> None:
        import psutil

        self._ps = psutil
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = self._ps.Process()
        for p in [me, *me.children(recursive=True)]:
            try:
                t = p.cpu_times()
                self._seen[p.pid] = max(self._seen.get(p.pid, 0.0), t.user + t.system)
            except self._ps.Error:
                continue

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def total(self) -> float:
        self._sample()
        return sum(self._seen.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run(video: Path, root: Path, window_text: bool, args: argparse.Namespace) -> dict[str, Any]:
    import ray

    from hourlens import Library
    from hourlens.config import RayConfig

    lib = Library(root / ("windows" if window_text else "stitch"))
    rc = RayConfig(
        workers=args.workers, window_s=args.window_s, window_text=window_text, num_cpus=args.cpus
    )
    meter = _CpuMeter()
    c0, t0 = meter.total(), time.perf_counter()
    res = lib.index(video, engine="ray", ray_config=rc, force=True)
    wall = time.perf_counter() - t0
    cpu = meter.total() - c0
    meter.close()
    v = lib.video(str(video))
    db = lib.store._db.get()
    row = next(db.query("SELECT stats FROM index_runs WHERE video_id = ? ORDER BY id DESC", [v.id]))
    secs = json.loads(row["stats"] or "{}").get("seconds", {})
    words = [w for ln in lib.transcript(v.id) for w in ln.text.lower().split()]
    strings = {it.text.strip().lower() for it in lib.store.ocr_items(v.id)}
    out = {
        "window_text": window_text,
        "status": res[0].status,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "lines": len(lib.transcript(v.id)),
        "ocr_items": len(lib.store.ocr_items(v.id)),
        # after the windows: what the one stitching task still waited for
        "stitch_ocr_s": round(secs.get("ocr_wait", secs.get("ocr", 0.0)), 1),
        "stitch_asr_wait_s": round(secs.get("asr_wait", 0.0), 1),
        "_words": words,
        "_strings": strings,
    }
    lib.close()
    ray.shutdown()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("video", type=Path)
    ap.add_argument("--window-s", type=float, default=200.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hourlens-ray-bench-"))
    try:
        before = run(args.video, root, False, args)
        after = run(args.video, root, True, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    a, b = before.pop("_strings"), after.pop("_strings")
    wer = word_error_rate(before.pop("_words"), after.pop("_words"))
    summary = {
        "video": str(args.video),
        "window_s": args.window_s,
        "workers": args.workers,
        "stitch_reads": before,
        "windows_read": after,
        "speedup": round(before["wall_s"] / max(after["wall_s"], 1e-9), 2),
        "wer_vs_stitch": round(wer, 3),
        "ocr_strings_kept": round(len(a & b) / max(len(a), 1), 3),
    }
    if not args.json:
        for name in ("stitch_reads", "windows_read"):
            r = summary[name]
            print(
                f"{name:13s} wall {r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  "
                f"lines {r['lines']:4d}  ocr items {r['ocr_items']:4d}  ({r['status']})"
            )
        print(
            f"speed-up {summary['speedup']}x  transcript WER vs stitch "
            f"{summary['wer_vs_stitch']}  OCR strings kept {summary['ocr_strings_kept']}"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
