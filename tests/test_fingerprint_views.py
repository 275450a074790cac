"""A finger enrolled from several impressions: one ISO record with a view per impression, and a probe
compared with the best of them at an honest false match rate."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from matcher import fingerprint as fp
from matcher.fingerprint import calibration, iso
from matcher.fingerprint.template import make_minutiae


def same_minutiae(a: fp.Template, b: fp.Template) -> bool:
    return (np.array_equal(a.minutiae["x"], b.minutiae["x"]) and np.array_equal(a.minutiae["y"], b.minutiae["y"])
            and np.allclose(a.minutiae["angle"], b.minutiae["angle"], atol=1e-5)
            and np.array_equal(a.minutiae["kind"], b.minutiae["kind"]))


def test_every_impression_comes_back_from_one_record_in_order_with_its_quality(prints):
    views = [prints["a1"], prints["a2"], prints["b1"]]
    back = fp.views_from_iso(fp.views_to_iso(views))
    assert len(back) == 3
    for original, read in zip(views, back):
        assert same_minutiae(read, fp.Template.from_iso(original.to_iso()))
        assert read.quality == original.quality


def test_the_record_numbers_its_views_and_is_as_large_as_the_largest_impression(prints):
    small = fp.Template(prints["b1"].minutiae, 300, 300, prints["b1"].dpi, prints["b1"].quality)
    record = iso.decode(fp.views_to_iso([prints["a1"], small]))
    assert [view.view_number for view in record.views] == [0, 1]
    assert (record.width, record.height) == (prints["a1"].width, prints["a1"].height)


def test_a_one_view_record_is_one_impression_and_a_first_view_is_what_from_iso_reads(prints):
    assert len(fp.views_from_iso(prints["a1"].to_iso())) == 1
    first = fp.Template.from_iso(fp.views_to_iso([prints["a2"], prints["a1"]]))
    assert same_minutiae(first, fp.Template.from_iso(prints["a2"].to_iso()))


def test_impressions_at_different_resolutions_are_refused(prints):
    with pytest.raises(fp.TemplateFormatError, match="resolution"):
        fp.views_to_iso([prints["a1"], prints["c1"]])      # 500 and 569 dpi


@pytest.mark.parametrize("count", [0, 17])
def test_a_record_holds_one_to_sixteen_views(prints, count):
    with pytest.raises(fp.TemplateFormatError, match="1 to 16 views"):
        fp.views_to_iso([prints["a1"]] * count)


def test_a_record_whose_views_are_of_different_fingers_is_refused(prints):
    record = iso.decode(fp.views_to_iso([prints["a1"], prints["b1"]]))
    thumb, index = (view.__class__(**{**view.__dict__, "position": position})
                    for view, position in zip(record.views, (1, 2)))
    mixed = iso.encode_iso(record.__class__(**{**record.__dict__, "views": (thumb, index)}))
    with pytest.raises(fp.TemplateFormatError, match="different fingers"):
        fp.views_from_iso(mixed)


def test_a_truncated_record_is_a_format_error(prints):
    data = fp.views_to_iso([prints["a1"], prints["b1"]])
    with pytest.raises(fp.TemplateFormatError):
        fp.views_from_iso(data[:-7])


def test_one_view_scores_as_the_template_alone(prints):
    assert fp.compare(prints["a2"], [prints["a1"]]) == fp.compare(prints["a2"], prints["a1"])


def test_the_best_view_counts_and_each_view_is_one_more_chance_for_an_impostor(prints):
    raw = fp.compare_raw(prints["a2"], prints["a1"])
    score = fp.compare(prints["a2"], [prints["b1"], prints["a1"]])
    assert score == calibration.calibrated_best_of(raw, 2)
    # in the tail, two chances cost exactly 10 log10 2 points against the mate alone
    assert score == pytest.approx(fp.compare(prints["a2"], prints["a1"]) - 10 * math.log10(2), abs=1e-9)
    assert score >= fp.threshold_for_fmr(1e-4)


def test_an_enrolled_finger_with_no_views_is_an_error(prints):
    with pytest.raises(ValueError):
        fp.compare(prints["a2"], [])


def test_best_of_k_calibration_never_goes_below_zero_and_needs_one_chance_at_least():
    assert calibration.calibrated_best_of(0.0, 5) == 0.0
    assert calibration.calibrated_best_of(0.016, 16) == 0.0      # FMR 16 x 0.2 is capped at 1
    with pytest.raises(ValueError):
        calibration.calibrated_best_of(0.03, 0)


def test_best_of_one_is_the_single_comparison_calibration():
    for raw in np.linspace(0.0, 0.2, 41):
        assert calibration.calibrated_best_of(float(raw), 1) == pytest.approx(calibration.calibrated(float(raw)))


def integer_template(points: list[tuple[int, int, int, int, int]]) -> fp.Template:
    """A template whose minutiae sit exactly on the record's grid (pixels, 256ths of a turn)."""
    x, y, angle, kind, quality = (np.array([p[i] for p in points]) for i in range(5))
    minutiae = make_minutiae(x.astype(np.float32), y.astype(np.float32),
                             angle.astype(np.float32) * np.float32(2 * math.pi / 256), kind.astype(np.uint8),
                             quality.astype(np.uint8))
    return fp.Template(minutiae, 400, 400, 500.0, len(points))


templates = st.lists(st.tuples(st.integers(0, 399), st.integers(0, 399), st.integers(0, 255),
                               st.sampled_from([1, 2]), st.integers(1, 100)),
                     min_size=0, max_size=40).map(integer_template)


@settings(max_examples=40, deadline=None)
@given(st.lists(templates, min_size=1, max_size=16))
def test_any_views_round_trip_exactly(views):
    back = fp.views_from_iso(fp.views_to_iso(views))
    assert len(back) == len(views)
    for original, read in zip(views, back):
        assert same_minutiae(read, original)
        assert read.quality == original.quality


def test_best_of_takes_calibrated_scores_as_the_raw_form_does():
    for raw in (0.0, 0.015, 0.02, 0.03, 0.05):
        for chances in (1, 2, 3, 10):
            assert calibration.best_of(calibration.calibrated(raw), chances) == pytest.approx(
                calibration.calibrated_best_of(raw, chances))
    assert np.allclose(calibration.best_of(np.array([50.0, 3.0]), np.array([10, 4])), [40.0, 0.0])
    with pytest.raises(ValueError):
        calibration.best_of(40.0, 0)
