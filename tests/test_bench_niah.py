"""Helpers of the niah benchmark script (bench/niah.py): no models, no video."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import niah  # noqa: E402
import niah_report as rep  # noqa: E402


def test_percentiles_and_rows():
    assert rep.percentile([], 50) is None
    assert rep.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert rep.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    row = rep.variant_row("b", {"grounding_hit": 0.9, "answer_correct": 0.8}, [1.0, 2.0, 3.0])
    assert (row["n"], row["p50_s"], row["max_s"]) == (3, 2.0, 3.0)
    table = rep.format_table([row])
    assert "(b) one-shot retrieval" in table and "0.90" in table and "0.80" in table
    types = rep.format_types(
        {"per_type": {"order": {"n": 2, "grounding_hit": 1.0, "answer_correct": 0.5}}}
    )
    assert "order" in types and "0.50" in types


def test_questions_limit_types_and_scored_manifest(tmp_path):
    qs = [{"id": f"q{i}", "type": "order" if i % 2 else "count"} for i in range(5)]
    manifest = {"questions": qs, "minutes": 10}
    assert [q["id"] for q in niah._questions(manifest, 2, None)] == ["q0", "q1"]
    assert [q["id"] for q in niah._questions(manifest, None, "order")] == ["q1", "q3"]
    src = tmp_path / "manifest.json"
    assert niah._scored_manifest(manifest, qs, src, tmp_path) == src
    sub = niah._scored_manifest(manifest, qs[:2], src, tmp_path)
    assert [q["id"] for q in json.loads(sub.read_text())["questions"]] == ["q0", "q1"]


def test_missing_niah_scripts_say_where_to_get_them(tmp_path):
    with pytest.raises(SystemExit, match="shared/niah"):
        niah._niah_src(str(tmp_path))


def test_index_stats_of_a_missing_library(tmp_path):
    assert rep.index_stats(tmp_path, "/nowhere.mp4") == {}
    assert "no index statistics" in rep.format_index("x", {}, None)


def test_index_stats_read_the_video_row_and_its_run(tmp_path):
    from agent_fixtures import write_lecture

    from hourlens.memory_store import Store

    store = Store(tmp_path / "lib")
    video = write_lecture(store, tmp_path / "lecture.mp4")
    store.close()
    st = rep.index_stats(tmp_path / "lib", video.path)
    assert st["duration"] == 300.0 and st["encoder"] == "efficientnet_lite0"
    assert "RTF" in rep.format_index("depth", st, 12.0)
