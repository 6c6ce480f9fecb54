"""The ``hourlens`` command: one click group; user errors are one-line messages.

Library location: ``--library DIR`` or ``$HOURLENS_HOME`` (default: the per-user data
folder). Every command that prints data has ``--json``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from typing import Any

import click

from ..config import IndexConfig, from_env
from ..errors import HourlensError
from ..paths import printable
from ..timefmt import fmt_duration, fmt_span

#: `hourlens show` lists a segment's pixel facets at or above this value (all are in --json).
SHOW_FACET = 0.5
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """Turns user errors into ``Error: ...`` on stderr with exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HourlensError as exc:
            click.echo(f"Error: {printable(exc)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    if verbose < 2:
        warnings.filterwarnings("ignore")
        for noisy in (
            "transformers",
            "torch",
            "timm",
            "open_clip",
            "urllib3",
            "httpx",
            "sentence_transformers",
            "faiss",
            "speechbrain",
            "pyannote",
        ):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def _library(ctx: click.Context) -> Any:
    from ..library import Library

    obj = ctx.obj
    if obj.get("library") is None:
        obj["library"] = Library(obj["path"], index_config=obj.get("index_config"))
        ctx.call_on_close(obj["library"].close)
    return obj["library"]


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.group(cls=_Group, context_settings=CONTEXT)
@click.option(
    "--library",
    "library_path",
    type=click.Path(file_okay=False),
    default=None,
    envvar="HOURLENS_HOME",
    show_envvar=True,
    help="Library folder (default: the per-user data folder).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(package_name="hourlens", prog_name="hourlens")
@click.pass_context
def cli(ctx: click.Context, library_path: str | None, verbose: int) -> None:
    """hourlens: index hour-long videos once, then search and ask about them.

    \b
    Examples:
      hourlens index ./videos            index a folder (recursive, incremental)
      hourlens list                      what the library holds
      hourlens show talk.mp4             segments, tags and memories of one video
      hourlens search "a red motorcycle" moments that match, best first
    """
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["path"] = library_path


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON line per video on stdout.")
@click.option("--force", is_flag=True, help="Re-index files even if unchanged.")
@click.option(
    "--fps",
    type=click.FloatRange(min=0.01, max=30),
    default=None,
    help="Frames sampled per second [default: 1, env HOURLENS_FPS].",
)
@click.option(
    "--encoder",
    default=None,
    help="auto | efficientnet_lite0 | open_clip:MODEL:PRETRAINED_OR_PATH [env HOURLENS_ENCODER].",
)
@click.option(
    "--segmentation",
    type=click.Choice(["texttiling", "simple", "fixed"]),
    default=None,
    help="Segmentation method [default: texttiling].",
)
@click.option("--device", default=None, help="cpu | cuda | cuda:N [default: cpu].")
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Exit 0 even if a file was indexed only in part (truncated: what decodes is kept).",
)
@click.option(
    "--kv-model",
    default=None,
    envvar="HOURLENS_KV_MODEL",
    help="Also prefill KV memories with this LMM (as `hourlens kv build`) [env HOURLENS_KV_MODEL].",
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--engine",
    type=click.Choice(["serial", "ray"]),
    default="serial",
    show_default=True,
    help="serial: this process; ray: Ray workers (pip install 'hourlens[ray]').",
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster: auto | ray://HOST:PORT [default: a local Ray, env HOURLENS_RAY_ADDRESS].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Ray worker actors [default: one per CPU, env HOURLENS_RAY_WORKERS].",
)
@click.pass_context
def index_cmd(
    ctx: click.Context,
    paths: tuple[str, ...],
    as_json: bool,
    force: bool,
    fps: float | None,
    encoder: str | None,
    segmentation: str | None,
    device: str | None,
    allow_partial: bool,
    kv_model: str | None,
    no_progress: bool,
    engine: str,
    address: str | None,
    workers: int | None,
) -> None:
    """Index video files and folders (recursively) into the library.

    Unchanged files are skipped (same size and mtime, or same content hash); a changed
    file is re-indexed and replaces its old entry. A file that cannot be indexed is
    reported on one line and the others are still indexed. A truncated file is indexed
    as far as it decodes and reported as "partial" (searchable; the reason is kept).
    Audio-only files found in folders are counted, not indexed. Exit status is 0 only if
    nothing failed and nothing was partial (--allow-partial: partial is fine).

    With --engine ray, videos (and time windows of long videos) are indexed by Ray
    workers, which must see every file at the same path (shared storage); this process
    commits each video. Results print as videos finish.

    \b
    --json prints one line per video:
      {"video": path, "status": "indexed"|"partial"|"skipped"|"failed",
       "duration": s, "segments": n, "seconds": wall, "error": msg|null}
    """
    from .progress import TqdmProgress

    ctx.obj["index_config"] = from_env(
        IndexConfig, fps=fps, encoder=encoder, segmentation=segmentation, device=device
    )
    ray_config = None
    if engine == "ray":
        from ..config import RayConfig

        ray_config = from_env(RayConfig, prefix="HOURLENS_RAY_", address=address, workers=workers)
    elif address is not None or workers is not None:
        raise click.UsageError("--address and --workers need --engine ray")
    lib = _library(ctx)
    bars = None if no_progress else TqdmProgress()
    counts = {"indexed": 0, "partial": 0, "skipped": 0, "failed": 0}
    kv = _KVStep(kv_model, device) if kv_model and kv_model.lower() != "none" else None
    plan: dict[str, Any] = {}

    def progress(event: str, info: dict[str, Any]) -> None:
        if event == "plan":
            plan.update(info)
        if bars is not None:
            bars(event, info)

    try:
        for res in lib.iter_index(
            paths, force=force, progress=progress, engine=engine, ray_config=ray_config
        ):
            counts[res.status] += 1
            if kv is not None and res.status != "failed":
                kv.run(lib, res)
            if as_json:
                _emit_json(res.to_dict())
                sys.stdout.flush()
            else:
                line = _index_line(res)
                if bars is not None and not bars.disable:
                    bars.write(line)
                else:
                    click.echo(line, err=res.status == "failed")
    finally:
        if bars is not None:
            bars.close()
    audio = int(plan.get("audio_only") or 0)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k != "partial")
    if audio:
        summary += (
            f", {audio} audio-only file{'s' if audio > 1 else ''} not indexed (no video stream)"
        )
    if not as_json:
        click.echo(summary, err=True)
    elif audio:
        click.echo(f"note: {summary}", err=True)
    if counts["failed"] or (counts["partial"] and not allow_partial):
        ctx.exit(1)


class _KVStep:
    """``index --kv-model``: KV memories of every indexed video, the model loaded once."""

    def __init__(self, spec: str, device: str | None) -> None:
        from .kv import kv_config

        self.spec, self.config, self.lmm = spec, kv_config(None, None, device), None

    def run(self, lib: Any, res: Any) -> None:
        from .kv import build_for, kv_line, load_kv_model

        if self.lmm is None:
            self.lmm = load_kv_model(self.spec, self.config.device)
        out = build_for(lib, res.video, self.lmm, self.config, force=False)
        click.echo(kv_line(out), err=True)  # stderr: --json keeps one line per video


def _index_line(res: Any) -> str:
    if res.status == "failed":
        return f"failed   {printable(res.error)}"
    dur = fmt_duration(res.duration or 0.0)
    line = (
        f"{res.status:<8} {printable(res.video)}  "
        f"({dur}, {res.segments} segments, {res.seconds:.1f}s)"
    )
    return f"{line}\n         {printable(res.error)}" if res.status == "partial" else line


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of videos.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the videos in the library."""
    lib = _library(ctx)
    videos = lib.videos()
    if as_json:
        _emit_json([v.to_dict() for v in videos])
        return
    if not videos:
        click.echo(f"The library at {lib.path} is empty: add videos with `hourlens index`.")
        return
    for v in videos:
        extra = f"  ({printable(v.error)})" if v.status in ("failed", "partial") and v.error else ""
        click.echo(
            f"{v.id:>4}  {v.status:<8} {fmt_duration(v.duration or 0):>8}  "
            f"{printable(v.path)}{extra}"
        )


@cli.command("show")
@click.argument("video")
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON.")
@click.pass_context
def show_cmd(ctx: click.Context, video: str, as_json: bool) -> None:
    """Show one video: duration, segments (start/end), tags, pixel facets, memories.

    VIDEO is a path, a file name or an id from `hourlens list`. A segment's pixel facets
    (dominant colours, greyscale, dark/bright, colourful, motion, sky/water/vegetation,
    face/people) of at least 0.5 print on its `looks:` line; --json has them all.
    """
    info = _library(ctx).describe(video)
    if as_json:
        _emit_json(info)
        return
    click.echo(printable(info["path"]))
    if info.get("status") == "partial":
        click.echo(f"  partial: {printable(info.get('error'))}")
    click.echo(
        f"  duration {fmt_duration(info['duration'])}  {info['width']}x{info['height']} "
        f"@ {info['fps']:.2f} fps  encoder {info['encoder']}"
    )
    click.echo(
        f"  {len(info['chapters'])} chapters, {len(info['segments'])} segments, "
        f"{info['memories']} feature memories, {info['transcript_lines']} transcript "
        f"lines, {info['ocr_items']} on-screen texts"
    )
    if info.get("summary"):
        click.echo(f"  summary: {info['summary']}")
    if info["tags"]:
        click.echo("  tags: " + ", ".join(t["label"] for t in info["tags"]))
    segs = {s["index"]: s for s in info["segments"]}
    groups = info["chapters"] or [
        {"title": None, "start": 0, "end": info["duration"], "segments": list(segs)}
    ]
    for ch in groups:
        if ch["title"] is not None:
            click.echo(f"\n  {fmt_span(ch['start'], ch['end'])} {ch['title']}")
        for i in ch["segments"]:
            s = segs[i]
            tags = ", ".join(t["label"] for t in s["tags"][:3])
            click.echo(
                f"    {s['index']:>4}  {fmt_span(s['start'], s['end'])}  "
                f"{s['memories']:>3} mem  {tags}"
            )
            looks = [f"{k} {v:.2f}" for k, v in s.get("facets", {}).items() if v >= SHOW_FACET]
            if looks:
                click.echo("            looks: " + ", ".join(looks))
            for text in s["ocr"][:2]:
                click.echo(f"            on screen: {text[:90]}")
            if s["transcript"]:
                click.echo(f"            said: {s['transcript'][:90]}")


@cli.command("transcript")
@click.argument("video")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["txt", "srt", "vtt", "json"]),
    default="txt",
    show_default=True,
    help="Output format.",
)
@click.option("--start", type=float, default=None, help="From this time (seconds).")
@click.option("--end", type=float, default=None, help="Up to this time (seconds).")
@click.pass_context
def transcript_cmd(
    ctx: click.Context, video: str, fmt: str, start: float | None, end: float | None
) -> None:
    """Print the speech transcript of VIDEO (json: [{"start","end","text"}])."""
    from ..timefmt import transcript_as

    lib = _library(ctx)
    lines = lib.store.transcript(lib.video(video).id, start, end)
    out = transcript_as(lines, fmt)
    if out:
        click.echo(out)
    elif fmt != "json":
        click.echo("(no speech)", err=True)


@cli.command("search")
@click.argument("query")
@click.option("--video", default=None, help="Only this video (path, name or id).")
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Number of results.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='A JSON array: [{"video","start","end","score","kind"}].',
)
@click.option(
    "--also",
    "also",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    help="Another library (shard) to search together with this one; repeatable.",
)
@click.pass_context
def search_cmd(
    ctx: click.Context, query: str, video: str | None, k: int, as_json: bool, also: tuple[str, ...]
) -> None:
    """Find moments matching QUERY (CLIP text→image when available; tags and text)."""
    if not query.strip():
        raise click.UsageError("QUERY is empty.")
    if also and video is not None:
        raise click.UsageError("--video and --also cannot be combined.")
    hits = _library(ctx).search(query, k=k, video=video, libraries=also)
    if as_json:
        _emit_json(
            [
                {
                    "video": h.video,
                    "start": round(h.start, 3),
                    "end": round(h.end, 3),
                    "score": round(h.score, 6),
                    "kind": h.kind,
                }
                for h in hits
            ]
        )
        return
    if not hits:
        click.echo("No matches.")
    for h in hits:
        text = f"  {h.text}" if h.text else ""
        click.echo(
            f"{fmt_span(h.start, h.end)}  {h.score:.4f}  {h.kind:<7} "
            f"{printable(os.path.basename(h.video))}{printable(text)}"
        )


@cli.command("remove")
@click.argument("video")
@click.pass_context
def remove_cmd(ctx: click.Context, video: str) -> None:
    """Remove a video's index (the video file itself is not touched)."""
    v = _library(ctx).remove(video)
    click.echo(f"removed {printable(v.path)}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hourlens")


def _register_subcommands() -> None:
    from .ask import register as register_ask
    from .kv import register as register_kv
    from .models import register as register_models
    from .serve import register as register_serve

    register_ask(cli)
    register_kv(cli)
    register_models(cli)
    register_serve(cli)


_register_subcommands()
