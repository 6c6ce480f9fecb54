"""``hourlens ask`` and ``hourlens chat`` on a synthetic library (no models, no LLM)."""

from __future__ import annotations

import json

import pytest
from agent_fixtures import make_llm, toy_models, write_lecture
from click.testing import CliRunner

from hourlens.cli import cli
from hourlens.cli.ask import register
from hourlens.memory_store import Store

if "ask" not in cli.commands:  # until the lead wires register(cli) into hourlens.cli
    register(cli)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("asklib")
    with Store(root / "lib") as st:
        write_lecture(st, root / "lecture.mp4")
    return root / "lib"


def invoke(lib, args, *, llm=None, input=None):
    obj = {"agent_models": toy_models()}
    if llm is not None:
        obj["llm"] = llm
    extra = [] if llm is not None else ["--llm", "none"]
    cmd, *rest = args
    return CliRunner().invoke(
        cli,
        ["--library", str(lib), cmd, *extra, *rest],
        obj=obj,
        input=input,
        catch_exceptions=False,
    )


def test_ask_json_output_contract(lib):
    res = invoke(lib, ["ask", "lecture.mp4", "What is said at about 01:27?", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"answer", "confidence", "citations", "steps"}
    assert out["answer"] == "Please hold while I try that extension."
    assert isinstance(out["confidence"], float)
    (cite,) = out["citations"]
    assert set(cite) == {"video", "start", "end", "kind"}
    assert cite["video"].endswith("lecture.mp4") and cite["kind"] == "speech"
    assert (cite["start"], cite["end"]) == (86.0, 89.0)
    assert [s["node"] for s in out["steps"]][:2] == ["route", "coarse"]
    assert all(set(s) == {"node", "detail", "seconds"} for s in out["steps"])


def test_ask_human_output_has_citations(lib):
    res = invoke(
        lib,
        [
            "ask",
            "lecture.mp4",
            "When does the narrator say “Look at the rocket on the launch pad”?",
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "From 02:11 to 02:15. [02:11–02:15]"
    assert "confidence" in res.stderr


def test_ask_trace_prints_steps_on_stderr(lib):
    res = invoke(lib, ["ask", "lecture.mp4", "What is said at about 01:27?", "--trace"])
    assert res.exit_code == 0
    for node in ("route", "coarse", "select", "judge", "answer"):
        assert f"· {node}" in res.stderr
    assert "·" not in res.stdout


def test_ask_all_videos(lib):
    res = invoke(
        lib, ["ask", "--all", "How many times does the narrator say the word “rocket”?", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["answer"].startswith("2 ")


def test_ask_with_an_llm_from_the_context(lib):
    llm = make_llm(
        [{"answer": "Rockets and cats.", "evidence": [1], "confidence": 0.9, "sufficient": True}]
    )
    res = invoke(lib, ["ask", "lecture.mp4", "What is the lecture about?", "--json"], llm=llm)
    assert json.loads(res.stdout)["answer"] == "Rockets and cats."


def test_ask_errors(lib):
    res = invoke(lib, ["ask", "missing.mp4", "What is said?"])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ") and len(res.stderr.strip().splitlines()) == 1
    res = invoke(lib, ["ask", "lecture.mp4"])
    assert res.exit_code == 2 and "VIDEO and QUESTION" in res.stderr
    res = invoke(lib, ["ask", "--all", "lecture.mp4", "question"])
    assert res.exit_code == 2 and "only the QUESTION" in res.stderr
    res = invoke(lib, ["ask", "lecture.mp4", "  "])
    assert res.exit_code == 2


def test_chat_keeps_history_and_commands(lib):
    lines = (
        "\n".join(
            [
                "What is said at about 01:27?",
                "/trace",
                "and what is said right after that?",
                "/trace",
                "/clear",
                "/nope",
                "",
                "/quit",
                "never asked",
            ]
        )
        + "\n"
    )
    res = invoke(lib, ["chat", "lecture.mp4"], input=lines)
    assert res.exit_code == 0, res.output
    answers = res.stdout.strip().splitlines()
    assert answers[0].startswith("Please hold while I try that extension.")
    assert "The coffee is ready in the kitchen." in answers[1]  # resolved via history
    assert len(answers) == 2
    assert "trace on" in res.stderr
    assert "what_at/speech" in res.stderr and "window=89-119s" in res.stderr  # the follow-up
    assert "conversation cleared" in res.stderr
    assert "unknown command /nope" in res.stderr


def test_chat_ends_at_end_of_input(lib):
    res = invoke(lib, ["chat", "lecture.mp4"], input="What is said at about 01:27?\n")
    assert res.exit_code == 0 and "Please hold" in res.stdout
    assert invoke(lib, ["chat"]).exit_code == 2


def test_chat_ctrl_c_cancels_only_the_current_question(lib, monkeypatch):
    import hourlens.agent

    real = hourlens.agent.ask
    calls = []

    def flaky(*args, **kw):
        calls.append(args[1])
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(hourlens.agent, "ask", flaky)
    res = invoke(
        lib,
        ["chat", "lecture.mp4"],
        input="What is the lecture about?\nWhat is said at about 01:27?\n",
    )
    assert res.exit_code == 0
    assert "(cancelled)" in res.stderr
    assert res.stdout.strip().startswith("Please hold while I try that extension.")
