"""Template <-> ISO 19794-2 record through the codec in matcher.fingerprint.iso."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from matcher import fingerprint as fp
from matcher.fingerprint.template import MINUTIA_DTYPE, make_minutiae


@pytest.fixture(scope="module")
def tpl(tests_data):
    image = cv2.imread(str(tests_data / "fingerprint" / "DB1_B_101_1.png"), cv2.IMREAD_GRAYSCALE)
    return fp.extract(image, dpi=500)


def angle_gap(a, b):
    d = np.abs(a - b) % (2 * math.pi)
    return np.minimum(d, 2 * math.pi - d)


def test_iso_round_trip_keeps_minutiae_size_and_quality(tpl):
    back = fp.Template.from_iso(tpl.to_iso())
    assert (back.width, back.height, back.quality) == (tpl.width, tpl.height, tpl.quality)
    assert back.dpi == pytest.approx(500, abs=1.0)   # the record stores pixels per cm
    assert len(back.minutiae) == len(tpl.minutiae)
    assert np.all(np.abs(back.minutiae["x"] - tpl.minutiae["x"]) <= 0.5)
    assert np.all(np.abs(back.minutiae["y"] - tpl.minutiae["y"]) <= 0.5)
    assert np.all(angle_gap(back.minutiae["angle"], tpl.minutiae["angle"]) <= math.pi / 256 + 1e-6)
    assert np.array_equal(back.minutiae["kind"], tpl.minutiae["kind"])


def test_round_tripped_template_still_matches_its_source(tpl):
    back = fp.Template.from_iso(tpl.to_iso())
    assert fp.compare(tpl, back) >= fp.threshold_for_fmr(1e-6)


def test_iso_bytes_are_stable_through_a_second_round_trip(tpl):
    data = tpl.to_iso()
    assert fp.Template.from_iso(data).to_iso() == data


def test_garbage_is_a_template_format_error():
    with pytest.raises(fp.TemplateFormatError):
        fp.Template.from_iso(b"FMR\x00 20\x00\x00\x00\x00\x05")


def test_a_bad_record_is_caught_as_any_fingerprint_error_and_still_as_a_value_error():
    from matcher.fingerprint.iso import TemplateFormatError

    assert TemplateFormatError is fp.TemplateFormatError
    for family in (fp.FingerprintError, ValueError):
        with pytest.raises(family, match="format identifier"):
            fp.Template.from_iso(b"XYZ\x00 20\x00" + bytes(30))


def test_repr_does_not_show_minutiae(tpl):
    text = repr(tpl)
    assert str(float(tpl.minutiae["x"][0])) not in text
    assert "minutiae" in text


minutia_lists = st.lists(
    st.tuples(st.integers(0, 399), st.integers(0, 399), st.integers(0, 255), st.sampled_from([1, 2]),
              st.integers(1, 100)),
    min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(minutia_lists, st.integers(0, 100))
def test_any_integer_template_round_trips_exactly(points, quality):
    xs, ys, angles, kinds, qualities = (np.array(c) for c in zip(*points)) if points else ([],) * 5
    minutiae = make_minutiae(np.asarray(xs, np.float32), np.asarray(ys, np.float32),
                             np.asarray(angles, np.float32) * (2 * math.pi / 256),
                             np.asarray(kinds, np.uint8), np.asarray(qualities, np.uint8))
    original = fp.Template(minutiae, 400, 400, 500.0, quality)
    back = fp.Template.from_iso(original.to_iso())
    assert np.array_equal(back.minutiae["x"], original.minutiae["x"])
    assert np.array_equal(back.minutiae["y"], original.minutiae["y"])
    assert np.allclose(back.minutiae["angle"], original.minutiae["angle"], atol=1e-5)
    assert back.quality == quality
