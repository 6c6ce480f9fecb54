#!/usr/bin/env python3
"""Needle-in-a-video-haystack benchmark: index a ``shared/niah`` video, ask every question.

    python bench/niah.py --niah-dir /path/to/niah-out [--library DIR] [--variants a,b,c,d]
                         [--limit N] [--out DIR] [--llm auto] [--questions FILE [--rounds K]]
    python bench/niah.py --build 10 --media-cache ~/.cache/niah-media   # build first

The video is indexed once per segmentation (reused when the library already holds it);
then every question of the manifest goes through ``hourlens ask VIDEO PROMPT --json``,
called in-process with ``click.testing.CliRunner`` so models load once, with per-question
wall-clock latency. Variants, all on the same run and the same index:

* ``a`` the full agent; ``b`` one-shot retrieval (``--budget 0``: no backtracking);
* ``c`` the full agent over a second library indexed with fixed 30 s windows
  (``HOURLENS_SEGMENTATION=fixed``) instead of depth-score segments;
* ``d`` transcript-only evidence (``HOURLENS_MODALITIES=speech``).

``--questions FILE`` asks a JSONL of ``{"id", "question"}`` (the manifest's ids, other
wordings, e.g. from ``bench/wordings.py``) instead of the manifest's questions, scored
against the same manifest; an id given k times is asked in k rounds (round k = its k-th
occurrence), each round scored on its own, and the figures are the mean over rounds.
With ``--questions`` the default variant is ``a`` only.

Scores come from ``score.py`` of ``shared/niah`` (the benchmark's generator and scorer;
default ``../shared/niah`` next to this repository, else ``--niah-src``). Outputs in
``--out``: ``answers-<v>.jsonl``, ``details-<v>.jsonl`` (scorer verdict per question;
``-r<k>`` before ``.jsonl`` per round when there are several) and ``summary.json``; the
table, per variant a per-type breakdown (grounding, answers, p50, p95) and the indexing
figures are printed, and the last line of stdout is one JSON object. See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from niah_questions import format_rounds, format_type_table, load_rounds, select, summarise  # noqa: E402
from niah_report import (  # noqa: E402
    VARIANTS,
    format_index,
    format_table,
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


AskFn = Callable[[Path, Path, str, str, list[str], dict[str, str]], tuple[dict[str, Any], float]]


def run_variant(
    letter: str,
    questions: list[dict[str, Any]],
    libs: dict[str, Path],
    video: Path,
    llm: str,
    out: Path,
    tag: str = "",
    ask: AskFn | None = None,
) -> tuple[Path, list[float]]:
    """Ask every question with variant ``letter``; writes ``answers-<letter><tag>.jsonl``.

    ``ask`` defaults to :func:`ask_one` (looked up at call time, so tests can replace it).
    """
    ask = ask or ask_one
    lib_kind, extra, env = PLAN[letter]
    path = out / f"answers-{letter}{tag}.jsonl"
    latencies: list[float] = []
    with path.open("w") as f:
        for i, q in enumerate(questions, 1):
            ans, sec = ask(libs[lib_kind], video, q["prompt"], llm, extra, env)
            latencies.append(sec)
            row = {
                "id": q["id"],
                "type": q["type"],
                "question": q["prompt"],
                "template": q.get("template"),
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
                f"  ({letter}{tag}) {i:>3}/{len(questions)} {q['id']:<16} {sec:6.1f}s  "
                f"{row['answer'][:70]!r}",
                file=sys.stderr,
            )
    return path, latencies


def _questions(
    manifest: dict[str, Any], limit: int | None, types: str | None
) -> list[dict[str, Any]]:
    return select(manifest["questions"], limit, types)


def _scored_manifest(
    manifest: dict[str, Any],
    questions: list[dict[str, Any]],
    src: Path,
    out: Path,
    tag: str = "",
) -> Path:
    """The manifest to score against: the original, or one holding only the asked ones."""
    ids = {q["id"] for q in questions}
    if ids == {q["id"] for q in manifest["questions"]}:
        return src
    sub = {**manifest, "questions": [q for q in manifest["questions"] if q["id"] in ids]}
    path = out / f"manifest-subset{tag}.json"
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
    p.add_argument(
        "--variants",
        help="subset of a,b,c,d [default: all; only a with --questions]",
    )
    p.add_argument(
        "--questions",
        metavar="FILE",
        help='ask this JSONL of {"id", "question"} (manifest ids; an id repeated = rounds)',
    )
    p.add_argument(
        "--rounds", type=int, metavar="K", help="with --questions: only the first K rounds"
    )
    p.add_argument("--limit", type=int, help="ask only the first N questions (of each round)")
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
    spec = a.variants or ("a" if a.questions else "a,b,c,d")
    variants = [v.strip() for v in spec.split(",") if v.strip()]
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
    rounds = _rounds(a, manifest)
    n_asked = sum(len(r) for r in rounds)
    warm = _warm_up(libs, video, a.llm)
    print(
        f"models loaded in {warm:.1f}s; {n_asked} questions in {len(rounds)} round(s) x "
        f"{len(variants)} variants",
        file=sys.stderr,
    )
    rows, per_variant, round_scores = [], {}, {}
    for letter in variants:
        scores, lat = run_rounds(letter, rounds, manifest, manifest_path, src, libs, video, a, out)
        summ = summarise(scores, lat)
        per_variant[letter], round_scores[letter] = summ, scores
        rows.append({**variant_row(letter, summ, [s for _, s in lat]), "rounds": len(rounds)})
    summary = {
        "niah_dir": str(niah),
        "minutes": manifest.get("minutes"),
        "llm": a.llm,
        "questions_file": a.questions,
        "rounds": len(rounds),
        "n_questions": n_asked,
        "warm_up_s": round(warm, 2),
        "index": index_report,
        "variants": rows,
        "summary": per_variant,
        "scores": round_scores,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    what = f"questions of {a.questions}" if a.questions else "manifest questions"
    print(
        f"\nniah {manifest.get('minutes')} min, {n_asked} {what} in {len(rounds)} round(s), "
        f"llm={a.llm}"
    )
    print(format_table(rows))
    for letter, summ in per_variant.items():
        print(f"\nper type, ({letter}), mean over rounds:\n" + format_type_table(summ))
        if len(rounds) > 1:
            print(f"rounds (grounding/answers): {format_rounds(summ)}")
    print()
    for kind, rep in index_report.items():
        print(format_index(f"index ({kind})", rep, rep.get("wall_s")))
    last = {
        "variants": rows,
        "per_type": {v: s["per_type"] for v, s in per_variant.items()},
        "rounds": {v: s["rounds"] for v, s in per_variant.items()},
        "questions_file": a.questions,
    }
    print(json.dumps(last))
    return 0


def _rounds(a: argparse.Namespace, manifest: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The rounds to ask: the manifest's questions once, or those of ``--questions``."""
    if not a.questions:
        if a.rounds is not None:
            raise SystemExit("--rounds needs --questions")
        return [_questions(manifest, a.limit, a.types)]
    rounds = load_rounds(Path(a.questions).expanduser(), manifest)
    if a.rounds is not None:
        if a.rounds < 1:
            raise SystemExit("--rounds must be at least 1")
        rounds = rounds[: a.rounds]
    rounds = [select(r, a.limit, a.types) for r in rounds]
    if not any(rounds):
        raise SystemExit("no questions left to ask (check --types / --limit)")
    return [r for r in rounds if r]


def run_rounds(
    letter: str,
    rounds: list[list[dict[str, Any]]],
    manifest: dict[str, Any],
    manifest_path: Path,
    src: Path,
    libs: dict[str, Path],
    video: Path,
    a: argparse.Namespace,
    out: Path,
) -> tuple[list[dict[str, Any]], list[tuple[str, float]]]:
    """Ask and score every round with variant ``letter``.

    Returns:
        The scorer's summary of each round and ``(type, seconds)`` of every question.
    """
    scores, lat = [], []
    for k, questions in enumerate(rounds, 1):
        tag = f"-r{k}" if len(rounds) > 1 else ""
        path, secs = run_variant(letter, questions, libs, video, a.llm, out, tag)
        scored = _scored_manifest(manifest, questions, manifest_path, out, tag)
        scores.append(score(src / "score.py", scored, path, out / f"details-{letter}{tag}.jsonl"))
        lat += [(q["type"], s) for q, s in zip(questions, secs, strict=True)]
    return scores, lat


if __name__ == "__main__":
    raise SystemExit(main())
