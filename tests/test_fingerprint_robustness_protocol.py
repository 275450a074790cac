"""The robustness protocol of bench/_fingerprint_robustness.py: every impression of every finger is
a degraded probe in turn, against the clean other impressions of its finger (genuine) and the clean
first impression of every other finger (impostors); each probe's degradation is its own seeded,
reproducible function of its image; the on-print partial window lies inside the image and on the
print."""
from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest

from bench import _fingerprint_robustness as robustness
from bench._fingerprint_robustness_lodo import probe_impressions
from matcher.fingerprint.segmentation import segment

KEYS = [(f, k) for f in range(1, 11) for k in range(1, 9)]


def synthetic_print(seed: int, size=(240, 220), centre=(110, 130), radius=80) -> np.ndarray:
    """Ridges (period 9 px, as at 500 dpi) on a disc of skin, white background around it."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = 0.3 + 0.1 * seed
    ridges = 128 + 100 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / 9.0)
    on_print = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
    return np.where(on_print, ridges, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def database():
    return {"DB1_B": {key: synthetic_print(i % 5) for i, key in enumerate(KEYS)}}


def test_each_database_has_560_genuine_and_720_impostor_pairs():
    genuine, impostor = robustness.pairs()
    assert len(genuine) == 560 and len(set(genuine)) == 560
    assert len(impostor) == 720 and len(set(impostor)) == 720


def test_every_impression_of_every_finger_is_probed_against_its_seven_other_impressions():
    genuine, _ = robustness.pairs()
    for f, k in KEYS:
        enrolled = [e for (probe, (g, e)) in genuine if probe == (f, k)]
        assert sorted(enrolled) == [e for e in range(1, 9) if e != k]
    assert all(probe[0] == enrolled[0] and probe != enrolled for probe, enrolled in genuine)


def test_impostors_are_every_probe_against_the_first_impression_of_every_other_finger():
    _, impostor = robustness.pairs()
    assert {probe for probe, _ in impostor} == set(KEYS)
    assert all(enrolled[1] == 1 and enrolled[0] != probe[0] for probe, enrolled in impostor)
    assert all(sum(1 for p, _ in impostor if p == key) == 9 for key in KEYS)


def test_a_subset_of_probe_impressions_scales_the_pairs():
    genuine, impostor = robustness.pairs((2,))
    assert (len(genuine), len(impostor)) == (70, 90)


def test_every_set_degrades_all_80_probes_of_a_database(database):
    dpis = {"DB1_B": 500}
    for name in robustness.SETS:
        probes = robustness.probe_set(name, database, dpis)["DB1_B"]
        assert sorted(probes) == KEYS, name
        factor = getattr(robustness.SETS[name], "dpi_factor", 1.0)
        assert all(dpi == 500 * factor for _, dpi in probes.values())
    clean = robustness.clean_probes(database, dpis)["DB1_B"]
    assert all(image is database["DB1_B"][key] for key, (image, _) in clean.items())


def test_a_degraded_probe_is_a_reproducible_function_of_its_own_image(database):
    dpis = {"DB1_B": 500}
    first = robustness.probe_set("noise", database, dpis)["DB1_B"]
    again = robustness.probe_set("noise", database, dpis)["DB1_B"]
    assert all(np.array_equal(first[key][0], again[key][0]) for key in KEYS)
    # Changing, or leaving out, the other probes does not change this one.
    other = {"DB1_B": dict(database["DB1_B"])}
    other["DB1_B"][3, 4] = 255 - other["DB1_B"][3, 4]
    alone = robustness.probe_set("noise", other, dpis, probes=(5,))["DB1_B"]
    assert np.array_equal(alone[2, 5][0], first[2, 5][0])
    # ... while two probes of the same image get noise of their own.
    assert not np.array_equal(first[1, 1][0], first[1, 6][0])


def test_the_on_print_window_lies_inside_the_image_and_on_the_print():
    image = synthetic_print(0)
    mask = segment(image, 500)
    best = robustness.window_shares(mask, int(240 * 0.6), int(220 * 0.6)).max()
    for impression in range(1, 9):
        y, x, h, w = robustness.print_window(image, robustness.probe_rng("t", "DB", 1, impression), 500)
        assert (h, w) == (int(240 * 0.6), int(220 * 0.6))
        assert 0 <= y <= 240 - h and 0 <= x <= 220 - w
        assert mask[y:y + h, x:x + w].mean() >= min(robustness.ON_PRINT_SHARE, best - robustness.ON_PRINT_SLACK)


def test_window_shares_counts_the_foreground_of_every_window_position():
    mask = np.zeros((6, 5), bool)
    mask[2:4, 1:3] = True
    shares = robustness.window_shares(mask, 2, 2)
    assert shares.shape == (5, 4)
    assert shares[2, 1] == 1.0 and shares[0, 0] == 0.0 and shares[1, 1] == 0.5


def test_the_ratio_floor_is_one_genuine_pair_of_one_database():
    assert robustness.ratio_floor(560, 4) == pytest.approx(100 / 2240)


def test_the_lodo_harness_probe_option_rejects_impressions_outside_1_to_8():
    assert probe_impressions("all") == tuple(range(1, 9))
    assert probe_impressions("2") == (2,)
    assert probe_impressions("3,1") == (1, 3)
    for bad in ("0", "9", "x", "", "1,,2x"):
        with pytest.raises(argparse.ArgumentTypeError):
            probe_impressions(bad)


@pytest.fixture(scope="module")
def fvc_db1_finger(datasets):
    folder = datasets / "fingerprints" / "fvc2002" / "DB1_B"
    if not folder.is_dir():
        pytest.skip("FVC2002 DB1_B is absent")
    return [cv2.imread(str(folder / f"101_{k}.tif"), cv2.IMREAD_GRAYSCALE) for k in range(1, 9)]


def test_on_a_real_fvc_print_the_on_print_window_is_mostly_on_the_print(fvc_db1_finger):
    shares = []
    for k, image in enumerate(fvc_db1_finger, start=1):
        y, x, h, w = robustness.print_window(image, robustness.probe_rng("partial", "DB1_B", 1, k), 500)
        assert 0 <= y and y + h <= image.shape[0] and 0 <= x and x + w <= image.shape[1]
        shares.append(segment(image, 500)[y:y + h, x:x + w].mean())
    assert min(shares) > 0.6 and np.median(shares) >= 0.85
    # The window is the print, not the background: its pixels are darker than the image's border.
    window = robustness.partial_on_print(fvc_db1_finger[0], robustness.probe_rng("partial", "DB1_B", 1, 1), 500)
    border = np.concatenate([fvc_db1_finger[0][:8].ravel(), fvc_db1_finger[0][-8:].ravel()])
    assert window.mean() < border.mean()


def test_the_interval_resamples_fingers_so_one_bad_finger_spreads_it():
    from bench._error_rates import eer

    fine = (np.full(56, 50.0), np.full(72, 5.0))
    bad = (np.concatenate([np.full(28, 50.0), np.full(28, 1.0)]), np.full(72, 5.0))
    by_finger = {"DB1": {f: (bad if f == 3 else fine) for f in range(1, 11)}}
    point = eer(np.concatenate([by_finger["DB1"][f][0] for f in range(1, 11)]),
                np.concatenate([by_finger["DB1"][f][1] for f in range(1, 11)])) * 100
    low, high = robustness.finger_interval(by_finger, eer)
    assert low == 0.0 < point < high        # draws without finger 3 fail nothing, draws with it twice fail more
    assert robustness.finger_interval({"DB1": {f: fine for f in range(1, 11)}}, eer) == (0.0, 0.0)



def test_a_set_equal_to_its_clean_probes_has_ratio_1_on_every_draw_that_fails_anything():
    from bench._error_rates import eer

    fine = (np.full(56, 50.0), np.full(72, 5.0))
    bad = (np.concatenate([np.full(28, 50.0), np.full(28, 1.0)]), np.full(72, 5.0))
    by_finger = {"DB1": {f: (bad if f == 3 else fine) for f in range(1, 11)}}
    # A set exactly as its clean probes: every draw that fails anything fails it on both (ratio 1);
    # a draw without finger 3 fails nothing on either, and the clean side falls back to the floor.
    draws = robustness.finger_draws(by_finger)
    means = robustness.drawn_mean_eers(by_finger, draws, eer)
    low, high = robustness.ratio_interval(means, means, floor=0.1)
    assert low == 0.0 and high == 1.0
    assert all(mean > 0 for draw, mean in zip(draws, means) if 3 in draw["DB1"])


def test_a_set_failing_where_the_clean_probes_fail_nothing_is_divided_by_the_floor():
    from bench._error_rates import eer

    fine = (np.full(56, 50.0), np.full(72, 5.0))
    bad = (np.concatenate([np.full(28, 50.0), np.full(28, 1.0)]), np.full(72, 5.0))
    clean = {"DB1": {f: fine for f in range(1, 11)}}
    degraded = {"DB1": {f: bad for f in range(1, 11)}}       # half of every finger's genuine pairs fail
    draws = robustness.finger_draws(clean)
    low, high = robustness.ratio_interval(robustness.drawn_mean_eers(degraded, draws, eer),
                                          robustness.drawn_mean_eers(clean, draws, eer), floor=0.5)
    assert low == high == pytest.approx(eer(bad[0], bad[1]) * 100 / 0.5)

def _former_sweep(image, rng):
    """The sweep set's generator before its speed had an amplitude (kept here as the reference)."""
    h, w = image.shape
    speed = np.clip(1 + np.cumsum(rng.normal(0, 0.03, h)), 0.7, 1.3)
    source_rows = np.clip(np.cumsum(speed) - speed[0], 0, h - 1)
    rows = np.clip(np.round(source_rows).astype(int), 0, h - 1)
    out = image[rows].copy()
    for start in range(0, h, 16):
        out[start:start + 16] = np.roll(out[start:start + 16], int(rng.integers(-2, 3)), axis=1)
        out[start] = np.clip(out[start].astype(np.int16) + 40, 0, 255).astype(np.uint8)
    return out


def test_the_sweep_set_at_amplitude_1_is_the_former_sweep_set_byte_for_byte(fvc_db1_finger):
    for k, image in enumerate(fvc_db1_finger[:3]):
        expected = _former_sweep(image, robustness.probe_rng("sweep artefacts", "DB1_B", 1, k + 1))
        got = robustness.SETS["sweep artefacts"](image, robustness.probe_rng("sweep artefacts", "DB1_B", 1, k + 1))
        assert np.array_equal(got, expected)


def test_at_amplitude_0_the_sweep_reads_every_row_once_only_shifted_sideways_and_seamed(fvc_db1_finger):
    image = fvc_db1_finger[0]
    out = robustness.sweep_at(0.0)(image, robustness.probe_rng("sweep, speed as the real sensor", "DB1_B", 1, 1))
    for r in range(image.shape[0]):
        if r % 16 == 0:
            continue        # a seam row: brightened
        assert any(np.array_equal(out[r], np.roll(image[r], s)) for s in range(-2, 3)), r


def test_the_set_standing_for_the_real_sweep_sensor_uses_the_calibrated_amplitude():
    degrade = robustness.SETS["sweep, speed as the real sensor"]
    assert degrade.amplitude == robustness.SWEEP_AS_SENSOR < robustness.SETS["sweep artefacts"].amplitude == 1.0


def test_the_calibration_picks_the_level_whose_classical_ratio_is_nearest_the_real_sensor():
    from bench._fingerprint_sensor_calibration import nearest

    found = {1.0: (17.4, 6.1), 0.5: (10.9, 3.8), 0.25: (8.9, 3.1), 0.0: (7.2, 2.5)}
    assert nearest(found, 8.6 / 2.8) == 0.25
    assert nearest({0.5: (0, 3.5), 0.25: (0, 2.5)}, 3.0) == 0.5      # a tie goes to the harsher set


def test_the_calibration_measures_the_small_dry_sensor_at_each_window_asked_for_and_the_sweep_as_it_is():
    from bench._fingerprint_sensor_calibration import SENSORS, variants

    windows = [sensor.family(0.5).window for sensor, _ in variants(SENSORS["small dry"], [0.75, 0.9])]
    assert windows == [0.75, 0.9]
    assert variants(SENSORS["sweep"], [0.9]) == [(SENSORS["sweep"], "")]
    assert variants(SENSORS["small dry"], None) == [(SENSORS["small dry"], "")]


def test_the_dry_set_is_dry_skin_at_strength_1_and_strength_0_leaves_the_print_as_it_was(fvc_db1_finger):
    image = fvc_db1_finger[0]
    rng = robustness.probe_rng("dry", "DB1_B", 1, 1)
    thin = cv2.dilate(image, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))).astype(np.float32)
    blotches = cv2.GaussianBlur(rng.random(image.shape).astype(np.float32), (0, 0), 6)
    blotches = (blotches - blotches.mean()) / (blotches.std() + 1e-6)
    expected = np.clip(np.where(blotches > 0.8, thin + 70, thin), 0, 255).astype(np.uint8)
    assert np.array_equal(robustness.SETS["dry"](image, robustness.probe_rng("dry", "DB1_B", 1, 1)), expected)
    assert np.array_equal(robustness.dry_at(0.0)(image, robustness.probe_rng("dry", "DB1_B", 1, 1)), image)


def test_the_small_dry_sensor_sees_the_on_print_window_of_a_dry_finger(fvc_db1_finger):
    image = fvc_db1_finger[0]
    name = "small dry sensor"
    degrade = robustness.SETS[name]
    assert degrade.strength == robustness.DRY_AS_SENSOR
    got = degrade(image, robustness.probe_rng(name, "DB1_B", 1, 1), 500)
    rng = robustness.probe_rng(name, "DB1_B", 1, 1)
    y, x, h, w = robustness.print_window(image, rng, 500)
    window = image[y:y + h, x:x + w]
    assert np.array_equal(got, robustness.dry_at(robustness.DRY_AS_SENSOR)(window, rng))
    # Dry skin only brightens: ridges thin and blotches pale, nothing darker than the window was.
    assert got.shape == window.shape and np.all(got >= window)


def test_a_larger_small_sensor_window_is_cut_by_the_same_draws_at_its_own_size(fvc_db1_finger):
    image = fvc_db1_finger[0]
    name = "small dry sensor"
    got = robustness.small_dry_at(0.5, window=0.9)(image, robustness.probe_rng(name, "DB1_B", 1, 1), 500)
    rng = robustness.probe_rng(name, "DB1_B", 1, 1)
    y, x, h, w = robustness.print_window(image, rng, 500, side=0.9)
    assert (h, w) == (int(image.shape[0] * 0.9), int(image.shape[1] * 0.9))
    assert np.array_equal(got, robustness.dry_at(0.5)(image[y:y + h, x:x + w], rng))
    assert robustness.small_dry_at(0.5).window == robustness.WINDOW_SIDE


def test_the_strict_end_counts_genuine_pairs_below_the_booth_score_and_impostors_above_the_check():
    from matcher.fingerprint import calibration

    scores = np.linspace(0, 1, 2001)
    calibrated = calibration.calibrated_array(scores)
    at = {s: float(scores[np.argmax(calibrated >= s)]) for s in (20, 35, 45)}
    by_finger = {"DB1_B": {1: (np.array([at[45], at[35], -1.0]), np.array([at[20], at[35]])),
                           2: (np.array([at[45]]), np.array([at[20]]))}}
    # (probe quality, raw score, smaller template's minutiae, database)
    impostors = [(50, at[20], 30, "DB1_B"), (10, at[35], 12, "DB1_B"), (80, at[45], 25, "DB1_B"),
                 (-1, -1.0, 0, "DB1_B")]
    rejected, accepted, gated = robustness.strict_end(by_finger, impostors, 40.0, 30.0, 20)
    assert rejected == 0.5           # 35 and the refused probe fail 40; both 45s pass
    assert accepted == (2, 4)        # the 35 and the 45 reach 30
    assert gated == (1, 2)           # of the probes of quality 20 or more (not the 10, not the refused), the 45


def test_the_sparse_end_counts_impostors_by_the_smaller_template_against_the_model():
    from matcher.fingerprint import calibration

    scores = np.linspace(0, 1, 2001)
    calibrated = calibration.calibrated_array(scores)
    at = {s: float(scores[np.argmax(calibrated >= s)]) for s in (10, 25, 35)}
    impostors = [(50, at[25], 8, "DB3_B"), (50, at[35], 13, "DB4_B"), (50, at[10], 10, "DB4_B"),
                 (50, at[35], 15, "DB1_B"), (50, at[35], 30, "DB1_B"), (-1, -1.0, 0, "DB2_B")]
    bins = robustness.sparse_end(impostors, bins=((6, 13), (14, 16), (17, 1000)))
    (first, n_first, (at20, at30)), (_, n_second, (second20, _)), (_, n_third, _) = bins
    assert (first, n_first, n_second, n_third) == ((6, 13), 3, 1, 1)     # the refused probe is in no bin
    assert at20[:2] == (20.0, 2) and at20[2] == pytest.approx(3 * 0.01)
    assert at30[1] == 1 and at30[3] == {"DB1_B": 0, "DB2_B": 0, "DB3_B": 0, "DB4_B": 1}
    assert second20[1] == 1


def test_rejecting_the_lowest_quality_share_leaves_the_fnmr_of_the_rest():
    from bench._fingerprint_robustness import kept_fnmr

    failed = np.array([True, True, False, False, False, False, False, False, False, False])
    sees_failures = np.array([1, 2, 50, 60, 70, 80, 90, 95, 97, 99], float)
    blind = sees_failures[::-1].copy()
    assert kept_fnmr(sees_failures, failed, 0.2) == 0.0
    assert kept_fnmr(blind, failed, 0.2) == 0.25
    assert kept_fnmr(blind, failed, 0.0) == 0.2
