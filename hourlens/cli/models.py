"""``hourlens models``: the model registry (:mod:`hourlens.models.registry`)."""

from __future__ import annotations

import json

import click


@click.command("models")
@click.option(
    "--kind",
    type=click.Choice(["llm", "lmm", "frame_encoder", "text_embedder", "asr", "ocr"]),
    default=None,
    help="Only models of this kind.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of registry entries.")
def models_cmd(kind: str | None, as_json: bool) -> None:
    """List the registered models (names usable wherever a model is named).

    Names not listed still work where a spec is expected: Hugging Face ids, local paths,
    openai:MODEL@URL endpoints.
    """
    from ..models.registry import get_model_config, list_models

    entries = [get_model_config(n) for n in list_models(kind)]
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
        return
    for e in entries:
        flag = "offline" if e.offline else "hub"
        click.echo(f"{e.kind:<14} {e.name:<24} {flag:<8} {e.description}")


def register(cli: click.Group) -> None:
    """Add ``models`` to the main group."""
    cli.add_command(models_cmd)
