"""A robustness set written as one sensor's folder of captures (bench/_fingerprint_whole_sensor.py)."""
import numpy as np
import pytest

from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_whole_sensor as whole
from bench import sensor_accuracy as sensor


@pytest.fixture(scope="module")
def first_impressions(fvc2002):
    """FVC2002 DB1's ten fingers, impressions 1 and 2 (every finger, as the robustness sets draw them)."""
    return {(f, k): fvc2002("DB1_B", f, k) for f in range(1, robustness.FINGERS + 1) for k in (1, 2)}


def test_the_folder_holds_the_robustness_sets_own_degraded_images(first_impressions, tmp_path):
    name = "partial, on the print (60 % window)"
    dpi = whole.write_folder(name, "DB1_B", first_impressions, 500, tmp_path)
    captures = sensor.read_captures(tmp_path)
    probes = robustness.probe_set(name, {"DB1_B": first_impressions}, {"DB1_B": 500}, probes=(1, 2))["DB1_B"]
    assert dpi == 500 and len(captures) == 20
    for (f, k), (image, _) in probes.items():
        assert np.array_equal(captures[str(100 + f), k], image)
    assert captures["103", 2].shape != first_impressions[3, 2].shape


def test_a_rescaled_set_is_written_at_its_stated_resolution(first_impressions, tmp_path):
    dpi = whole.write_folder("rescaled 0.8 (dpi stated)", "DB1_B", first_impressions, 500, tmp_path)
    captures = sensor.read_captures(tmp_path)
    assert dpi == pytest.approx(400)
    assert captures["101", 1].shape == tuple(round(0.8 * side) for side in first_impressions[1, 1].shape)


def test_the_clean_set_writes_the_captures_unchanged(first_impressions, tmp_path):
    assert whole.write_folder(whole.CLEAN, "DB1_B", first_impressions, 500, tmp_path) == 500
    captures = sensor.read_captures(tmp_path)
    assert all(np.array_equal(captures[str(100 + f), k], image) for (f, k), image in first_impressions.items())


def test_a_level_of_a_family_is_written_with_its_sets_seeds(first_impressions, tmp_path):
    name, gentle = "sweep, speed as the real sensor", robustness.sweep_at(0.0)
    whole.write_folder(name, "DB1_B", first_impressions, 500, tmp_path, degrade=gentle)
    captures = sensor.read_captures(tmp_path)
    probes = robustness.probe_set(name, {"DB1_B": first_impressions}, {"DB1_B": 500}, probes=(1, 2),
                                  degrade=gentle)["DB1_B"]
    assert all(np.array_equal(captures[str(100 + f), k], image) for (f, k), (image, _) in probes.items())
    shipped = robustness.probe_set(name, {"DB1_B": first_impressions}, {"DB1_B": 500}, probes=(1,))["DB1_B"]
    assert not np.array_equal(captures["101", 1], shipped[1, 1][0])


def test_a_small_window_asked_for_replaces_the_small_dry_sensors_window_and_no_other_set(first_impressions,
                                                                                          tmp_path):
    larger = robustness.small_dry_at(robustness.DRY_AS_SENSOR, window=0.9)
    assert whole.degradation_for(whole.SMALL_DRY, larger) is larger
    assert whole.degradation_for("dry", larger) is None and whole.degradation_for(whole.SMALL_DRY, None) is None
    whole.write_folder(whole.SMALL_DRY, "DB1_B", first_impressions, 500, tmp_path,
                       whole.degradation_for(whole.SMALL_DRY, larger))
    h, w = first_impressions[1, 1].shape
    assert sensor.read_captures(tmp_path)["101", 1].shape == (int(h * 0.9), int(w * 0.9))
