"""1:N: the gallery finds the mate, and its pre-filtered search agrees with exhaustive search."""
from __future__ import annotations

import math

import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint.template import MINUTIA_DTYPE


def variant(tpl: fp.Template, rng: np.random.Generator) -> fp.Template:
    """A synthetic other person: rotated, shifted, 20 % of minutiae dropped, jittered."""
    m = tpl.minutiae[rng.random(tpl.minutiae.size) >= 0.2]
    a = rng.uniform(-math.pi, math.pi)
    c, s = math.cos(a), math.sin(a)
    out = np.zeros(m.size, MINUTIA_DTYPE)
    out["x"] = c * m["x"] + s * m["y"] + rng.uniform(-40, 40) + rng.normal(0, 2, m.size)
    out["y"] = -s * m["x"] + c * m["y"] + rng.uniform(-40, 40) + rng.normal(0, 2, m.size)
    out["angle"] = np.mod(m["angle"] + a + rng.normal(0, 0.08, m.size), 2 * math.pi)
    out["kind"], out["quality"] = m["kind"], m["quality"]
    return fp.Template(out, tpl.width, tpl.height, tpl.dpi, tpl.quality)


@pytest.fixture(scope="module")
def gallery(prints):
    rng = np.random.default_rng(11)
    others = [variant(prints[k], rng) for k in ("b1", "c1") for _ in range(150)]
    templates = others[:120] + [prints["a1"]] + others[120:]
    return fp.Gallery(templates), 120


def test_search_finds_the_mate_first(prints, gallery):
    g, mate = gallery
    hits = g.search(prints["a2"], top_k=5)
    assert hits[0][0] == mate
    assert hits[0][1] >= fp.threshold_for_fmr(1e-4)


def test_search_results_are_sorted_best_first(prints, gallery):
    g, _ = gallery
    scores = [s for _, s in g.search(prints["a2"], top_k=10)]
    assert scores == sorted(scores, reverse=True)
    assert len(scores) == 10


def test_prefiltered_search_equals_exhaustive_search_on_a_small_gallery(prints, gallery):
    g, _ = gallery
    for probe in (prints["a2"], prints["b1"]):
        indexed = g.search(probe, top_k=5, candidates=60)
        exhaustive = g.search_exhaustive([probe], top_k=5)[0]
        assert indexed[0] == exhaustive[0]


def test_gallery_scores_equal_one_to_one_scores(prints, gallery):
    g, mate = gallery
    index, score = g.search(prints["a2"], top_k=1)[0]
    assert score == pytest.approx(fp.compare(prints["a2"], prints["a1"]), abs=1e-6)


def test_append_returns_consecutive_indices(prints):
    g = fp.Gallery()
    assert g.append(prints["a1"]) == 0
    assert g.append(prints["b1"]) == 1
    assert len(g) == 2
    assert g.search(prints["b1"], top_k=1)[0][0] == 1


def test_empty_gallery_finds_nothing(prints):
    assert fp.Gallery().search(prints["a1"]) == []


def test_prefilter_ranks_the_mate_among_the_first_candidates(prints, gallery):
    g, mate = gallery
    assert mate in set(g.prefilter(prints["a2"], 30).tolist())


def test_memory_per_template_is_compact(prints, gallery):
    g, _ = gallery
    assert g.nbytes() / len(g) < 2048
