"""Accuracy on FVC2002 DB1-4 (FVC protocol), when the shared datasets are present.

The bound is modest on purpose (the benchmark prints the real figures): it catches a broken
pipeline, not a 0.1-point regression.
"""
from __future__ import annotations

import numpy as np
import pytest

from bench.fingerprint import DPI, database_scores, eer, extract_all, fnmr_at_fmr, load_database

pytestmark = [pytest.mark.dataset, pytest.mark.slow]


@pytest.fixture(scope="module")
def fvc_scores(datasets):
    root = datasets / "fingerprints" / "fvc2002"
    scores = {}
    for db in sorted(DPI):
        templates = extract_all(load_database(root, db), DPI[db], [])
        scores[db] = database_scores(templates)
    return scores


def test_mean_eer_on_fvc2002_beats_sourceafis(fvc_scores):
    eers = [eer(genuine, impostor) for genuine, impostor, _ in fvc_scores.values()]
    assert np.mean(eers) < 0.0468      # SourceAFIS 4.68 %


@pytest.mark.parametrize("db", sorted(DPI))
def test_each_database_eer_is_below_ten_percent(fvc_scores, db):
    genuine, impostor, _ = fvc_scores[db]
    assert eer(genuine, impostor) < 0.10


def test_most_mates_pass_at_one_percent_fmr(fvc_scores):
    rates = [fnmr_at_fmr(genuine, all_pairs, 0.01) for genuine, _, all_pairs in fvc_scores.values()]
    assert np.mean(rates) < 0.10
