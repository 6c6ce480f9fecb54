#!/usr/bin/env python3
"""Decode speed of each frame backend on one video, in one run.

    python bench/decode_speed.py VIDEO [--fps 1] [--seconds N] [--height 256]
                                 [--repeat 2] [--random 10] [--json]

Full pass: each backend samples ``--fps`` frames per second of video (scaled to
``--height``), strictly (no fallback), over the first ``--seconds`` of the video (all of
it by default). Runs alternate between backends and the best of ``--repeat`` runs is
kept, since the machine may be shared. Printed per backend: sampled frames per second,
real-time factor (RTF: video seconds per wall second), the ratio to the fastest, and
video seconds per CPU second (all threads; steadier than wall time on a busy machine).

Random access: ``--random`` times drawn uniformly over the same span are fetched with
each backend's ``read_frames_at`` path (decord ``get_batch`` / PyAV seek + decode).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from hourlens.errors import BadVideoError
from hourlens.indexer import decode


def full_pass(
    video: str, backend: str, fps: float, height: int, seconds: float | None
) -> tuple[int, float, float, float]:
    """Sample one backend strictly: (frames, video seconds covered, wall s, CPU s)."""
    t0, c0 = time.perf_counter(), time.process_time()
    probe = decode.probe_video(video)
    size = decode.output_size(probe, height)
    if backend == "pyav":
        frames = decode._sample_pyav(video, fps, size, probe.rotation)
    else:
        frames = decode._sample_decord(video, fps, size, probe.duration)
    n, last_t = 0, 0.0
    for fr in frames:
        if seconds is not None and fr.t >= seconds:
            break
        n, last_t = n + 1, fr.t
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    covered = min(probe.duration, seconds) if seconds else max(probe.duration, last_t)
    return n, covered, wall, cpu


def random_access(video: str, backend: str, times: list[float], height: int) -> float:
    """Wall seconds to fetch ``times`` with one backend's random-access path."""
    t0 = time.perf_counter()
    probe = decode.probe_video(video)
    size = decode.output_size(probe, height)
    if backend == "pyav":
        decode._read_pyav(video, sorted(times), size, probe)
    else:
        vr, starts = decode._decord_reader(video, size, probe.duration)
        idx = np.searchsorted(starts, np.asarray(sorted(times)), side="right") - 1
        vr.get_batch(sorted(set(idx.clip(0, len(starts) - 1).tolist()))).asnumpy()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=None, help="only the first N seconds")
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--random", type=int, default=10, help="random-access times (0: skip)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    try:
        probe = decode.probe_video(args.video)
    except BadVideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    backends = ("pyav", "decord")
    best: dict[str, tuple[int, float, float, float]] = {}
    errors: dict[str, str] = {}
    for _ in range(max(1, args.repeat)):
        for b in backends:
            if b in errors:
                continue
            try:
                run = full_pass(args.video, b, args.fps, args.height, args.seconds)
            except (decode._DecordFailed, BadVideoError) as exc:
                errors[b] = str(exc)
                continue
            if b not in best or run[2] < best[b][2]:
                best[b] = run

    span = min(probe.duration, args.seconds) if args.seconds else probe.duration
    rng = np.random.default_rng(0)
    times = sorted(rng.uniform(0, max(span, 1e-3), size=args.random).tolist())
    ra: dict[str, float] = {}
    for b in backends:
        if args.random and b not in errors:
            try:
                ra[b] = min(
                    random_access(args.video, b, times, args.height)
                    for _ in range(max(1, args.repeat))
                )
            except (decode._DecordFailed, BadVideoError) as exc:
                errors.setdefault(b, str(exc))

    rows = {
        b: {
            "frames": n,
            "video_s": round(cov, 2),
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "frames_per_s": round(n / wall, 1),
            "rtf": round(cov / wall, 1),
            "rtf_per_cpu_s": round(cov / max(cpu, 1e-9), 1),
        }
        for b, (n, cov, wall, cpu) in best.items()
    }
    fastest = max(rows, key=lambda b: rows[b]["rtf"]) if rows else None
    for b in rows:
        rows[b]["vs_fastest"] = round(rows[b]["rtf"] / rows[fastest]["rtf"], 2)  # type: ignore[index]
        if b in ra:
            rows[b]["random_access_per_s"] = round(len(times) / ra[b], 1)
    report = {
        "video": args.video,
        "codec": probe.codec,
        "size": [probe.width, probe.height],
        "video_fps": round(probe.fps, 3),
        "duration": round(probe.duration, 2),
        "sample_fps": args.fps,
        "height": args.height,
        "backends": rows,
        "errors": errors,
        "fastest_full_pass": fastest,
        "auto_picks": decode.AUTO_BACKEND,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"{args.video}: {probe.codec} {probe.width}x{probe.height} @ {probe.fps:.2f} fps, "
        f"{probe.duration:.1f} s; sampling {args.fps:g} fps at height {args.height}"
    )
    print(
        f"{'backend':8s} {'frames':>7s} {'frames/s':>9s} {'RTF':>7s} {'vs best':>8s} "
        f"{'RTF/CPU':>8s} {'random/s':>9s}"
    )
    for b, r in rows.items():
        rnd = r.get("random_access_per_s", math.nan)
        print(
            f"{b:8s} {r['frames']:7d} {r['frames_per_s']:9.1f} {r['rtf']:7.1f} "
            f"{r['vs_fastest']:8.2f} {r['rtf_per_cpu_s']:8.1f} {rnd:9.1f}"
        )
    for b, e in errors.items():
        print(f"{b:8s} failed: {e}")
    print(f"fastest full pass: {fastest}; backend='auto' runs {decode.AUTO_BACKEND}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
