#!/usr/bin/env python3
"""Indexing speed, memory and size, next to a decode-only baseline, in one run.

    python bench/index_speed.py VIDEO [VIDEO ...] [--fps 1] [--encoder auto] [--repeat 3] [--json]

For each video, two fresh subprocesses run back to back: (1) decode only — sample frames
at the same rate and size, nothing else, with FFmpeg's own threading (its fastest); (2)
the full visual index pass into an empty library. With ``--repeat N`` the pair runs N
times, alternating, and the fastest run of each is reported (shared machines are noisy;
the best run is the least disturbed one). Printed per video: real-time factor (video
seconds per wall second) of each stage and of the whole pass, the ratio to decode-only
speed, frames encoded vs reused, peak RSS of each subprocess, and library bytes per hour
of video. Give a short and a long
video (e.g. the 10- and 60-minute ``shared/niah`` builds) to see that peak RSS does not
grow with length.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def child_decode(video: str, fps: float, height: int, backend: str) -> dict:
    from hourlens.indexer.decode import probe_video, sample_frames

    t0 = time.perf_counter()
    probe = probe_video(video)
    n = 0
    for fr in sample_frames(video, fps=fps, height=height, backend=backend, probe=probe):
        _ = fr.rgb  # decoded and converted, as the index pass receives them
        n += 1
    sec = time.perf_counter() - t0
    return {
        "seconds": sec,
        "frames": n,
        "duration": probe.duration,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


VISUAL_ONLY = {"asr": "none", "ocr": False, "text_embedder": "none"}


def child_index(video: str, fps: float, encoder: str, library: str, mode: str) -> dict:
    from hourlens import IndexConfig
    from hourlens.indexer.pipeline import Indexer
    from hourlens.memory_store import Store

    extra = VISUAL_ONLY if mode == "visual" else {}
    cfg = IndexConfig(fps=fps, encoder=encoder, **extra)
    store = Store(library)
    idx = Indexer(store, cfg)
    t_load = time.perf_counter()
    _ = idx.encoder  # model load is reported separately from the pass
    load_s = time.perf_counter() - t_load
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    rc0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = idx.index_file(video)
    sec = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rc1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    cpu += (rc1.ru_utime - rc0.ru_utime) + (rc1.ru_stime - rc0.ru_stime)  # ffmpeg children
    store.close()
    if res.status != "indexed":
        raise SystemExit(f"indexing failed: {res.error}")
    return {
        "seconds": sec,
        "cpu_seconds": cpu,
        "model_load_s": load_s,
        "stats": idx.last_stats,
        "segments": res.segments,
        "duration": res.duration,
        "library_bytes": _dir_bytes(Path(library)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(
    video: str, fps: float, encoder: str, height: int, backend: str, mode: str, repeat: int = 1
) -> dict:
    decs, idxs = [], []
    for _ in range(max(1, repeat)):
        decs.append(_run_decode(video, fps, height, backend))
        idxs.append(_run_index(video, fps, encoder, mode))
    dec = min(decs, key=lambda r: r["seconds"])
    idx = min(idxs, key=lambda r: r["seconds"])
    return _row(video, mode, dec, idx, repeat)


def _run_decode(video: str, fps: float, height: int, backend: str) -> dict:
    return _run_child(
        ["--child-decode", video, "--fps", str(fps), "--height", str(height), "--backend", backend]
    )


def _run_index(video: str, fps: float, encoder: str, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as lib:
        return _run_child(
            [
                "--child-index",
                video,
                "--fps",
                str(fps),
                "--encoder",
                encoder,
                "--library",
                lib,
                "--mode",
                mode,
            ]
        )


def _row(video: str, mode: str, dec: dict, idx: dict, repeat: int) -> dict:
    dur = idx["duration"]
    st = idx["stats"]
    secs = dict(st.get("seconds", {}))
    secs["segment"] = st.get("seconds_segment", 0.0)
    secs["compress+write"] = st.get("seconds_compress", 0.0)
    stages = {k: (dur / v if v > 0 else float("inf")) for k, v in secs.items() if k != "total"}
    return {
        "video": video,
        "mode": mode,
        "repeat": repeat,
        "duration_s": dur,
        "segments": idx["segments"],
        "frames": st.get("frames"),
        "encoded": st.get("encoded"),
        "reused": st.get("reused"),
        "decode_only_rtf": dur / dec["seconds"],
        "index_rtf": dur / idx["seconds"],
        "ratio_to_decode_only": dec["seconds"] / idx["seconds"],
        "stage_rtf": stages,
        "stage_seconds": secs,
        "stage_share": {k: v / idx["seconds"] for k, v in secs.items() if k != "total"},
        "avg_cpu_pct": 100 * idx.get("cpu_seconds", 0.0) / idx["seconds"],
        "ocr_reads": st.get("ocr_reads"),
        "model_load_s": idx["model_load_s"],
        "peak_rss_mb": {"decode_only": dec["peak_rss_mb"], "index": idx["peak_rss_mb"]},
        "library_mb_per_hour": idx["library_bytes"] / 1e6 / (dur / 3600),
    }


def _print(row: dict) -> None:
    print(
        f"\n{row['video']}  [{row['mode']} pipeline]  ({row['duration_s'] / 60:.1f} min, "
        f"{row['segments']} segments, best of {row['repeat']})"
    )
    print(f"  decode-only          {row['decode_only_rtf']:8.1f}x real time")
    print(
        f"  index pass ({row['mode']:<6}) {row['index_rtf']:8.1f}x real time "
        f"({row['ratio_to_decode_only']:.2f} of decode-only speed)"
    )
    print(f"  process average CPU  {row['avg_cpu_pct']:8.0f}%  (its threads and ffmpeg children)")
    for k, v in row["stage_rtf"].items():
        if row["stage_seconds"][k] >= 0.05:  # stages that did not run are left out
            print(
                f"    stage {k:<14} {v:8.1f}x  ({row['stage_seconds'][k]:.1f} s, "
                f"{100 * row['stage_share'][k]:.0f}% of the pass)"
            )
    print("    (decode = time the encoder waited for frames; thumbs = duplicate test, RGB")
    print("     conversion of new frames, OCR gate and JPEGs, in the decode thread, overlapped")
    print("     with encoding; ocr is the OCR worker's busy time beside the frame pass and")
    print("     ocr_wait what was left after it; asr runs beside both, from the start; so")
    print("     shares can add up to more than 100%)")
    if row.get("ocr_reads"):
        print(f"  ocr reads {row['ocr_reads']}")
    print(
        f"  frames {row['frames']}: encoded {row['encoded']}, reused {row['reused']} "
        f"({100 * row['reused'] / max(row['frames'], 1):.1f}% encodes saved)"
    )
    print(f"  model load {row['model_load_s']:.1f} s (not in the pass)")
    print(
        f"  peak RSS  decode-only {row['peak_rss_mb']['decode_only']:.0f} MB, "
        f"index {row['peak_rss_mb']['index']:.0f} MB"
    )
    print(f"  library   {row['library_mb_per_hour']:.1f} MB per hour of video")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--encoder", default="auto")
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest is kept")
    ap.add_argument("--json", action="store_true", help="also print one JSON line per video")
    ap.add_argument(
        "--mode",
        choices=["visual", "full", "both"],
        default="both",
        help="visual stages only, the full pipeline (ASR, OCR, text), or both",
    )
    ap.add_argument("--child-decode", help=argparse.SUPPRESS)
    ap.add_argument("--child-index", help=argparse.SUPPRESS)
    ap.add_argument("--library", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_decode:
        print(json.dumps(child_decode(a.child_decode, a.fps, a.height, a.backend)))
        return
    if a.child_index:
        print(json.dumps(child_index(a.child_index, a.fps, a.encoder, a.library, a.mode)))
        return
    if not a.videos:
        ap.error("give at least one video")
    modes = ["visual", "full"] if a.mode == "both" else [a.mode]
    for v in a.videos:
        for mode in modes:
            row = bench(v, a.fps, a.encoder, a.height, a.backend, mode, a.repeat)
            _print(row)
            if a.json:
                print(json.dumps(row))


if __name__ == "__main__":
    main()
