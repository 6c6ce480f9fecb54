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


# --------------------------------------------------------------- --questions and rounds
_FAKE_SCORE = """
import json, sys
man = json.load(open(sys.argv[1]))
answers = {}
for line in open(sys.argv[2]):
    obj = json.loads(line)
    answers[obj["id"]] = obj
per, tot = {}, [0, 0]
for q in man["questions"]:
    ok = answers.get(q["id"], {}).get("answer") == "right"
    d = per.setdefault(q["type"], [0, 0])
    d[0] += 1
    d[1] += ok
    tot[0] += 1
    tot[1] += ok
open(sys.argv[sys.argv.index("--details") + 1], "w").write("")
print("a table line")
print(json.dumps({
    "grounding_hit": tot[1] / tot[0], "answer_correct": tot[1] / tot[0],
    "n_questions": tot[0],
    "per_type": {t: {"n": n, "grounding_hit": k / n, "answer_correct": k / n}
                 for t, (n, k) in per.items()},
}))
"""


def _fake_niah(tmp_path):
    """A niah build (manifest only), a scorer that counts answers "right", and a file."""
    src = tmp_path / "niah-src"
    src.mkdir()
    (src / "score.py").write_text(_FAKE_SCORE)
    build = tmp_path / "build"
    build.mkdir()
    qs = [
        {"id": "order-01", "type": "order", "question": "Which first: a or b?"},
        {"id": "count-01", "type": "count", "question": "How many?"},
        {"id": "visual_when-01", "type": "visual_when", "question": "When is a cat shown?"},
    ]
    for q in qs:
        q["prompt"] = q["question"]
    (build / "manifest.json").write_text(
        json.dumps({"minutes": 10, "video": "haystack.mp4", "questions": qs})
    )
    lines = [
        {"id": "order-01", "question": "good: is a or b first"},
        {"id": "count-01", "question": "good: count them"},
        {"id": "order-01", "question": "bad: a or b, which one"},
        {"id": "count-01", "question": "good: how many times"},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return src, build, qfile


def test_questions_file_rounds_and_errors(tmp_path):
    import niah_questions as nq

    _, build, qfile = _fake_niah(tmp_path)
    manifest = json.loads((build / "manifest.json").read_text())
    rounds = nq.load_rounds(qfile, manifest)
    assert [[q["id"] for q in r] for r in rounds] == [["order-01", "count-01"]] * 2
    assert rounds[1][0]["prompt"] == "bad: a or b, which one"
    assert rounds[1][0]["type"] == "order" and rounds[1][0]["question"].startswith("Which")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "order-01", "question": "ok"}\n{"id": "nope-9", "question": "x"}\n')
    with pytest.raises(SystemExit, match=r"bad.jsonl:2: id 'nope-9' is not"):
        nq.load_rounds(bad, manifest)
    bad.write_text("{not json\n")
    with pytest.raises(SystemExit, match="bad.jsonl:1: not JSON"):
        nq.load_rounds(bad, manifest)
    bad.write_text('{"id": "order-01", "question": "  "}\n')
    with pytest.raises(SystemExit, match="empty question"):
        nq.load_rounds(bad, manifest)


def test_summarise_means_over_rounds_and_latency_per_type():
    import niah_questions as nq

    r1 = {
        "grounding_hit": 1.0,
        "answer_correct": 0.5,
        "n_questions": 2,
        "per_type": {
            "order": {"grounding_hit": 1.0, "answer_correct": 0.0},
            "count": {"grounding_hit": 1.0, "answer_correct": 1.0},
        },
    }
    r2 = {
        "grounding_hit": 0.0,
        "answer_correct": 1.0,
        "n_questions": 1,
        "per_type": {"order": {"grounding_hit": 0.0, "answer_correct": 1.0}},
    }
    lat = [("order", 1.0), ("count", 10.0), ("order", 3.0)]
    s = nq.summarise([r1, r2], lat)
    assert (s["grounding_hit"], s["answer_correct"]) == (0.5, 0.75)
    assert s["per_type"]["order"] == {
        "n": 2,
        "grounding_hit": 0.5,
        "answer_correct": 0.5,
        "p50_s": 2.0,
        "p95_s": pytest.approx(2.9),
    }
    assert s["per_type"]["count"]["answer_correct"] == 1.0
    assert s["p50_s"] == 3.0 and [r["round"] for r in s["rounds"]] == [1, 2]
    table = nq.format_type_table(s)
    assert "order" in table and "2.9" in table
    assert nq.format_rounds(s) == "r1: 1.00/0.50  r2: 0.00/1.00"


def _run_main(tmp_path, monkeypatch, capsys, *extra, with_file=True):
    src, build, qfile = _fake_niah(tmp_path)
    asked: list[tuple[str, list[str]]] = []

    def fake_ask(library, video, prompt, llm, extra_args, env):
        asked.append((prompt, extra_args))
        return {
            "answer": "right" if prompt.startswith("good") else "wrong",
            "citations": [{"start": 1.0, "end": 2.0}],
        }, 0.5

    monkeypatch.setattr(niah, "ask_one", fake_ask)
    monkeypatch.setattr(niah, "ensure_index", lambda lib, video, seg: None)
    code = niah.main(
        [
            "--niah-dir",
            str(build),
            "--niah-src",
            str(src),
            "--out",
            str(tmp_path / "out"),
            "--library",
            str(tmp_path / "lib"),
            *extra,
        ]
        + (["--questions", str(qfile)] if with_file else [])
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1]), "\n".join(out), asked


def test_main_asks_the_file_over_rounds_with_variant_a(tmp_path, monkeypatch, capsys):
    last, text, asked = _run_main(tmp_path, monkeypatch, capsys)
    # the warm-up, then the file's wordings, never the manifest's
    assert [p for p, _ in asked[1:]] == [
        "good: is a or b first",
        "good: count them",
        "bad: a or b, which one",
        "good: how many times",
    ]
    (row,) = last["variants"]  # only (a) by default with --questions
    assert row["variant"] == "a" and row["rounds"] == 2 and row["n"] == 4
    assert row["grounding_hit"] == 0.75 and row["answer_correct"] == 0.75
    per = last["per_type"]["a"]
    assert per["order"]["answer_correct"] == 0.5 and per["count"]["answer_correct"] == 1.0
    assert per["order"]["p50_s"] == 0.5 and per["order"]["n"] == 2
    assert [r["answer_correct"] for r in last["rounds"]["a"]] == [1.0, 0.5]
    assert "per type, (a)" in text and "p95 s" in text
    out = tmp_path / "out"
    assert (out / "answers-a-r1.jsonl").exists() and (out / "details-a-r2.jsonl").exists()
    first = json.loads((out / "answers-a-r2.jsonl").read_text().splitlines()[0])
    assert first["question"] == "bad: a or b, which one" and first["answer"] == "wrong"
    # visual_when-01 was not asked: scored against a manifest of the asked ones only
    sub = json.loads((out / "manifest-subset-r1.json").read_text())
    assert {q["id"] for q in sub["questions"]} == {"order-01", "count-01"}


def test_main_rounds_limit_and_types(tmp_path, monkeypatch, capsys):
    last, _, asked = _run_main(tmp_path, monkeypatch, capsys, "--rounds", "1", "--types", "order")
    assert [p for p, _ in asked[1:]] == ["good: is a or b first"]
    assert last["variants"][0]["answer_correct"] == 1.0 and last["variants"][0]["rounds"] == 1


def test_main_without_a_file_asks_the_manifest(tmp_path, monkeypatch, capsys):
    last, _, asked = _run_main(tmp_path, monkeypatch, capsys, "--variants", "a,b", with_file=False)
    prompts = [p for p, _ in asked[1:]]
    assert prompts[:3] == ["Which first: a or b?", "How many?", "When is a cat shown?"]
    assert len(prompts) == 6 and asked[4][1] == ["--budget", "0"]  # (b): one-shot
    assert [r["variant"] for r in last["variants"]] == ["a", "b"]
    assert last["variants"][0]["answer_correct"] == 0.0  # the fake scorer wants "right"
    assert (tmp_path / "out" / "answers-a.jsonl").exists()
