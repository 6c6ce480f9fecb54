#!/usr/bin/env python3
"""KV memories: time to first token with stored per-segment KV vs a fresh prefill.

    python bench/kv_memory.py [--model M] [--device cpu|cuda] [--segments 5,10,20] [--json]
    python bench/kv_memory.py --model Qwen/Qwen2.5-VL-7B-Instruct --device cuda

One run, both paths, same model, same questions:

1. A library is made (a synthetic video whose segments carry captions, speech, on-screen
   text and, for vision models, a generated keyframe; or ``--library DIR --video REF`` for
   an indexed one), and ``build_kv`` prefills every segment once as a ReKV stream
   (sliding ``--window``) into the library's KV store.
2. For each segment count N, the first N segments are the selected memories and questions
   ask about facts in them. *prefill*: the N segments are prefilled afresh the way they
   were stored (same windows, same positions; timed once per N, the stream does not
   depend on the question), then the question; *kv*: the answer step
   (``hourlens.agent.lmm_answer.lmm_answer``) loads the N stored blocks from disk and
   prefills only the question. TTFT is the time from the start of the path to the first
   answer token (model loaded, prompt head cached in both). ``same_answer`` compares the
   greedy answers of the two paths. *joint*: one ordinary prefill of all N segments'
   text as one prompt (full attention, no window): how often the stored-KV answer agrees
   with it is a quality figure, not a bar.

The last line of stdout is one JSON object for the largest N:
``{"model", "device", "segments", "ttft_prefill_s", "ttft_kv_s", "speedup", "same_answer",
"kv_bytes_per_segment"}``. With ``--json`` the full per-N results come as one JSON line
before it. Timed runs should hold ``flock /tmp/hourlens-bench.lock``; on a shared
machine the ratio (same run, same load) is the figure to trust.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

COLOURS = ["red", "blue", "green", "yellow", "white", "black", "orange", "purple"]
THINGS = ["bicycle", "kettle", "umbrella", "guitar", "ladder", "suitcase", "lamp", "drone"]
PLACES = ["kitchen", "garage", "station", "garden", "office", "harbour", "library", "market"]
NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana"]


def _jpeg(rng: np.random.Generator, size: tuple[int, int] = (448, 252)) -> bytes:
    from PIL import Image

    base = rng.integers(0, 255, 3)
    arr = np.clip(base + rng.normal(0, 40, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def synthetic_video(root: Path, n: int, seg_len: float, seed: int) -> tuple[Any, int, list]:
    """A library with one video of ``n`` segments, each with a unique fact set."""
    from hourlens.memory_store import Store

    rng = np.random.default_rng(seed)
    store = Store(root)
    w = store.begin_video(root / "synthetic.mp4", size=1, mtime=1.0, content_hash=f"s{seed}")
    frames = int(n * seg_len)
    w.append_frames(
        np.arange(frames, dtype=float), np.eye(8, dtype=np.float32)[np.arange(frames) % 8]
    )
    facts = []
    combos = [(c, t) for c in COLOURS for t in THINGS]
    order = rng.permutation(len(combos))[:n]
    for s in range(n):
        a, b = s * seg_len, (s + 1) * seg_len
        colour, thing = combos[order[s]]
        place, name = PLACES[rng.integers(len(PLACES))], NAMES[rng.integers(len(NAMES))]
        code, price = f"{rng.integers(100, 999)}", f"{rng.integers(2, 99)}"
        key = w.add_segment(
            index=s, start=a, end=b, n_frames=int(seg_len), depth=0, alpha=2, budget=1
        )
        w.add_memory(
            segment=key,
            kind="summary",
            start=a,
            end=b,
            n_frames=int(seg_len),
            vector=np.eye(8, dtype=np.float32)[s % 8],
        )
        w.add_keyframe(segment=key, t=a + 1, jpeg=_jpeg(rng))
        w.add_captions([{"start": a, "end": b, "text": f"a {colour} {thing} in a {place}"}])
        w.add_transcript_lines(
            [
                {
                    "start": a + 2,
                    "end": a + 8,
                    "text": f"{name} says the {thing} costs {price} dollars",
                }
            ]
        )
        w.add_ocr_items([{"start": a + 3, "end": a + 5, "text": f"ROOM {code}", "score": 0.95}])
        facts.append(
            {
                "segment": s,
                "colour": colour,
                "thing": thing,
                "place": place,
                "name": name,
                "code": code,
                "price": price,
            }
        )
    video = w.commit(
        duration=float(frames), fps=1.0, width=448, height=252, encoder="synthetic", encoder_dim=8
    )
    return store, video.id, facts


def questions(facts: list[dict], n: int, k: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``k`` questions about facts of the first ``n`` segments, with expected answers."""
    out = []
    for i in rng.choice(n, size=min(k, n), replace=False):
        f = facts[int(i)]
        if len(out) % 2 == 0:
            out.append(
                (
                    f"How much does the {f['colour']} {f['thing']} cost? Answer with the "
                    "number only.",
                    f["price"],
                )
            )
        else:
            out.append(
                (
                    f"Which room number is shown with the {f['colour']} {f['thing']}? "
                    "Answer with the number only.",
                    f["code"],
                )
            )
    return out


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from hourlens.agent.lmm_answer import answer_prompt, lmm_answer
    from hourlens.config import KVConfig, from_env
    from hourlens.indexer.kv_build import build_kv, segment_part
    from hourlens.memory_store import Store
    from hourlens.models.lmm import load_lmm

    counts = sorted({int(x) for x in args.segments.split(",") if x.strip()})
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    lmm = load_lmm(args.model, device=args.device, precision=args.precision).load()
    load_s = time.perf_counter() - t0
    vision = bool(lmm.is_vision)
    cfg = from_env(
        KVConfig, prefix="HOURLENS_KV_", window=args.window, dtype=args.dtype, frames=args.frames
    )
    tmp = tempfile.TemporaryDirectory(prefix="kvbench-")
    if args.library:
        store = Store(args.library)
        vid = store.resolve_video(args.video).id
        facts: list[dict] = []
    else:
        store, vid, facts = synthetic_video(
            Path(tmp.name) / "lib", max(counts), args.seg_len, args.seed
        )
    segs = store.segments(vid)[: max(counts)]
    if len(segs) < max(counts):
        raise SystemExit(f"the video has {len(segs)} segments, fewer than {max(counts)}")
    lmm.head()  # the prompt head is cached in both paths
    t0 = time.perf_counter()
    built = build_kv(store, vid, lmm, config=cfg, force=True)
    build_s = time.perf_counter() - t0
    recs = [r for r in store.kv.records(lmm.fingerprint(), video_id=vid)]
    parts = [
        segment_part(store, vid, s, frames=cfg.frames, card_chars=cfg.card_chars, vision=vision)
        for s in segs
    ]
    rng = np.random.default_rng(args.seed + 1)
    per_n = []
    for n in counts:
        qs = (
            questions(facts, n, args.questions, rng)
            if facts
            else [(f"What happens between {segs[0].start:.0f}s and {segs[n - 1].end:.0f}s?", "")]
        )
        ids = [s.id for s in segs[:n]]
        # The fresh stream and the joint prefill do not depend on the question: each is
        # timed once per N and added to every question's own tail prefill.
        t = time.perf_counter()
        fresh_blocks = [lmm.head(), *lmm.stream(parts[:n], window=cfg.window)]
        stream_s = time.perf_counter() - t
        t = time.perf_counter()
        joint_blocks = [lmm.head(), lmm.prefill([p for pt in parts[:n] for p in pt], [lmm.head()])]
        joint_s = time.perf_counter() - t
        rows = []
        for q, expected in qs:
            prompt = answer_prompt("", q)
            fresh = lmm.answer(fresh_blocks, prompt, max_tokens=args.max_tokens)
            kv = lmm_answer(
                store,
                lmm,
                segment_ids=ids,
                evidence="",
                question=q,
                max_tokens=args.max_tokens,
                config=cfg,
            )
            joint = lmm.answer(joint_blocks, prompt, max_tokens=args.max_tokens)
            rows.append(
                {
                    "question": q,
                    "expected": expected,
                    "ttft_prefill_s": stream_s + fresh.ttft_s,
                    "ttft_kv_s": kv.ttft_s,
                    "ttft_joint_s": joint_s + joint.ttft_s,
                    "via": kv.via,
                    "fresh": fresh.text,
                    "kv": kv.text,
                    "joint": joint.text,
                }
            )
        res = {
            "segments": n,
            "tokens": sum(r.n_tokens for r in recs[:n]),
            "ttft_prefill_s": round(_median(rows, "ttft_prefill_s"), 4),
            "ttft_kv_s": round(_median(rows, "ttft_kv_s"), 4),
            "ttft_joint_s": round(_median(rows, "ttft_joint_s"), 4),
            "same_answer": all(r["fresh"] == r["kv"] for r in rows),
            "joint_agreement": round(sum(r["joint"] == r["kv"] for r in rows) / len(rows), 3),
            "all_via_kv": all(r["via"] == "kv" for r in rows),
            "correct": {
                p: sum(bool(r["expected"]) and r["expected"] in r[p] for r in rows)
                for p in ("fresh", "kv", "joint")
            },
            "questions": len(rows),
            "answers": rows if args.verbose else None,
        }
        res["speedup"] = round(res["ttft_prefill_s"] / max(res["ttft_kv_s"], 1e-9), 2)
        per_n.append(res)
        print(
            f"N={n:>3}  tokens {res['tokens']:>6}  TTFT prefill {res['ttft_prefill_s']:.3f}s  "
            f"kv {res['ttft_kv_s']:.3f}s  joint {res['ttft_joint_s']:.3f}s  "
            f"speedup x{res['speedup']:.1f}  same_answer {res['same_answer']}  "
            f"kv=joint {res['joint_agreement']:.2f}  correct {res['correct']}",
            flush=True,
        )
    bytes_per_seg = int(statistics.mean(r.bytes for r in recs))
    seconds = sum(r.end - r.start for r in recs)
    summary = {
        "model": args.model,
        "model_id": lmm.model_id,
        "revision": lmm.revision(),
        "device": args.device,
        "vision": vision,
        "load_s": round(load_s, 2),
        "build_s": round(build_s, 2),
        "build_segments": built.built,
        "window": cfg.window,
        "dtype": cfg.dtype,
        "kv_bytes_per_segment": bytes_per_seg,
        "kv_tokens_per_segment": round(statistics.mean(r.n_tokens for r in recs), 1),
        "kv_bytes_per_hour": int(sum(r.bytes for r in recs) * 3600 / max(seconds, 1e-9)),
        "seg_len_s": round(seconds / len(recs), 2),
        "per_n": per_n,
    }
    store.close()
    tmp.cleanup()
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--model",
        default="qwen2.5-0.5b-text-lmm",
        help="LMM: registry name, hub id or path [default: the packaged 0.5B, text].",
    )
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    ap.add_argument("--segments", default="5,10,20", help="Selected segment counts.")
    ap.add_argument("--questions", type=int, default=3, help="Questions per segment count.")
    ap.add_argument("--window", type=int, default=1, help="Sliding window of the prefill.")
    ap.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32", "int8"])
    ap.add_argument("--frames", type=int, default=1, help="Keyframes per segment (vision).")
    ap.add_argument("--seg-len", type=float, default=30.0, help="Synthetic segment length, s.")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--library", default=None, help="Use an indexed library instead.")
    ap.add_argument("--video", default=None, help="The video of --library.")
    ap.add_argument("--verbose", action="store_true", help="Keep every answer in --json.")
    ap.add_argument("--json", action="store_true", help="Full results as one JSON line too.")
    args = ap.parse_args(argv)
    if bool(args.library) != bool(args.video):
        ap.error("--library and --video go together")
    summary = run(args)
    last = summary["per_n"][-1]
    print(
        f"model {summary['model_id']} ({summary['device']}), KV {summary['dtype']}: "
        f"{summary['kv_bytes_per_segment'] / 1e6:.2f} MB/segment "
        f"({summary['kv_tokens_per_segment']} tokens), "
        f"{summary['kv_bytes_per_hour'] / 1e9:.2f} GB per hour of video "
        f"at {summary['seg_len_s']}s segments; build {summary['build_s']}s for "
        f"{summary['build_segments']} segments",
        flush=True,
    )
    if args.json:
        print(json.dumps(summary))
    print(
        json.dumps(
            {
                "model": summary["model"],
                "device": summary["device"],
                "segments": last["segments"],
                "ttft_prefill_s": last["ttft_prefill_s"],
                "ttft_kv_s": last["ttft_kv_s"],
                "speedup": last["speedup"],
                "same_answer": last["same_answer"],
                "kv_bytes_per_segment": summary["kv_bytes_per_segment"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
