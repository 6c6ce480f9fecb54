"""bench/wordings.py: niah questions reworded from the manifest, tune and test halves."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import wordings  # noqa: E402

Q = "\u201c{}\u201d"
CAT, ROCKET, PAGODA, DAHLIA = (
    "a cat",
    "a rocket on a launch pad",
    "a Chinese pagoda",
    "an orange dahlia flower",
)
SAID = "That option is invalid. Please try again."
SLIDE = "All circuits are busy now."


def _manifest() -> dict:
    """A small manifest in the niah format, one question of every type and count kind."""
    needles = [
        {"id": "cat", "kind": "still", "start": 100.0, "end": 108.0, "label": CAT},
        {"id": "rocket", "kind": "still", "start": 300.0, "end": 308.0, "label": ROCKET},
        {"id": "pagoda", "kind": "still", "start": 400.0, "end": 408.0, "label": PAGODA},
        {"id": "dahlia", "kind": "still", "start": 3700.0, "end": 3708.0, "label": DAHLIA},
        {"id": "text1", "kind": "text", "start": 142.0, "end": 148.0, "text": SLIDE},
    ]
    speech = [
        {"id": "u1", "start": 296.0, "end": 298.5, "text": SAID},
        {"id": "u2", "start": 3719.0, "end": 3722.0, "text": "Press 7 to undelete this message"},
        {"id": "u3", "start": 50.0, "end": 53.0, "text": "You cannot do that now"},
    ]
    opts4 = [CAT, PAGODA, ROCKET, DAHLIA]
    qs = [
        {
            "id": "visual_when-01",
            "type": "visual_when",
            "modality": "visual",
            "target": "cat",
            "question": f"At what time is {CAT} shown?",
            "evidence": [[100.0, 108.0]],
        },
        {
            "id": "speech_when-01",
            "type": "speech_when",
            "modality": "speech",
            "target": "u2",
            "question": f"When does the narrator say {Q.format(speech[1]['text'])}?",
            "evidence": [[3719.0, 3722.0]],
        },
        {
            "id": "speech_what-01",
            "type": "speech_what",
            "modality": "speech",
            "target": "u2",
            "question": "What is said at about 1:02:00?",
            "evidence": [[3719.0, 3722.0]],
        },
        {
            "id": "ocr_what-01",
            "type": "ocr_what",
            "modality": "ocr",
            "target": "text1",
            "question": "What sentence is written on the screen at about 02:25?",
            "evidence": [[142.0, 148.0]],
        },
        {
            "id": "ocr_when-01",
            "type": "ocr_when",
            "modality": "ocr",
            "target": "text1",
            "question": f"When does the text {Q.format(SLIDE)} appear on screen?",
            "evidence": [[142.0, 148.0]],
        },
        {
            "id": "order-01",
            "type": "order",
            "modality": "visual",
            "options": [ROCKET, CAT],
            "correct": "B",
            "question": f"Which comes first in the video: {ROCKET} or {CAT}?",
        },
        {
            "id": "order-02",
            "type": "order",
            "modality": "cross",
            "options": [f"the narrator saying {Q.format(SAID)}", PAGODA],
            "correct": "A",
            "question": f"Which comes first in the video: the narrator saying {Q.format(SAID)} "
            f"or {PAGODA}?",
        },
        {
            "id": "cross_modal-01",
            "type": "cross_modal",
            "modality": "cross",
            "targets": ["u1", "rocket"],
            "options": opts4,
            "correct": "C",
            "question": f"What is shown right after the narrator says {Q.format(SAID)}: "
            f"{CAT}, {PAGODA}, {ROCKET} or {DAHLIA}?",
        },
        {
            "id": "count-01",
            "type": "count",
            "modality": "ocr",
            "count": 1,
            "question": "How many times is a slide with a written sentence on a plain dark "
            "background shown?",
        },
        {
            "id": "count-02",
            "type": "count",
            "modality": "speech",
            "count": 1,
            "question": f"How many times does the narrator say the word {Q.format('cannot')}?",
        },
    ]
    return {"needles": needles, "speech": speech, "questions": qs}


def test_the_halves_are_split_and_large_enough():
    tune, test = wordings.templates("tune"), wordings.templates("test")
    assert tune.keys() == test.keys()
    for key in tune:
        assert len(tune[key]) >= 5 and len(test[key]) >= 5, key
        assert not set(tune[key]) & set(test[key]), key
    with pytest.raises(SystemExit):
        wordings.templates("all")


def test_time_forms():
    f = wordings.time_forms(754)
    assert (f["mmss"], f["mss"], f["hmmss"], f["secs"]) == (
        "12:34",
        "12:34",
        "0:12:34",
        "754 seconds",
    )
    assert f["spoken"] == "12 minutes 34 seconds"
    g = wordings.time_forms(3720)
    assert (g["mmss"], g["mss"], g["spoken"]) == ("1:02:00", "1:02:00", "1 hour 2 minutes")
    assert wordings.time_forms(61)["spoken"] == "1 minute 1 second"


@pytest.mark.parametrize("which", wordings.SETS)
def test_every_question_reworded_every_wording_used(which):
    man = _manifest()
    rows, rounds = wordings.reword(man, which)
    tpl = wordings.templates(which)
    assert rounds == max(len(ws) for ws in tpl.values())  # some keys have one question
    assert len(rows) == rounds * len(man["questions"])
    by_id = {q["id"]: q for q in man["questions"]}
    for k in range(rounds):  # round k+1 asks every question once, in manifest order
        assert [r["id"] for r in rows if r["round"] == k + 1] == list(by_id)
    for r in rows:
        q, text = by_id[r["id"]], r["question"]
        assert "{" not in text and "}" not in text and text != q["question"]
        for opt in q.get("options", []):
            assert opt in text, (opt, text)  # exact option texts, for the scorer
        if q["type"] == "cross_modal":
            plain = wordings._lower_plain(SAID)
            assert SAID in text or SAID.lower().rstrip(".") in text or plain in text
        if q["type"] == "count" and q["modality"] == "speech":
            assert "cannot" in text
        if q["type"] == "visual_when":
            assert "cat" in text
        if q["type"] == "speech_what":  # 1:02:00, however written
            assert re.search(r"1:02:00|1 hour 2 minutes|3720 seconds|minute 62|62 minute", text), (
                text
            )
        if q["type"] == "ocr_what":
            assert re.search(r"02:25|2:25|0:02:25|2 minutes 25 seconds|145 seconds", text), text
        assert not re.search(r"[.!?][\"'\u201d]\.", text), text  # no doubled full stop
    used = {r["template"] for r in rows}
    # every wording is used but those needing a field this manifest cannot give
    # (the nearest minute of a slide next to a speech-free minute is fine; "shown first"
    # wordings need two visual options, which order-01 has)
    for key, ws in tpl.items():
        for j in range(len(ws)):
            if "approx_min" in ws[j] and key == "ocr_what":
                continue
            assert f"{which}:{key}:{j}" in used, (key, j, ws[j])


def test_fields_follow_the_manifest():
    man = _manifest()
    qs = {q["id"]: q for q in man["questions"]}
    key, f = wordings.fields(qs["order-02"], man)
    assert key == "order" and f["va"] is None and f["a"].startswith("the narrator saying")
    key, f = wordings.fields(qs["order-01"], man)
    assert (f["va"], f["vb"]) == (ROCKET, CAT)
    key, f = wordings.fields(qs["visual_when-01"], man)
    assert (f["the_label"], f["The_label"]) == ("the cat", "The cat")
    key, f = wordings.fields(qs["speech_when-01"], man)
    assert f["s_lc"] == "press 7 to undelete this message" and f["frag"] == "Press 7 to"
    key, f = wordings.fields(qs["ocr_when-01"], man)
    assert f["frag"] == "All circuits are"
    key, f = wordings.fields(qs["speech_what-01"], man)
    assert f["approx_min"] == "62"  # 1:02:00 exactly, no other utterance within 40 s
    key, f = wordings.fields(qs["count-02"], man)
    assert (key, f) == ("count_word", {"w": "cannot"})
    assert wordings.fields(qs["count-01"], man)[0] == "count_slides"
    bad = {**qs["speech_when-01"], "question": "When is it said?"}
    with pytest.raises(ValueError, match="not in its question"):
        wordings.fields(bad, man)
    with pytest.raises(ValueError, match="no wordings"):
        wordings.fields({**qs["count-01"], "modality": "visual"}, man)


def test_nearest_minute_only_when_unambiguous():
    items = [{"id": "x", "start": 715.0, "end": 718.0}, {"id": "y", "start": 750.0, "end": 752}]
    assert wordings._approx_minute(725, "x", items) is None  # y is within 40 s of 12:00
    assert wordings._approx_minute(725, "x", items[:1]) == "12"
    assert wordings._approx_minute(700, "x", items[:1]) is None  # 20 s from 12:00


def test_cli_writes_jsonl_and_a_json_summary(tmp_path, capsys):
    man = tmp_path / "manifest.json"
    man.write_text(json.dumps(_manifest()))
    out = tmp_path / "q" / "test.jsonl"
    assert wordings.main([str(man), "--set", "test", "--out", str(out), "--rounds", "2"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert last["rounds"] == 2 and last["questions"] == len(rows) == 20
    assert {r["round"] for r in rows} == {1, 2} and all(
        r["template"].startswith("test:") for r in rows
    )
