"""Bounded BM25 (memory_store.fts_rank): exact when every word is rare, bounded and
sensible when words are frequent, per-video search confined to the video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hourlens.config import StoreConfig
from hourlens.memory_store import Store
from hourlens.memory_store.fts import search_text
from hourlens.memory_store.fts_rank import corpus, kind_tops, ranked, term_stats, video_spans

FILLER = [f"filler{c}" for c in "abcdefghijklmnopqrstuvwxyz"]


def sentence(rng: np.random.Generator, extra: list[str]) -> str:
    words = list(rng.choice(FILLER, size=int(rng.integers(3, 9)))) + extra
    rng.shuffle(words)
    return " ".join(words)


def words_for(rng: np.random.Generator, v: int, i: int) -> list[str]:
    out = []
    if rng.random() < 0.5:
        out.append("common")
    if rng.random() < 0.1:
        out.append("middling")
    if (v, i) in {(1, 3), (4, 7), (6, 0)}:
        out.append("zebra")
    return out


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[int, list[str]]]:
    """Eight videos of transcript lines, OCR items and captions; texts by video id."""
    root = tmp_path_factory.mktemp("fts") / "lib"
    store = Store(root)
    rng = np.random.default_rng(3)
    texts: dict[int, list[str]] = {}
    for v in range(8):
        w = store.begin_video(root / f"v{v}.mp4", size=1, mtime=1.0, content_hash=f"h{v}")
        rows = [
            {"start": float(i), "end": i + 1.0, "text": sentence(rng, words_for(rng, v, i))}
            for i in range(40)
        ]
        w.add_transcript_lines(rows[:15], language="en")
        w.add_ocr_items([{**r, "score": 0.9} for r in rows[15:30]])
        w.add_captions(rows[30:])
        video = w.commit(duration=40.0, fps=1.0, width=8, height=8, encoder="e", encoder_dim=4)
        texts[video.id] = [r["text"] for r in rows]
    return store, texts


def legacy(store: Store, match: str, video_id: int | None = None, n: int = 50):
    video_sql = " AND video_id = :v" if video_id is not None else ""
    return [
        (r[0], r[1])
        for r in store._db.get()
        .execute(
            "SELECT rowid, bm25(texts_fts) AS s FROM texts_fts WHERE texts_fts MATCH :q"
            f"{video_sql} ORDER BY s LIMIT :n",
            {"q": match, "v": video_id, "n": n},
        )
        .fetchall()
    ]


@pytest.mark.parametrize("words", [["zebra"], ["middling"], ["common"], ["zebra", "middling"]])
def test_exact_when_every_word_is_rare(lib, words):
    store, texts = lib
    db = store._db.get()
    match = " OR ".join(f'"{w}"' for w in words)
    for vid in (None, *list(texts)[:3]):
        want = legacy(store, match, vid)
        got = ranked(db, words, term_cap=10**6, limit=50, video_id=vid)
        assert [round(s, 9) for _, s in got] == [round(s, 9) for _, s in want]
        assert {r for r, _ in got} == {r for r, _ in want} or len(want) == 50


def test_corpus_and_spans(lib):
    store, texts = lib
    db = store._db.get()
    stats = corpus(db)
    assert stats is not None
    assert stats.rows == db.execute("SELECT count(*) FROM texts_fts").fetchone()[0] == 8 * 40
    vid = list(texts)[2]
    spans = video_spans(db, vid)
    inside = [
        r[0]
        for lo, hi, code in spans
        for r in db.execute(
            "SELECT rowid FROM texts_fts WHERE rowid BETWEEN ? AND ? AND rowid % 8 = ?",
            [lo, hi, code],
        )
    ]
    owners = {
        db.execute("SELECT video_id FROM texts_fts WHERE rowid = ?", [r]).fetchone()[0]
        for r in inside
    }
    assert len(inside) == 40 and owners == {vid}


def test_frequent_word_count_estimate(lib):
    store, _ = lib
    db = store._db.get()
    true = db.execute("SELECT count(*) FROM texts_fts WHERE texts_fts MATCH 'common'").fetchone()[0]
    est, newest = term_stats(db, "common", kind_tops(db), probe=30)
    assert 0.6 * true <= est <= 1.5 * true
    assert set(newest) == {2, 3, 4}  # speech, ocr, captions each probed in their id space
    exact, _ = term_stats(db, "common", kind_tops(db), probe=10_000)
    assert exact == true


def test_frequent_words_are_bounded_and_ranked_sensibly(lib):
    store, texts = lib
    db = store._db.get()
    got = ranked(db, ["zebra", "common"], term_cap=5, limit=20)
    top = [
        db.execute("SELECT text FROM texts_fts WHERE rowid = ?", [r]).fetchone()[0] for r, _ in got
    ]
    assert all("zebra" in t for t in top[:3])  # the rare word's rows first
    assert all("zebra" in t or "common" in t for t in top)
    assert len(got) == 20
    # a frequent-only row's score is FTS5's bm25 up to the estimated IDF
    only = [(r, s) for (r, s), t in zip(got, top, strict=True) if "zebra" not in t]
    exact = dict(legacy(store, '"common"', n=10**6))
    for r, s in only:
        if "common common" not in top[[g for g, _ in got].index(r)]:
            assert s == pytest.approx(exact[r], rel=0.35)
    for vid in list(texts)[:4]:
        hits = search_text(db, "common zebra", video_id=vid, k=10, term_cap=5)
        assert hits and {h.video for h in hits} == {str(store.root / f"v{vid - 1}.mp4")}


def test_store_config_cap_reaches_search(tmp_path: Path, lib, monkeypatch):
    store, _ = lib
    monkeypatch.setenv("HOURLENS_FTS_TERM_CAP", "7")
    from hourlens.config import from_env

    assert from_env(StoreConfig).fts_term_cap == 7
    assert store.config.fts_term_cap == StoreConfig().fts_term_cap
    assert [h.text for h in store.search_text("zebra", k=5)] == [
        h.text for h in search_text(store._db.get(), "zebra", k=5, term_cap=10**6)
    ]
