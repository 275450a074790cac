"""Calibration: distance -> FMR tables built from labelled distances, scores = -10 log10(FMR), swappable."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher import face
from matcher.face.active import DEFAULT_CALIBRATION, get_calibration, set_calibration
from matcher.face.calibration import eer
from matcher.face.errors import CalibrationError
from matcher.face.quality import FaceQuality
from matcher.face.calibration import TAIL_MIN_COUNT, CalibrationTable, build_table, fit_tail


@pytest.fixture(scope="module")
def labelled():
    """Distances shaped like the real photos' (genuine ~0.25, impostor ~0.59 +- 0.07), seeded."""
    rng = np.random.default_rng(7)
    return rng.normal(0.25, 0.05, 400), rng.normal(0.59, 0.07, 5000)


@pytest.fixture(scope="module")
def table(labelled):
    return build_table(*labelled, source="test population")


def test_the_table_follows_the_empirical_impostor_rate_where_there_are_enough_pairs(labelled, table):
    _, impostor = labelled
    for d in (0.45, 0.5, 0.55, 0.6):
        empirical = np.mean(impostor <= d)
        assert table.fmr(d) == pytest.approx(empirical, rel=0.08)


def test_below_the_data_the_rate_follows_the_fitted_gaussian_tail(labelled, table):
    _, impostor = labelled
    tail = fit_tail(impostor)
    assert tail.mean == pytest.approx(0.59, abs=0.01) and tail.sd == pytest.approx(0.07, abs=0.01)
    # Far below the sample, the table's slope in log space is the Gaussian's.
    expected = math.log10(0.5 * math.erfc(-(0.30 - 0.59) / (0.07 * math.sqrt(2))))
    assert math.log10(table.fmr(0.30)) == pytest.approx(expected, abs=0.35)


def test_the_table_is_continuous_where_the_tail_joins_the_data(labelled, table):
    join = np.sort(labelled[1])[TAIL_MIN_COUNT - 1]
    steps = np.diff(table.log10_fmr)
    near = [i for i, d in enumerate(table.distances[:-1]) if abs(d - join) < 0.03]
    assert max(steps[near]) < 0.35   # no jump: neighbouring rows differ like the rest of the curve


def test_the_score_is_minus_ten_log10_fmr_and_falls_with_distance(table):
    distances = np.linspace(0, 2, 81)
    scores = table.score(distances)
    assert np.all(np.diff(scores) <= 0)
    assert table.score(0.4) == pytest.approx(-10 * math.log10(table.fmr(0.4)))


@given(st.floats(min_value=1e-12, max_value=0.5))
def test_the_distance_for_a_target_fmr_admits_that_rate(fmr):
    table = DEFAULT_CALIBRATION
    d = table.distance_for_fmr(fmr)
    assert table.fmr(d) == pytest.approx(fmr, rel=1e-6)
    assert table.score(d) == pytest.approx(face.threshold_for_fmr(fmr, table), abs=1e-6)


def test_threshold_for_fmr_is_the_calibrated_score():
    assert face.threshold_for_fmr(1e-4) == pytest.approx(40.0)
    assert face.threshold_for_fmr(1e-6) == pytest.approx(60.0)


@pytest.mark.parametrize("bad", [0.0, -1e-3, 1.5, float("nan"), "1e-4"])
def test_impossible_target_rates_are_refused(bad):
    with pytest.raises(CalibrationError):
        face.threshold_for_fmr(bad)


def test_a_rate_below_the_table_floor_is_refused():
    with pytest.raises(CalibrationError, match="does not reach"):
        face.threshold_for_fmr(1e-20)


def test_a_table_survives_a_json_round_trip(table):
    assert CalibrationTable.from_json(table.to_json()) == table


@pytest.mark.parametrize("text", ["", "[]", '{"version": 2, "kind": "face-distance-fmr"}',
                                  '{"version": 1, "kind": "face-distance-fmr", "distances": [0, 1], "log10_fmr": [0, -1]}'])
def test_broken_table_files_are_refused(text):
    with pytest.raises(CalibrationError):
        CalibrationTable.from_json(text)


def test_too_few_impostors_or_swapped_labels_are_refused(labelled):
    genuine, impostor = labelled
    with pytest.raises(CalibrationError, match="impostor"):
        build_table(genuine, impostor[:50])
    with pytest.raises(CalibrationError, match="swapped"):
        build_table(impostor, genuine[:200].tolist() * 2)


def test_a_deployment_swaps_in_its_own_table_and_compare_follows_it(table):
    a = face.Template(vector=np.eye(128, dtype=np.float32)[0], quality=FaceQuality(200, 120, 0, 300, 0, 0))
    b_vec = np.eye(128, dtype=np.float32)[0] * math.cos(0.3) + np.eye(128, dtype=np.float32)[1] * math.sin(0.3)
    b = face.Template(vector=b_vec, quality=a.quality)
    stricter = CalibrationTable(table.distances, tuple(min(0.0, x + 2.0) for x in table.log10_fmr), "stricter")
    before = face.compare(a, b)
    previous = set_calibration(stricter)
    try:
        assert get_calibration() is stricter
        assert face.compare(a, b) < before
        assert face.compare(a, b, calibration=previous) == pytest.approx(before)
    finally:
        set_calibration(previous)


def test_the_default_table_says_where_it_came_from():
    assert "deepface-13" in DEFAULT_CALIBRATION.source
    assert DEFAULT_CALIBRATION.min_fmr <= 1e-12


def test_eer_of_separated_and_overlapping_distances():
    assert eer([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])[0] == 0.0
    rate, _ = eer([0.1, 0.2, 0.55, 0.3], [0.5, 0.6, 0.7, 0.8])
    assert rate == pytest.approx(0.25)


@pytest.mark.dataset
def test_dataset_labelled_pairs_separate_at_the_default_operating_point(datasets):
    import csv

    import cv2

    folder = datasets / "faces" / "deepface-13"
    with open(folder / "pairs.csv", newline="") as f:
        pairs = [(r["file_a"], r["file_b"], r["same"] == "1") for r in csv.DictReader(f)]
    cache: dict[str, face.Template] = {}

    def tpl(name: str) -> face.Template:
        if name not in cache:
            cache[name] = face.encode(cv2.cvtColor(cv2.imread(str(folder / name)), cv2.COLOR_BGR2RGB))
        return cache[name]

    scores = [(face.compare(tpl(a), tpl(b)), same) for a, b, same in pairs]
    genuine = [s for s, same in scores if same]
    impostor = [s for s, same in scores if not same]
    threshold = face.threshold_for_fmr(1e-2)
    assert np.mean([s < threshold for s in genuine]) <= 0.02      # FNMR at FMR 1 %
    assert np.mean([s >= threshold for s in impostor]) <= 0.02    # measured FMR near its target
    assert np.median(genuine) > face.threshold_for_fmr(1e-5)
