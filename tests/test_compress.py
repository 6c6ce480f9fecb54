"""Dynamic compression budget and MA-LMM memory bank compression."""

from __future__ import annotations

import numpy as np
import pytest

from hourlens.indexer.compress import (
    busyness,
    compression_rates,
    medoid,
    memory_bank_compress,
    memory_budget,
    summary_token,
)


def test_budget_formula():
    assert memory_budget(10, 4) == 3
    assert memory_budget(1, 8) == 1
    assert memory_budget(0, 8) == 1
    assert memory_budget(16, 2) == 8


def test_busy_segments_get_smaller_alpha():
    reference = np.linspace(0.0, 0.5, 100)
    alphas = compression_rates(np.array([0.0, 0.25, 0.6]), reference, alpha_min=2, alpha_max=12)
    assert alphas[0] == pytest.approx(12)
    assert alphas[2] == pytest.approx(2)
    assert alphas[0] > alphas[1] > alphas[2]
    assert busyness(np.array([1.0, 1.0])) == pytest.approx(0.0)


def test_mbc_merges_most_similar_adjacent_pair_first():
    a, b, c = np.eye(3)
    feats = np.stack([a, a * 0.99 + b * 0.01, b, c])
    out = memory_bank_compress(feats, 3)
    assert out.groups.tolist() == [[0, 2], [2, 3], [3, 4]]
    assert out.counts.tolist() == [2, 1, 1]
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, rtol=1e-5)


def test_mbc_groups_are_contiguous_and_complete():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(37, 16))
    for k in (1, 5, 37, 100):
        out = memory_bank_compress(feats, k)
        assert len(out.vectors) == min(k, 37)
        assert out.groups[0, 0] == 0 and out.groups[-1, 1] == 37
        assert np.all(out.groups[1:, 0] == out.groups[:-1, 1])
        assert out.counts.sum() == 37


def test_mbc_memory_is_mean_of_its_frames():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(12, 8))
    out = memory_bank_compress(feats, 4)
    for vec, (i0, i1) in zip(out.vectors, out.groups, strict=True):
        mean = feats[i0:i1].mean(axis=0)
        np.testing.assert_allclose(vec, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)


def test_scene_structure_recovered():
    rng = np.random.default_rng(2)
    bases = rng.normal(size=(3, 32))
    feats = np.concatenate([b + 0.05 * rng.normal(size=(10, 32)) for b in bases])
    out = memory_bank_compress(feats, 3)
    assert out.groups.tolist() == [[0, 10], [10, 20], [20, 30]]


def test_summary_token_and_medoid():
    feats = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    out = memory_bank_compress(feats, 2)
    tok = summary_token(out)
    assert tok.shape == (2,) and np.linalg.norm(tok) == pytest.approx(1.0, rel=1e-5)
    assert medoid(feats) in (0, 1)
    assert memory_bank_compress(np.zeros((0, 4)), 3).vectors.shape == (0, 4)
