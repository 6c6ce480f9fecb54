"""The models registry: one name -> config table over every kind of model."""

from __future__ import annotations

import pytest

from hourlens.errors import HourlensError
from hourlens.models import registry
from hourlens.models.registry import KINDS, create_model, get_model_config, list_models


def test_every_kind_is_registered_and_loaders_resolve() -> None:
    names = list_models()
    assert len(names) == len(set(names))
    for kind in KINDS:
        kind_names = list_models(kind)
        assert kind_names, kind
        for name in kind_names:
            cfg = get_model_config(name)
            assert cfg.kind == kind
            assert callable(registry.resolve_callable(cfg.loader))
            assert cfg.to_dict()["name"] == name


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(HourlensError, match="not found; available: .*qwen2.5-coder-1.5b"):
        get_model_config("no-such-model")
    with pytest.raises(HourlensError, match=r"lmm model 'efficientnet_lite0' not found"):
        get_model_config("efficientnet_lite0", kind="lmm")
    with pytest.raises(HourlensError, match="not found; available: llm, lmm"):
        list_models("camera")
    with pytest.raises(HourlensError, match="not found; available"):
        create_model("no-such-model")


def test_create_model_by_name_and_by_spec() -> None:
    from hourlens.models.llm import FakeLLM
    from hourlens.models.lmm import OpenAILMM

    assert isinstance(create_model("fake", kind="llm"), FakeLLM)  # a spec, not a name
    lmm = create_model("openai:qwen-vl@http://127.0.0.1:9/v1", kind="lmm")
    assert isinstance(lmm, OpenAILMM) and lmm.name.endswith("#qwen-vl")
    assert registry.resolve_spec("qwen2.5-vl-7b", "lmm") == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert registry.resolve_spec("Org/Other", "lmm") == "Org/Other"


def test_registered_offline_frame_encoder_loads() -> None:
    enc = create_model("efficientnet_lite0")
    assert enc.name.startswith("efficientnet")


def test_models_command_lists_every_kind() -> None:
    import json

    from click.testing import CliRunner

    from hourlens.cli import cli

    out = CliRunner().invoke(cli, ["models", "--json"])
    assert out.exit_code == 0, out.output
    kinds = {e["kind"] for e in json.loads(out.output)}
    assert kinds == set(KINDS)
    out = CliRunner().invoke(cli, ["models", "--kind", "lmm"])
    assert out.exit_code == 0 and "qwen2.5-vl-7b" in out.output
