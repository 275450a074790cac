"""1:1 matching: mates score above non-mates, invariance to rotation/translation, calibration."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from matcher import fingerprint as fp
from matcher.fingerprint import calibration
from matcher.fingerprint.template import MINUTIA_DTYPE


def moved(tpl: fp.Template, degrees: float, dx: float, dy: float) -> fp.Template:
    """The same minutiae rotated about the image centre (counter-clockwise on screen) and shifted."""
    m = tpl.minutiae
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    cx, cy = tpl.width / 2, tpl.height / 2
    out = np.zeros(m.size, MINUTIA_DTYPE)
    out["x"] = cx + c * (m["x"] - cx) + s * (m["y"] - cy) + dx
    out["y"] = cy - s * (m["x"] - cx) + c * (m["y"] - cy) + dy
    out["angle"] = np.mod(m["angle"] + a, 2 * math.pi)
    out["kind"], out["quality"] = m["kind"], m["quality"]
    return fp.Template(out, tpl.width, tpl.height, tpl.dpi, tpl.quality)


def test_same_finger_scores_above_different_finger(prints):
    assert fp.compare(prints["a1"], prints["a2"]) > fp.compare(prints["a1"], prints["b1"])


def test_same_finger_passes_a_strict_threshold_and_different_finger_fails_a_lax_one(prints):
    assert fp.compare(prints["a1"], prints["a2"]) >= fp.threshold_for_fmr(1e-4)
    assert fp.compare(prints["a1"], prints["b1"]) < fp.threshold_for_fmr(1e-2)


def test_a_template_matches_itself_rotated_and_shifted(prints):
    original = prints["a1"]
    turned = moved(original, 37.0, 25.0, -18.0)
    assert fp.compare(original, turned) >= fp.threshold_for_fmr(1e-6)


def test_score_against_a_mate_survives_rotation_and_translation_of_the_probe(prints):
    reference = fp.compare_raw(prints["a2"], prints["a1"])
    for degrees, dx, dy in [(90.0, 0.0, 0.0), (-45.0, 30.0, 10.0), (180.0, -20.0, 40.0)]:
        score = fp.compare_raw(prints["a2"], moved(prints["a1"], degrees, dx, dy))
        # Only float rounding of the moved coordinates may change the raw similarity.
        assert score == pytest.approx(reference, rel=0.05), (degrees, dx, dy)


def test_compare_is_symmetric_enough(prints):
    a, b = prints["a1"], prints["a2"]
    assert fp.compare(a, b) == pytest.approx(fp.compare(b, a), rel=0.1)


def test_templates_of_different_resolutions_compare(prints):
    # Same finger number in two databases is not the same finger: a low, finite score.
    score = fp.compare(prints["a1"], prints["c1"])
    assert 0.0 <= score < fp.threshold_for_fmr(1e-3)


def test_empty_template_matches_nothing(prints):
    empty = fp.Template(np.zeros(0, MINUTIA_DTYPE), 300, 300, 500.0, 0)
    assert fp.compare(empty, prints["a1"]) == 0.0


def test_threshold_for_fmr_follows_minus_ten_log10():
    assert fp.threshold_for_fmr(1e-4) == pytest.approx(40.0)
    assert fp.threshold_for_fmr(1e-2) == pytest.approx(20.0)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_threshold_for_fmr_rejects_impossible_rates(bad):
    with pytest.raises(ValueError):
        fp.threshold_for_fmr(bad)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_calibration_is_monotone(a, b):
    low, high = sorted((a, b))
    assert calibration.calibrated(low) <= calibration.calibrated(high)


@given(st.floats(0.0, 1.0))
def test_calibrated_score_is_the_modelled_fmr_in_decibels(raw):
    score = calibration.calibrated(raw)
    assert 0.0 <= score <= calibration.MAX_SCORE
    if score < calibration.MAX_SCORE:
        assert score == pytest.approx(-10 * math.log10(calibration.fmr_of_raw(raw)), abs=1e-6)


def test_array_and_scalar_calibration_agree():
    raws = np.linspace(0, 1, 101)
    assert np.allclose(calibration.calibrated_array(raws), [calibration.calibrated(r) for r in raws])


def test_tail_fit_recovers_a_power_law_tail():
    rng = np.random.default_rng(3)
    scores = 0.01 * rng.random(200_000) ** (-1 / 8.0)   # survival (s / 0.01) ** -8
    fit = calibration.fit_tail(scores)
    assert fit["exponent"] == pytest.approx(8.0, rel=0.1)


def test_tail_fit_places_the_body_knots_at_the_asked_quantiles():
    scores = np.linspace(0, 1, 10_001)
    fit = calibration.fit_tail(scores, tail_fraction=0.01, body_fmrs=(0.5,))
    assert fit["body_knots"][1][0] == pytest.approx(0.5, abs=1e-3)
    assert fit["tail_start"] == pytest.approx(0.99, abs=1e-3)
