"""How the learned extractor's detection threshold is chosen and cached by the benches: one set of
low-threshold templates serves every threshold (restricted afterwards), the raw threshold is part of
every cache key, and the robustness harness's --thresholds option accepts only thresholds it can
restrict to."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from bench import _fingerprint_robustness_lodo as harness
from bench import _fingerprint_variants as variants
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.template import Template, make_minutiae


def template_with_qualities(qualities) -> Template:
    """Minutiae in descending network confidence (as the extractor orders them), percent qualities."""
    n = len(qualities)
    minutiae = make_minutiae(np.arange(n, dtype=np.float32) * 10 + 20, np.full(n, 50, np.float32),
                             np.zeros(n, np.float32), np.ones(n, np.uint8), np.array(qualities, np.uint8))
    return Template(minutiae=minutiae, width=300, height=300, dpi=500, quality=80)


def test_a_threshold_keeps_the_minutiae_at_or_above_it():
    raw = template_with_qualities([90, 80, 70, 60, 50, 40, 35, 30, 26, 25, 24, 21, 20])
    assert list(harness.shipped(raw, (0.35, 40)).minutiae["quality"]) == [90, 80, 70, 60, 50, 40, 35]
    assert list(harness.shipped(raw, (0.25, 40)).minutiae["quality"]) == [90, 80, 70, 60, 50, 40, 35, 30, 26, 25]


def test_the_cap_keeps_the_most_confident_minutiae():
    raw = template_with_qualities(list(range(99, 49, -1)))          # 50 minutiae, 99 down to 50
    kept = harness.shipped(raw, (0.25, 40)).minutiae["quality"]
    assert len(kept) == 40 and kept.min() == 60


def test_too_few_minutiae_above_the_threshold_is_a_refusal():
    raw = template_with_qualities([90, 80, 70, 30, 30, 30, 30, 30])
    assert harness.shipped(raw, (0.35, 40)) is None                 # 3 left: below MIN_MINUTIAE
    assert len(harness.shipped(raw, (0.25, 40)).minutiae) == 8


def test_without_a_cut_the_shipped_threshold_and_cap_apply():
    raw = template_with_qualities([90, 80, 70, 60, 50, 40, 30, 25, 24, 20])
    expected = [q for q in [90, 80, 70, 60, 50, 40, 30, 25, 24, 20] if q >= round(L.QUALITY_THRESHOLD * 100)]
    assert list(harness.shipped(raw).minutiae["quality"]) == expected[:L.MAX_MINUTIAE]


def test_the_shipped_threshold_lies_inside_the_grids_the_benches_choose_from():
    assert variants.RAW_THRESHOLD <= L.QUALITY_THRESHOLD
    assert L.QUALITY_THRESHOLD in variants.THRESHOLDS


def test_the_raw_threshold_is_part_of_the_template_cache_key(monkeypatch):
    before = variants.settings_key(variants.shipped())
    monkeypatch.setattr(variants, "RAW_THRESHOLD", 0.3)
    assert variants.settings_key(variants.shipped()) != before


def test_the_thresholds_option_keeps_the_order_given():
    assert harness.thresholds("0.35,0.2,0.25") == (0.35, 0.2, 0.25)


@pytest.mark.parametrize("bad", ["", "x", "0.1", "1", "0.3,,0.4", "0.3;0.4"])
def test_the_thresholds_option_rejects_what_the_cached_templates_cannot_give(bad):
    with pytest.raises(argparse.ArgumentTypeError):
        harness.thresholds(bad)
