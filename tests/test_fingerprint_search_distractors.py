"""The 1:N bench's synthetic distractors (bench/_fingerprint_search.distort): thinned copies of real
templates that never fall below the enrolment floor, since enrolment refuses such prints."""
from __future__ import annotations

import numpy as np

from bench._fingerprint_search import distort
from matcher.fingerprint import parameters
from matcher.fingerprint.template import Template, make_minutiae


def template_of(n: int) -> Template:
    rng = np.random.default_rng(n)
    minutiae = make_minutiae(rng.uniform(40, 260, n).astype(np.float32), rng.uniform(40, 260, n).astype(np.float32),
                             rng.uniform(0, 2 * np.pi, n).astype(np.float32), np.ones(n, np.uint8),
                             np.full(n, 80, np.uint8))
    return Template(minutiae=minutiae, width=300, height=300, dpi=500, quality=80)


def test_a_distractor_of_a_small_template_keeps_at_least_the_enrolment_floor():
    rng = np.random.default_rng(0)
    for n in range(parameters.MIN_MINUTIAE, parameters.MIN_MINUTIAE + 4):
        counts = [len(distort(template_of(n), rng).minutiae) for _ in range(200)]
        assert min(counts) >= parameters.MIN_MINUTIAE, n


def test_a_distractor_of_a_full_template_drops_a_tenth_to_a_third_of_its_minutiae():
    rng = np.random.default_rng(1)
    counts = np.array([len(distort(template_of(40), rng).minutiae) for _ in range(300)])
    assert counts.max() <= 40                 # each minutia dropped at random: the count varies
    assert 28 <= counts.mean() <= 36          # 10-30 % dropped: 20 % on average, 32 kept
