"""Accuracy of the default (learned) extractor on FVC2002 DB1-4 (FVC protocol), when the shared
datasets are present.

Bounds: what the engine reaches (2026-11-29, 0.9 x with no crop margin, in-sample: EER 0.18 / 0.00 /
0.00 / 0.36 %, mean 0.13 %; FNMR at FMR 1 % 0.36 / 0.00 / 0.00 / 1.07 %, mean 0.36 %) with margin for
noise (one FVC genuine error is 0.18 points of EER): they catch a regression of the extractor or the
matcher, not a one-pair drift. The benchmark prints the held-out figures.
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


def test_mean_eer_on_fvc2002_is_near_the_learned_engines(fvc_scores):
    eers = [eer(genuine, impostor) for genuine, impostor, _ in fvc_scores.values()]
    assert np.mean(eers) < 0.005      # engine 0.13 %; SourceAFIS 4.68 %, classical path 2.5 %


@pytest.mark.parametrize("db", sorted(DPI))
def test_each_database_eer_is_below_one_and_a_half_percent(fvc_scores, db):
    genuine, impostor, _ = fvc_scores[db]
    assert eer(genuine, impostor) < 0.015      # engine at most 0.36 % (DB4)


def test_almost_all_mates_pass_at_one_percent_fmr(fvc_scores):
    rates = [fnmr_at_fmr(genuine, all_pairs, 0.01) for genuine, _, all_pairs in fvc_scores.values()]
    assert np.mean(rates) < 0.01      # engine 0.36 %
    assert max(rates) < 0.025         # engine 1.07 % (DB4)
