"""A learned template extracted at a low detection threshold and cut to a higher one holds exactly the
minutiae that extraction at the higher threshold finds. The bench relies on it: it caches low-threshold
templates and cuts them to every threshold it compares (bench._fingerprint_variants.restrict), so its
figures are those of the extractor as shipped. Thresholds compare in the percents the template stores."""
from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bench._fingerprint_variants import RAW_CAP, RAW_THRESHOLD, restrict
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned, percent, template_from_output

SIDE = 12


def _template(out, threshold, cap):
    return template_from_output(out, 0, 0, 1.0, 0, 0, (SIDE, SIDE), 500.0, 150.0, threshold, cap)


def _same_minutiae(a, b):
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a.minutiae, b.minutiae))


# Confidences gathered around the percent boundaries (0.245-0.255 and the like), where a threshold on
# the float confidence and one on the stored percent used to disagree.
confidences = st.one_of(st.floats(0.0, 1.0, width=32),
                        st.tuples(st.integers(20, 60), st.floats(-0.006, 0.006)).map(
                            lambda pair: np.float32(pair[0] / 100 + pair[1])))


@settings(max_examples=200, deadline=None)
@given(quality=arrays(np.float32, (SIDE, SIDE), elements=confidences),
       threshold=st.sampled_from([0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]), cap=st.sampled_from([20, 40]))
def test_cutting_a_low_threshold_template_equals_extracting_at_the_higher_threshold(quality, threshold, cap):
    out = np.zeros((SIDE, SIDE, 4), np.float32)
    out[..., 1] = np.linspace(0, 3, SIDE * SIDE, dtype=np.float32).reshape(SIDE, SIDE)
    out[..., 2] = 0.7
    out[..., 3] = quality
    cut = restrict(_try(_template, out, RAW_THRESHOLD, RAW_CAP), threshold, cap)
    extracted = _try(_template, out, threshold, cap)
    assert _same_minutiae(cut, extracted)
    if extracted is not None and threshold == L.QUALITY_THRESHOLD:
        assert cut.quality == extracted.quality


def _try(make, *args):
    from matcher.fingerprint.errors import LowQualityError

    try:
        return make(*args)
    except LowQualityError:
        return None


def test_a_stored_percent_reaches_the_threshold_exactly_when_the_minutia_is_kept():
    out = np.zeros((SIDE, SIDE, 4), np.float32)
    values = np.float32([0.2449, 0.2451, 0.25, 0.2549, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    out[0, :values.size, 3] = values
    template = _template(out, 0.25, 40)
    assert sorted(template.minutiae["quality"].tolist()) == sorted(percent(values[1:]).tolist())
    assert min(template.minutiae["quality"]) == 25


def test_on_real_prints_the_cut_template_is_the_extracted_one(tests_data):
    for name, dpi in (("DB1_B_101_1", 500), ("DB2_B_101_1", 569), ("DB1_B_102_1", 500)):
        image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        low = extract_learned(image, dpi, threshold=RAW_THRESHOLD, max_minutiae=RAW_CAP)
        for threshold in (L.QUALITY_THRESHOLD, 0.35):
            shipped = extract_learned(image, dpi, threshold=threshold)
            cut = restrict(low, threshold, L.MAX_MINUTIAE)
            assert np.array_equal(cut.minutiae, shipped.minutiae), (name, threshold)
        assert restrict(low, L.QUALITY_THRESHOLD, L.MAX_MINUTIAE).quality == extract_learned(image, dpi).quality


def test_the_bench_in_sample_rows_get_fp_extract_s_templates(tests_data, tmp_path, monkeypatch):
    from bench._fingerprint_robustness_lodo import shipped_extract
    from matcher import fingerprint as fp

    monkeypatch.setenv("KIOSK_BENCH_CACHE", str(tmp_path))
    for name, dpi in (("DB1_B_101_2", 500), ("DB2_B_101_1", 569)):
        image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        cut, extracted = shipped_extract(image, dpi), fp.extract(image, dpi=dpi)
        assert np.array_equal(cut.minutiae, extracted.minutiae) and cut.quality == extracted.quality, name


THINNED = [("DB3_B", 2, 1), ("DB4_B", 8, 3)]   # thinned as the dry set thins: fp.extract keeps the second look


def thinned(fvc2002, db, finger, impression):
    return cv2.dilate(fvc2002(db, finger, impression), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))


def test_the_curve_s_shipped_row_cut_is_fp_extract_s_template_after_a_second_look(fvc2002):
    from bench._fingerprint_variants import shipped
    from matcher import fingerprint as fp

    for db, finger, impression in THINNED:
        image = thinned(fvc2002, db, finger, impression)
        kept = []
        extracted = fp.extract(image, 500, lambda stage, value: kept.append(value) if stage == "kept" else None)
        cut = restrict(shipped().extract(image, 500), L.QUALITY_THRESHOLD, L.MAX_MINUTIAE)
        assert kept == ["thickened"]
        assert np.array_equal(cut.minutiae, extracted.minutiae) and cut.quality == extracted.quality


def test_the_robustness_harness_gets_fp_extract_s_template_after_a_second_look(fvc2002, tmp_path, monkeypatch):
    from bench._fingerprint_robustness_lodo import shipped_extract
    from matcher import fingerprint as fp

    monkeypatch.setenv("KIOSK_BENCH_CACHE", str(tmp_path))
    for db, finger, impression in THINNED:
        image = thinned(fvc2002, db, finger, impression)
        cut, extracted = shipped_extract(image, 500), fp.extract(image, 500)
        assert np.array_equal(cut.minutiae, extracted.minutiae) and cut.quality == extracted.quality
