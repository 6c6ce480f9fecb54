#!/usr/bin/env python3
"""Needle-in-a-video-haystack benchmark: index a ``shared/niah`` video, ask every question.

    python bench/niah.py --niah-dir /path/to/niah-out [--library DIR] [--variants a,b,c,d]
                         [--limit N] [--out DIR] [--llm auto]
    python bench/niah.py --build 10 --media-cache ~/.cache/niah-media   # build first

The video is indexed once per segmentation (reused when the library already holds it);
then every question of the manifest goes through ``hourlens ask VIDEO PROMPT --json``,
called in-process with ``click.testing.CliRunner`` so models load once, with per-question
wall-clock latency. Variants, all on the same run and the same index:

* ``a`` the full agent; ``b`` one-shot retrieval (``--budget 0``: no backtracking);
* ``c`` the full agent over a second library indexed with fixed 30 s windows
  (``HOURLENS_SEGMENTATION=fixed``) instead of depth-score segments;
* ``d`` transcript-only evidence (``HOURLENS_MODALITIES=speech``).

Scores come from ``score.py`` of ``shared/niah`` (the benchmark's generator and scorer;
default ``../shared/niah`` next to this repository, else ``--niah-src``). Outputs in
``--out``: ``answers-<v>.jsonl``, ``details-<v>.jsonl`` (scorer verdict per question) and
``summary.json``; the table, a per-type breakdown of (a) and the indexing figures are
printed. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from niah_report import (  # noqa: E402
    VARIANTS,
    format_index,
    format_table,
    format_types,
    index_stats,
    score,
    variant_row,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SRC = REPO.parent / "shared" / "niah"
#: Variant → (library: "depth"/"fixed", extra CLI args, extra environment).
PLAN: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "a": ("depth", [], {}),
    "b": ("depth", ["--budget", "0"], {}),
    "c": ("fixed", [], {}),
    "d": ("depth", [], {"HOURLENS_MODALITIES": "speech"}),
}
log = logging.getLogger("bench.niah")


def _niah_src(arg: str | None) -> Path:
    src = Path(arg).expanduser() if arg else DEFAULT_SRC
    if not (src / "score.py").is_file():
        raise SystemExit(
            f"niah scripts not found in {src}: they live in the project's shared/niah folder "
            "(build_haystack.py, fetch_media.sh, score.py), which a plain clone of hourlens "
            "does not include. Put that folder next to the repository as ../shared/niah or "
            "pass --niah-src DIR."
        )
    return src


def build(src: Path, minutes: float, cache: Path, out: Path) -> Path:
    """Fetch the media (idempotent) and build a ``minutes``-long haystack into ``out``."""
    target = out / f"niah-{minutes:g}min"
    if (target / "manifest.json").exists() and (target / "haystack.mp4").exists():
        print(f"reusing the build in {target}", file=sys.stderr)
        return target
    subprocess.run(["bash", str(src / "fetch_media.sh"), str(cache)], check=True)
    subprocess.run(
        [
            sys.executable,
            str(src / "build_haystack.py"),
            "--cache",
            str(cache),
            "--out",
            str(target),
            "--minutes",
            f"{minutes:g}",
        ],
        check=True,
    )
    return target


def _invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the ``hourlens`` CLI in-process; returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from hourlens.cli import cli

    res = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        log.error("hourlens %s raised %r", " ".join(args[:3]), res.exception)
    try:
        err = res.stderr
    except ValueError:  # click 8.1 mixes stderr into the output unless told otherwise
        err = ""
    return res.exit_code, res.stdout, err


def ensure_index(library: Path, video: Path, segmentation: str) -> float | None:
    """Index ``video`` into ``library`` unless it is there; wall seconds, None if reused."""
    t0 = time.perf_counter()
    code, out, err = _invoke(
        [
            "--library",
            str(library),
            "index",
            str(video),
            "--json",
            "--no-progress",
            "--segmentation",
            segmentation,
        ]
    )
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    if code != 0 or not lines or lines[-1]["status"] == "failed":
        raise SystemExit(f"indexing {video} into {library} failed: {err or out}")
    return None if lines[-1]["status"] == "skipped" else time.perf_counter() - t0


def ask_one(
    library: Path, video: Path, prompt: str, llm: str, extra: list[str], env: dict[str, str]
) -> tuple[dict[str, Any], float]:
    """One ``hourlens ask --json``; returns (the parsed answer or an error, seconds)."""
    t0 = time.perf_counter()
    code, out, err = _invoke(
        ["--library", str(library), "ask", str(video), prompt, "--json", "--llm", llm, *extra],
        env=env or None,
    )
    sec = time.perf_counter() - t0
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("{")), None)
    if code != 0 or line is None:
        return {"answer": "", "citations": [], "error": (err or out).strip()[-300:]}, sec
    return json.loads(line), sec


def run_variant(
    letter: str,
    questions: list[dict[str, Any]],
    libs: dict[str, Path],
    video: Path,
    llm: str,
    out: Path,
) -> tuple[Path, list[float]]:
    """Ask every question with variant ``letter``; writes ``answers-<letter>.jsonl``."""
    lib_kind, extra, env = PLAN[letter]
    path = out / f"answers-{letter}.jsonl"
    latencies: list[float] = []
    with path.open("w") as f:
        for i, q in enumerate(questions, 1):
            ans, sec = ask_one(libs[lib_kind], video, q["prompt"], llm, extra, env)
            latencies.append(sec)
            row = {
                "id": q["id"],
                "type": q["type"],
                "answer": ans.get("answer", ""),
                "citations": [
                    {"start": c["start"], "end": c["end"], "kind": c.get("kind")}
                    for c in ans.get("citations", [])
                ],
                "confidence": ans.get("confidence"),
                "latency_s": round(sec, 3),
                "steps": ans.get("steps", []),
                "error": ans.get("error"),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            print(
                f"  ({letter}) {i:>3}/{len(questions)} {q['id']:<16} {sec:6.1f}s  "
                f"{row['answer'][:70]!r}",
                file=sys.stderr,
            )
    return path, latencies


def _questions(
    manifest: dict[str, Any], limit: int | None, types: str | None
) -> list[dict[str, Any]]:
    qs = manifest["questions"]
    if types:
        wanted = set(types.split(","))
        qs = [q for q in qs if q["type"] in wanted]
    return qs[:limit] if limit else qs


def _scored_manifest(
    manifest: dict[str, Any], questions: list[dict[str, Any]], src: Path, out: Path
) -> Path:
    """The manifest to score against: the original, or one holding only the asked ones."""
    if len(questions) == len(manifest["questions"]):
        return src
    ids = {q["id"] for q in questions}
    sub = {**manifest, "questions": [q for q in manifest["questions"] if q["id"] in ids]}
    path = out / "manifest-subset.json"
    path.write_text(json.dumps(sub))
    return path


def _warm_up(libs: dict[str, Path], video: Path, llm: str) -> float:
    """Load the models once (embedder, LLM) so latencies measure answering only.

    A general question goes through the LLM (a time lookup would not load it)."""
    t0 = time.perf_counter()
    lib = libs.get("depth") or next(iter(libs.values()))
    ask_one(lib, video, "What is this video about?", llm, ["--budget", "0"], {})
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src_g = p.add_mutually_exclusive_group(required=True)
    src_g.add_argument("--niah-dir", help="a built niah output (haystack.mp4 + manifest.json)")
    src_g.add_argument(
        "--build",
        type=float,
        metavar="MINUTES",
        help="build a haystack of this length first (needs --media-cache)",
    )
    p.add_argument("--niah-src", help=f"the niah scripts folder [default: {DEFAULT_SRC}]")
    p.add_argument(
        "--media-cache",
        default="~/.cache/niah-media",
        help="niah media cache for --build [default: ~/.cache/niah-media]",
    )
    p.add_argument("--library", help="index library (depth segments) [default: OUT/library]")
    p.add_argument("--library-fixed", help="library for (c) [default: OUT/library-fixed]")
    p.add_argument("--variants", default="a,b,c,d", help="subset of a,b,c,d [default: all]")
    p.add_argument("--limit", type=int, help="ask only the first N questions")
    p.add_argument("--types", help="only these question types (comma list)")
    p.add_argument("--llm", default="auto", help="LLM spec for ask --llm [default: auto]")
    p.add_argument("--out", default="bench/out/niah", help="output folder")
    a = p.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    src = _niah_src(a.niah_src)
    out = Path(a.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    niah = (
        Path(a.niah_dir).expanduser()
        if a.niah_dir
        else build(src, a.build, Path(a.media_cache).expanduser(), out)
    )
    manifest_path = niah / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    video = (niah / manifest.get("video", "haystack.mp4")).resolve()
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    if bad := [v for v in variants if v not in VARIANTS]:
        raise SystemExit(f"unknown variants {bad}; choose from {', '.join(VARIANTS)}")
    libs = {"depth": Path(a.library or out / "library").expanduser().resolve()}
    if "c" in variants:
        libs["fixed"] = Path(a.library_fixed or out / "library-fixed").expanduser().resolve()
    index_report: dict[str, Any] = {}
    for kind, lib in libs.items():
        print(f"indexing {video.name} into {lib} ({kind}) ...", file=sys.stderr)
        wall = ensure_index(lib, video, "fixed" if kind == "fixed" else "texttiling")
        index_report[kind] = {"library": str(lib), "wall_s": wall, **index_stats(lib, str(video))}
    questions = _questions(manifest, a.limit, a.types)
    scored = _scored_manifest(manifest, questions, manifest_path, out)
    warm = _warm_up(libs, video, a.llm)
    print(
        f"models loaded in {warm:.1f}s; {len(questions)} questions x {len(variants)} variants",
        file=sys.stderr,
    )
    rows, per_variant = [], {}
    for letter in variants:
        path, lat = run_variant(letter, questions, libs, video, a.llm, out)
        sc = score(src / "score.py", scored, path, out / f"details-{letter}.jsonl")
        per_variant[letter] = sc
        rows.append(variant_row(letter, sc, lat))
    summary = {
        "niah_dir": str(niah),
        "minutes": manifest.get("minutes"),
        "llm": a.llm,
        "n_questions": len(questions),
        "warm_up_s": round(warm, 2),
        "index": index_report,
        "variants": rows,
        "scores": per_variant,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nniah {manifest.get('minutes')} min, {len(questions)} questions, llm={a.llm}")
    print(format_table(rows))
    if "a" in per_variant:
        print("\nper type, (a):\n" + format_types(per_variant["a"]))
    print()
    for kind, rep in index_report.items():
        print(format_index(f"index ({kind})", rep, rep.get("wall_s")))
    print(json.dumps({"variants": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
