"""The fault and fuzz probe's failing cases (issue 14), end to end: none may hang, print a
traceback or answer 5xx.

FIFO on the command line (with a timeout), ``~nosuchuser`` beside a good file, a 20-digit
id over the CLI, REST and MCP, a cut-off faststart MP4 (``partial``), loosely written
keyframe names, tool calls with a placeholder video id, and the smaller items (a folder
named ``dir.mp4``, a symlink loop, audio-only files in a folder, a newline in a name).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
from agent_fixtures import toy_models
from click.testing import CliRunner
from live_server import LiveServer, build_library
from media import make_audio_only, make_scene_video

from hourlens import Library
from hourlens.cli import cli
from hourlens.errors import NotIndexedError
from hourlens.indexer.discover import discover

INDEX_KEYS = {"video", "status", "duration", "segments", "seconds", "error"}
HUGE_ID = "99999999999999999999"  # 20 digits, > 2**63
QUICK = {
    "HOURLENS_ASR": "none",
    "HOURLENS_OCR": "false",
    "HOURLENS_TEXT_EMBEDDER": "none",
    "HOURLENS_ENCODER": "efficientnet_lite0",  # the packaged one, without probing for CLIP
    "HF_HUB_OFFLINE": "1",
}


@pytest.fixture(autouse=True)
def _quick_indexing(monkeypatch):
    for k, v in QUICK.items():
        monkeypatch.setenv(k, v)


def hourlens(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process (so a hang fails instead of blocking)."""
    code = "from hourlens.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **QUICK},
        check=False,
    )


def run(lib: Path, *args: str):
    return CliRunner().invoke(cli, ["--library", str(lib), *args], catch_exceptions=False)


def assert_clean(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr + res.stdout, res.stderr[-3000:]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.mp4"
    make_scene_video(path, [(4.0, "hopper"), (4.0, "bars")], fps=5, size=(160, 120))
    return path


def faststart_cut(src: Path, dst: Path, keep: float = 0.5) -> Path:
    """``src`` remuxed with its index (moov) at the front, then cut to ``keep`` of its
    bytes: it opens and declares its whole duration, but only the start decodes."""
    full = dst.with_name("faststart-" + dst.name)
    with (
        av.open(str(src)) as inp,
        av.open(str(full), "w", options={"movflags": "faststart"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for pkt in inp.demux():
            if pkt.dts is None:
                continue
            pkt.stream = streams[pkt.stream.index]
            out.mux(pkt)
    data = full.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


# -- 1. FIFO -----------------------------------------------------------------------------


def test_fifo_on_the_command_line_is_refused_without_opening_it(tmp_path, good):
    fifo = tmp_path / "x.mp4"
    os.mkfifo(fifo)
    lib = tmp_path / "lib"
    res = hourlens("--library", str(lib), "index", "--json", "--no-progress", str(fifo), str(good))
    assert_clean(res)
    assert res.returncode == 1
    lines = [json.loads(ln) for ln in res.stdout.splitlines()]
    by_status = {ln["status"]: ln for ln in lines}
    assert set(by_status) == {"failed", "indexed"}
    assert "not a regular file" in by_status["failed"]["error"]
    assert "FIFO" in by_status["failed"]["error"]
    assert all(set(ln) == INDEX_KEYS for ln in lines)


# -- 2. ~nosuchuser ----------------------------------------------------------------------


def test_unknown_user_home_beside_a_good_file(tmp_path, good):
    lib = tmp_path / "lib"
    # in-process, exceptions not caught: a traceback would fail the test
    res = run(lib, "index", "--no-progress", "~nosuchuser/v.mp4", str(good))
    assert res.exit_code == 1
    assert "~nosuchuser/v.mp4: no such file or directory" in res.output
    assert "indexed  " + str(good.resolve()) in res.output  # the good file is still indexed
    for cmd in (["show"], ["transcript"], ["remove"], ["search", "x", "--video"]):
        out = run(lib, *cmd, "~nosuchuser")
        assert out.exit_code == 1 and out.output.startswith("Error: "), out.output
        assert len(out.output.strip().splitlines()) == 1
    with Library(lib) as library:
        with pytest.raises(NotIndexedError):
            library.ask("What is shown?", video="~nosuchuser/good.mp4")
        assert Library("~nosuchuser/lib").path == Path("~nosuchuser/lib")


# -- 3. a 20-digit id ----------------------------------------------------------------------


def test_huge_numeric_id_in_the_cli(tmp_path):
    lib = build_library(tmp_path)
    for args in (["show", HUGE_ID], ["transcript", HUGE_ID], ["remove", HUGE_ID]):
        res = run(lib, *args)
        assert res.exit_code == 1 and "no indexed video matches" in res.output
    # other digits are no id (Arabic-Indic, fullwidth)
    for ref in ("١", "１"):
        res = run(lib, "show", ref)
        assert res.exit_code == 1 and "no indexed video matches" in res.output
    assert run(lib, "show", "1").exit_code == 0


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from hourlens.integrations.rest import create_app

    lib_dir = build_library(tmp_path_factory.mktemp("probe-rest"))
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib)) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as client,
    ):
        yield client


def test_rest_never_answers_5xx_to_the_probe(api):
    gets = [
        f"/videos/{HUGE_ID}",
        f"/videos/{HUGE_ID}/transcript",
        f"/videos/{HUGE_ID}/keyframes/0.jpg",
        f"/search?q=cat&video={HUGE_ID}",
        "/videos/~nosuchuser",
        "/videos/~nosuchuser/transcript",
        "/search?q=cat&video=~nosuchuser",
        "/videos/-1",
        "/videos/%D9%A1",
    ]
    for url in gets:
        res = api.get(url)
        assert res.status_code == 404, (url, res.status_code, res.text)
        assert set(res.json()["error"]) == {"code", "message"}
    for video in (HUGE_ID, "~nosuchuser", "video_id"):
        res = api.post("/ask", json={"question": "What is said?", "video": video})
        assert res.status_code == 404, res.text
        assert (
            "Valid videos: id 1 (lecture.mp4), id 2 (second.mp4)." in res.json()["error"]["message"]
        )


def test_rest_transcript_range_and_history(api):
    res = api.get("/videos/1/transcript", params={"start": 20, "end": 10})
    assert res.status_code == 400 and "before start" in res.json()["error"]["message"]
    turn = {"question": "", "answer": "", "citations": []}  # valid per the schema
    res = api.post("/ask", json={"question": "and then?", "video": "1", "history": [turn]})
    assert res.status_code == 200, res.text
    bad = {"question": "q", "answer": "a", "citations": [{}]}  # citations need video/start/end
    res = api.post("/ask", json={"question": "and then?", "history": [bad]})
    assert res.status_code == 422


# -- 4. truncated faststart MP4 ------------------------------------------------------------


def test_cut_off_faststart_mp4_is_partial(tmp_path):
    src = tmp_path / "src.mp4"
    make_scene_video(src, [(5.0, "hopper"), (5.0, "bars"), (5.0, "china"), (5.0, "checker")], fps=5)
    cut = faststart_cut(src, tmp_path / "cut.mp4")
    lib = tmp_path / "lib"
    res = run(lib, "index", "--json", "--no-progress", str(cut))
    assert res.exit_code == 1, res.output
    (line,) = [json.loads(ln) for ln in res.output.splitlines() if ln.startswith("{")]
    assert set(line) == INDEX_KEYS and line["status"] == "partial"
    assert "truncated" in line["error"] and "00:20" in line["error"]
    assert 8.0 <= line["duration"] <= 12.0  # about half of the 20 s decodes
    assert run(lib, "index", "--allow-partial", "--force", "--no-progress", str(cut)).exit_code == 0

    listed = run(lib, "list")
    assert "partial" in listed.output and "truncated" in listed.output
    (video,) = json.loads(run(lib, "list", "--json").output)
    assert video["status"] == "partial" and "truncated" in video["error"]
    shown = json.loads(run(lib, "show", "--json", "cut.mp4").output)
    assert shown["status"] == "partial"
    assert max(s["end"] for s in shown["segments"]) <= shown["duration"] + 1e-6 <= 12.0
    assert "partial: " in run(lib, "show", "cut.mp4").output
    # what decoded is searchable
    with Library(lib, models=toy_models()) as library:
        assert library.video("cut.mp4").ready
        hits = library.search("academic gown", k=3, video="cut.mp4")
        assert hits and all(h.end <= shown["duration"] + 1e-6 for h in hits)
    # an intact file of the same content is complete
    res = run(lib, "index", "--json", "--no-progress", str(src))
    assert res.exit_code == 0 and json.loads(res.output.splitlines()[0])["status"] == "indexed"


# -- 5. keyframe names -------------------------------------------------------------------


def test_keyframe_names_are_exactly_digits_dot_jpg(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi import HTTPException

    from hourlens.integrations.rest import _keyframe_file

    lib_dir = build_library(tmp_path)
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        assert _keyframe_file(lib, "1", "0.jpg").endswith(".jpg")
        assert _keyframe_file(lib, "1", "00.jpg") == _keyframe_file(lib, "1", "0.jpg")
        for name in ["0.jpg\n", "٠.jpg", "０.jpg", "0.JPG", "-0.jpg", "0.jpg.png", ".jpg"]:
            with pytest.raises(HTTPException) as err:
                _keyframe_file(lib, "1", name)
            assert err.value.status_code == 404


# -- 7 and 8. tool errors an agent can act on ---------------------------------------------


def test_langchain_tool_with_a_placeholder_video_names_the_valid_ones(tmp_path):
    from hourlens.integrations import as_langchain_tools

    lib_dir = build_library(tmp_path)
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        tools = {t.name: t for t in as_langchain_tools(lib)}
        for name, args in (
            ("search_video_memory", {"query": "rocket", "video": "video_id"}),
            ("ask_video", {"question": "What is said?", "video": "video_id"}),
            ("get_video_transcript", {"video": HUGE_ID}),
        ):
            text = tools[name].invoke(args)
            assert text.startswith("Error: no indexed video matches"), text
            assert "id 1 (lecture.mp4), id 2 (second.mp4)" in text
        assert "leave out the video" in tools["ask_video"].invoke({"question": "q", "video": "x"})
        schema = json.dumps([t.args for t in tools.values()])
        assert "video_id" not in schema
        assert json.loads(tools["search_video_memory"].invoke({"query": "rocket"}))


def test_example_agent_recovers_from_a_placeholder_video_id(tmp_path):
    import importlib.util

    from agent_fixtures import make_llm, prompt_text
    from langchain_core.messages import HumanMessage, ToolMessage

    from hourlens import READY_STATUSES
    from hourlens.integrations import as_langchain_tools

    spec = importlib.util.spec_from_file_location(
        "rag_agent", Path(__file__).parents[1] / "examples" / "rag_agent.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    llm = make_llm(
        [
            {
                "tool": "ask_video",
                "args": {"question": "What is said at about 01:27?", "video": "video_id"},
            },
            {
                "tool": "ask_video",
                "args": {"question": "What is said at about 01:27?", "video": "1"},
            },
            {"answer": "At 01:26 the speaker says: Please hold."},
        ]
    )
    lib_dir = build_library(tmp_path)
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        agent = example.build_agent(as_langchain_tools(lib), llm, videos=lib.videos(READY_STATUSES))
        out = agent.invoke({"messages": [HumanMessage("What is said at 01:27?")]})
    first, second = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert "Valid videos: id 1 (lecture.mp4), id 2 (second.mp4)." in first.content
    assert json.loads(second.content)["answer"] == "Please hold while I try that extension."
    system = prompt_text(llm.prompts[0])
    assert 'id 1 "lecture.mp4", id 2 "second.mp4"' in system
    assert "ask_video(question: string, video?: string)" in system
    assert "Valid videos" in prompt_text(llm.prompts[1])  # the error reached the LLM


def test_a_library_of_one_video_needs_no_id(tmp_path):
    from agent_fixtures import write_lecture

    from hourlens.memory_store import Store

    with Store(tmp_path / "lib") as st:
        write_lecture(st, tmp_path / "lecture.mp4")
    with Library(tmp_path / "lib", llm="none", models=toy_models()) as lib:
        with pytest.raises(NotIndexedError, match=r"Valid videos: id 1 \(lecture.mp4\) \(the only"):
            lib.search("rocket", video="video_id")
        assert lib.search("rocket")
        assert lib.ask("What is said at about 01:27?").answer


async def _mcp_probe(lib_dir: Path, errlog) -> dict:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    here = Path(__file__).parent
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(here / "mcp_stdio_server.py"), str(lib_dir)],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("HOURLENS_")}},
    )
    out: dict = {}
    async with Client(stdio_client(params, errlog=errlog)) as client:
        calls = {
            "huge": ("get_video_transcript", {"video": HUGE_ID}),
            "placeholder": ("search_video_memory", {"query": "cat", "video": "video_id"}),
            "nosuchuser": ("ask_video", {"question": "What?", "video": "~nosuchuser"}),
            "empty": ("search_video_memory", {"query": ""}),
            "blank": ("search_video_memory", {"query": "   "}),
            "k0": ("search_video_memory", {"query": "cat", "k": 0}),
            "khuge": ("search_video_memory", {"query": "cat", "k": 10**30}),
            "range": ("get_video_transcript", {"video": "1", "start": 20, "end": 10}),
        }
        for key, (tool, args) in calls.items():
            out[key] = await client.call_tool(tool, args)
        templates = (await client.list_resource_templates()).resource_templates
        out["templates"] = [t.uri_template for t in templates]
        for uri in (f"hourlens://videos/{HUGE_ID}", "hourlens://videos/%D9%A1"):
            try:
                await client.read_resource(uri)
                out[uri] = None
            except Exception as exc:  # noqa: BLE001 - MCPError expected
                out[uri] = exc
    return out


def test_mcp_tool_errors_carry_the_reason_and_no_traceback(tmp_path):
    pytest.importorskip("mcp")
    lib_dir = build_library(tmp_path)
    log = tmp_path / "server-stderr.txt"
    with open(log, "w") as errlog:
        out = asyncio.run(asyncio.wait_for(_mcp_probe(lib_dir, errlog), timeout=120))
    why = {
        "huge": "no indexed video matches",
        "placeholder": "id 1 (lecture.mp4), id 2 (second.mp4)",
        "nosuchuser": "no indexed video matches '~nosuchuser'",
        "empty": "query",
        "blank": "empty",
        "k0": "greater than or equal to 1",
        "khuge": "less than or equal to 50",
        "range": "before start",
    }
    for key, expected in why.items():
        res = out[key]
        assert res.is_error, key
        text = res.content[0].text
        assert expected in text, (key, text)
        assert text != f"Error executing tool {key}"
    assert all("{video_id}" not in t for t in out["templates"])
    for uri in (f"hourlens://videos/{HUGE_ID}", "hourlens://videos/%D9%A1"):
        assert out[uri] is not None
    assert "Traceback" not in log.read_text()


# -- 9. smaller items ----------------------------------------------------------------------


def test_named_folder_without_videos_and_symlink_loop(tmp_path):
    (tmp_path / "dir.mp4").mkdir()
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    broken = tmp_path / "broken.mp4"
    broken.symlink_to(tmp_path / "gone.mp4")
    found = discover([tmp_path / "dir.mp4", loop, broken])
    reasons = dict(found.problems)
    assert reasons[str(tmp_path / "dir.mp4")] == "a folder holding no video files"
    assert "symbolic link loop" in reasons[str(loop)]
    assert "broken symbolic link" in reasons[str(broken)]
    res = run(tmp_path / "lib", "index", "--no-progress", str(tmp_path / "dir.mp4"), str(loop))
    assert res.exit_code == 1
    assert "dir.mp4: a folder holding no video files" in res.output
    assert "symbolic link loop" in res.output and "no such file" not in res.output


def test_audio_only_files_in_a_folder_are_counted(tmp_path, good):
    folder = tmp_path / "media"
    folder.mkdir()
    make_audio_only(folder / "talk.m4a")
    make_audio_only(folder / "song.mp3.m4a")
    (folder / "good.mp4").write_bytes(good.read_bytes())
    found = discover([folder])
    assert [p.name for p in found.videos] == ["good.mp4"]
    assert sorted(p.name for p in found.audio_only) == ["song.mp3.m4a", "talk.m4a"]
    res = run(tmp_path / "lib", "index", "--no-progress", str(folder))
    assert res.exit_code == 0, res.output
    assert "1 indexed, 0 skipped, 0 failed, 2 audio-only files not indexed" in res.output


def test_newline_in_a_file_name_keeps_list_one_line_per_video(tmp_path, good):
    odd = tmp_path / "two\nlines.mp4"
    odd.write_bytes(good.read_bytes())
    lib = tmp_path / "lib"
    assert run(lib, "index", "--no-progress", str(odd), str(good)).exit_code == 0
    out = run(lib, "list").output.splitlines()
    assert len(out) == 2 and any("two\\nlines.mp4" in ln for ln in out)
    assert run(lib, "show", "two\nlines.mp4").output.splitlines()[0].endswith("two\\nlines.mp4")
