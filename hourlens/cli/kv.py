"""``hourlens kv build|stats|drop``: KV memories of the library (per-segment LMM caches)."""

from __future__ import annotations

import json
from typing import Any

import click

from ..timefmt import fmt_duration


def _lib(ctx: click.Context) -> Any:
    from . import _library

    return _library(ctx)


def kv_config(window: int | None, dtype: str | None, device: str | None) -> Any:
    from ..config import KVConfig, from_env

    return from_env(KVConfig, prefix="HOURLENS_KV_", window=window, dtype=dtype, device=device)


def load_kv_model(spec: str, device: str, precision: str = "auto") -> Any:
    """The KV-capable LMM named by ``spec`` (a registry name, hub id or local path)."""
    from ..models.lmm import load_lmm

    return load_lmm(spec, device=device, precision=precision).load()


def build_for(lib: Any, video: str | int, lmm: Any, config: Any, *, force: bool) -> Any:
    """Run :func:`hourlens.indexer.kv_build.build_kv` on one video with a progress bar."""
    from tqdm import tqdm

    from ..indexer.kv_build import build_kv

    bar = tqdm(desc="kv prefill", unit="seg", leave=False, disable=None)

    def step(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        return build_kv(lib.store, video, lmm, config=config, force=force, progress=step)
    finally:
        bar.close()


def kv_line(res: Any) -> str:
    """One human line for a build result."""
    if not res.built:
        return f"kv up to date  {res.video}  ({res.reused} segments, {res.model})"
    per = res.bytes // max(1, res.built)
    return (
        f"kv built  {res.video}  {res.built} segments, {res.tokens} tokens, "
        f"{res.bytes / 1e6:.1f} MB ({per / 1e6:.2f} MB/segment) in {fmt_duration(res.seconds)}"
    )


@click.group("kv")
def kv_group() -> None:
    """KV memories: each segment prefilled once through a video LMM, reused at question time.

    \b
    Examples:
      hourlens kv build talk.mp4 --model Qwen/Qwen2.5-VL-7B-Instruct --device cuda
      hourlens kv stats
      hourlens kv drop talk.mp4
    """


@kv_group.command("build")
@click.argument("video")
@click.option("--model", "model", required=True, help="LMM: registry name, hub id or path.")
@click.option("--device", default=None, help="cpu | cuda | cuda:N [env HOURLENS_KV_DEVICE].")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    help="Model weights [default: fp32 on CPU, bf16 on CUDA].",
)
@click.option("--window", type=click.IntRange(min=0), default=None, help="Sliding window.")
@click.option(
    "--dtype",
    type=click.Choice(["fp16", "bf16", "fp32", "int8"]),
    default=None,
    help="Storage dtype of the KV files [default: fp16, env HOURLENS_KV_DTYPE].",
)
@click.option("--force", is_flag=True, help="Rebuild even when the stored KV is current.")
@click.option("--json", "as_json", is_flag=True, help="The build result as one JSON line.")
@click.pass_context
def build_cmd(
    ctx: click.Context,
    video: str,
    model: str,
    device: str | None,
    precision: str,
    window: int | None,
    dtype: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Prefill every segment of an indexed VIDEO through the LMM and store its KV.

    Blocks are keyed by model id + revision + prompt format: a new model revision
    rebuilds them and drops the old ones. The library's KV byte budget
    (HOURLENS_KV_BUDGET_BYTES) is kept by evicting least-recently-used blocks.
    """
    lib = _lib(ctx)
    cfg = kv_config(window, dtype, device)
    res = build_for(lib, video, load_kv_model(model, cfg.device, precision), cfg, force=force)
    click.echo(json.dumps(res.to_dict()) if as_json else kv_line(res))


@kv_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="The statistics as JSON.")
@click.pass_context
def stats_cmd(ctx: click.Context, as_json: bool) -> None:
    """Stored KV blocks, tokens and bytes per model, and the byte budget."""
    stats = _lib(ctx).store.kv.stats()
    if as_json:
        click.echo(json.dumps(stats))
        return
    click.echo(
        f"{stats['blocks']} blocks, {stats['bytes'] / 1e6:.1f} MB "
        f"of a {stats['budget_bytes'] / 1e9:.1f} GB budget"
    )
    for m in stats["models"]:
        click.echo(
            f"  {m['model']} @ {m['revision'][:12]} ({m['format']}, {m['dtype']}): "
            f"{m['blocks']} blocks over {m['videos']} videos, {m['tokens']} tokens, "
            f"{m['bytes_per_block'] / 1e6:.2f} MB/block, {m['bytes_per_hour'] / 1e9:.2f} GB/hour"
        )


@kv_group.command("drop")
@click.argument("video", required=False)
@click.option("--model", default=None, help="Only blocks of this model id.")
@click.option("--all", "drop_all", is_flag=True, help="Every block of the library.")
@click.pass_context
def drop_cmd(ctx: click.Context, video: str | None, model: str | None, drop_all: bool) -> None:
    """Delete stored KV blocks of VIDEO and/or --model (or --all)."""
    from ..errors import HourlensError

    if not (video or model or drop_all):
        raise HourlensError("name a VIDEO, a --model, or --all")
    lib = _lib(ctx)
    vid = lib.store.resolve_video(video).id if video else None
    n = lib.store.kv.drop(video_id=vid, model=model)
    click.echo(f"dropped {n} KV blocks")


def register(cli: click.Group) -> None:
    """Add ``kv`` to the main group."""
    cli.add_command(kv_group)
