"""The ``hourlens`` command: output shapes, bad input, exit codes, crash recovery."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from media import (
    make_audio_only,
    make_jpeg,
    make_large_resolution,
    make_scene_video,
    make_short_video,
    make_text_file,
    make_truncated_mp4,
    make_vfr_video,
    make_zero_byte,
)

from hourlens.cli import cli

INDEX_KEYS = {"video", "status", "duration", "segments", "seconds", "error"}


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "small.mp4"
    make_scene_video(path, [(5.0, "hopper"), (5.0, "bars"), (5.0, "china")], fps=5)
    return path


def run(args, lib, **kw):
    res = CliRunner().invoke(cli, ["--library", str(lib), *args], catch_exceptions=False, **kw)
    return res


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_help_and_module_entry():
    out = subprocess.run(
        [sys.executable, "-m", "hourlens", "-h"], capture_output=True, text=True, check=True
    )
    assert "index" in out.stdout and "search" in out.stdout
    assert "--json" in CliRunner().invoke(cli, ["index", "-h"]).output


def test_index_json_list_show_search_remove(tmp_path, small_video):
    lib = tmp_path / "lib"
    res = run(["index", "--json", "--no-progress", str(small_video)], lib)
    assert res.exit_code == 0, res.output
    (line,) = json_lines(res.stdout)
    assert set(line) == INDEX_KEYS
    assert line["status"] == "indexed" and line["error"] is None
    assert line["segments"] >= 2 and line["duration"] == pytest.approx(15.0, abs=0.5)

    again = json_lines(run(["index", "--json", "--no-progress", str(small_video)], lib).stdout)
    assert again[0]["status"] == "skipped"

    listed = json.loads(run(["list", "--json"], lib).stdout)
    assert [v["path"] for v in listed] == [str(small_video.resolve())]

    shown = json.loads(run(["show", "small.mp4", "--json"], lib).stdout)
    assert shown["duration"] == pytest.approx(15.0, abs=0.5)
    assert shown["segments"] and {"start", "end", "tags"} <= set(shown["segments"][0])
    assert shown["memories"] >= len(shown["segments"])
    human = run(["show", "small.mp4"], lib)
    assert "segments" in human.output and "[00:00–" in human.output
    facets = [s["facets"] for s in shown["segments"]]  # mean pixel facets per segment
    assert all(f and {"dark", "bright", "red"} <= set(f) for f in facets)
    strong = [k for f in facets for k, v in f.items() if v >= 0.5]
    assert ("looks: " in human.output) == bool(strong)
    assert all(f"{k} " in human.output for k in strong)

    label = shown["segments"][0]["tags"][0]["label"]
    hits = json.loads(run(["search", label, "--json", "-k", "3"], lib).stdout)
    assert hits and set(hits[0]) == {"video", "start", "end", "score", "kind"}
    assert hits[0]["start"] < 5.5

    res = run(["remove", "small.mp4"], lib)
    assert res.exit_code == 0
    assert json.loads(run(["list", "--json"], lib).stdout) == []


def test_unknown_video_is_a_clean_error(tmp_path):
    res = CliRunner().invoke(cli, ["--library", str(tmp_path / "l"), "show", "nope.mp4"])
    assert res.exit_code == 1
    assert "Error:" in res.output and "Traceback" not in res.output


def test_bad_inputs_each_fail_cleanly_rest_indexed(tmp_path, small_video):
    d = tmp_path / "folder"
    d.mkdir()
    good = d / "good.mp4"
    good.write_bytes(small_video.read_bytes())
    make_text_file(d / "notes.mp4")
    make_zero_byte(d / "empty.mp4")
    make_truncated_mp4(small_video, d / "truncated.mp4", fraction=0.05)
    audio_only = make_audio_only(tmp_path / "audio_only.m4a")  # not a video extension
    make_jpeg(d / "photo.mp4")
    unreadable = d / "locked.mp4"
    unreadable.write_bytes(small_video.read_bytes())
    unreadable.chmod(0)
    make_short_video(d / "short.mp4", seconds=0.5)
    make_large_resolution(d / "huge.mp4")
    make_vfr_video(d / "vfr.mp4")
    lib = tmp_path / "lib"
    res = run(
        [
            "index",
            "--json",
            "--no-progress",
            str(d),
            str(audio_only),
            str(tmp_path / "missing.mp4"),
        ],
        lib,
    )
    lines = {Path(r["video"]).name: r for r in json_lines(res.stdout)}
    assert res.exit_code == 1
    expect_ok = {"good.mp4", "short.mp4", "huge.mp4", "vfr.mp4"}
    expect_bad = {
        "notes.mp4",
        "empty.mp4",
        "truncated.mp4",
        "audio_only.m4a",
        "photo.mp4",
        "missing.mp4",
    }
    if os.geteuid() != 0:  # root can read a chmod 0 file
        expect_bad.add("locked.mp4")
    for name in expect_ok:
        assert lines[name]["status"] == "indexed", lines[name]
    for name in expect_bad:
        r = lines[name]
        assert r["status"] == "failed", r
        assert r["error"] and "\n" not in r["error"] and "Traceback" not in r["error"]
    listed = {
        Path(v["path"]).name: v["status"] for v in json.loads(run(["list", "--json"], lib).stdout)
    }
    for name in expect_ok:
        assert listed[name] == "indexed"
    # the library is still consistent: a search works
    assert run(["search", "anything", "--json"], lib).exit_code == 0


def test_kill_mid_video_keeps_earlier_videos_and_resumes(tmp_path, small_video):
    lib = tmp_path / "lib"
    first = tmp_path / "a_first.mp4"
    first.write_bytes(small_video.read_bytes())
    long = tmp_path / "b_long.mp4"
    make_scene_video(long, [(40.0, "bars"), (40.0, "china")], fps=25, size=(640, 480))
    env = {**os.environ, "HOURLENS_HOME": str(lib), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hourlens",
            "index",
            "--json",
            "--no-progress",
            str(first),
            str(long),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    db = lib / "library.db"
    deadline = time.time() + 120
    killed = False
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    row = con.execute(
                        "select status from videos where path = ?", (str(long.resolve()),)
                    ).fetchone()
            except sqlite3.Error:
                row = None
            if row and row[0] == "indexing":
                time.sleep(0.5)
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        time.sleep(0.1)
    proc.wait()
    assert killed, "the second video finished before it could be killed"
    listed = {
        Path(v["path"]).name: v["status"] for v in json.loads(run(["list", "--json"], lib).stdout)
    }
    assert listed.get("a_first.mp4") == "indexed"
    assert "b_long.mp4" not in listed or listed["b_long.mp4"] != "indexed"
    res = run(["index", "--json", "--no-progress", str(first), str(long)], lib)
    status = {Path(r["video"]).name: r["status"] for r in json_lines(res.stdout)}
    assert status == {"a_first.mp4": "skipped", "b_long.mp4": "indexed"}


def test_a_bad_int8_setting_is_one_clean_error_before_indexing(tmp_path, small_video):
    res = CliRunner().invoke(
        cli,
        ["--library", str(tmp_path / "l"), "index", str(small_video)],
        env={"HOURLENS_INT8": "fast"},
    )
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "int8 setting 'fast': expected one of auto, on, off" in res.output
