"""Extraction: real FVC2002 images give sane minutiae; unusable images are refused with a reason.

The stage-by-stage tests are about the classical pipeline (method="classical"); refusals hold for
the default (learned) path; tests/test_fingerprint_learned.py covers the learned stages."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from matcher import fingerprint as fp


def load(tests_data, name):
    image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return image


@pytest.fixture(scope="module")
def db1(tests_data):
    return load(tests_data, "DB1_B_101_1")


def test_real_image_gives_a_sane_number_of_minutiae_inside_the_finger(db1):
    stages = {}
    tpl = fp.extract(db1, dpi=500, trace=lambda stage, value: stages.__setitem__(stage, value), method="classical")
    assert 12 <= len(tpl.minutiae) <= 80
    mask = stages["mask"]
    xs = np.round(tpl.minutiae["x"]).astype(int)
    ys = np.round(tpl.minutiae["y"]).astype(int)
    assert mask[ys, xs].all()


def test_template_carries_image_size_resolution_and_quality(db1):
    tpl = fp.extract(db1, dpi=500)
    assert (tpl.width, tpl.height, tpl.dpi) == (db1.shape[1], db1.shape[0], 500.0)
    assert 0 <= tpl.quality <= 100
    assert np.all((tpl.minutiae["angle"] >= 0) & (tpl.minutiae["angle"] < 2 * math.pi))
    assert set(np.unique(tpl.minutiae["kind"])) <= {1, 2}
    assert np.all((tpl.minutiae["quality"] >= 1) & (tpl.minutiae["quality"] <= 100))


def test_higher_resolution_sensor_is_handled_at_its_own_dpi(tests_data):
    image = load(tests_data, "DB2_B_101_1")
    tpl = fp.extract(image, dpi=569)
    assert tpl.dpi == 569.0
    assert 12 <= len(tpl.minutiae) <= 80


def test_trace_hook_sees_every_stage_in_order(db1):
    seen = []
    fp.extract(db1, dpi=500, trace=lambda stage, value: seen.append(stage), method="classical")
    assert seen == ["contrast", "mask", "orientation", "coherence", "period", "normalised", "enhanced",
                    "ridges", "skeleton", "candidates", "filter_duplicates", "filter_spurs",
                    "filter_broken_ridges", "filter_bridges", "filter_border", "filter_incoherent",
                    "filter_clusters", "minutiae"]


def test_trace_values_are_images_of_the_input_size(db1):
    images = {}
    fp.extract(db1, dpi=500, trace=lambda stage, value: images.__setitem__(stage, value), method="classical")
    for stage in ("contrast", "mask", "orientation", "coherence", "enhanced", "ridges", "skeleton"):
        assert images[stage].shape == db1.shape, stage
    assert images["skeleton"].sum() < images["ridges"].sum()


def test_blank_image_is_refused_as_blank():
    with pytest.raises(fp.LowQualityError) as caught:
        fp.extract(np.full((300, 300), 200, np.uint8))
    assert caught.value.reason == "blank"


def test_noise_image_is_refused():
    noise = np.random.default_rng(1).integers(0, 256, (300, 300)).astype(np.uint8)
    with pytest.raises(fp.LowQualityError) as caught:
        fp.extract(noise)
    assert caught.value.reason in {"blank", "too_small", "incoherent", "too_few_minutiae"}


def test_small_print_fragment_is_refused_as_too_small(db1):
    canvas = np.full_like(db1, 255)
    canvas[150:180, 150:180] = db1[150:180, 150:180]
    with pytest.raises(fp.LowQualityError) as caught:
        fp.extract(canvas)
    assert caught.value.reason in {"blank", "too_small"}


def test_non_image_input_is_refused_as_bad_input():
    with pytest.raises(fp.LowQualityError) as caught:
        fp.extract(np.zeros((10, 10, 3), np.uint8))
    assert caught.value.reason == "bad_input"


def test_refusal_message_does_not_contain_image_data():
    with pytest.raises(fp.LowQualityError) as caught:
        fp.extract(np.full((300, 300), 200, np.uint8))
    assert "200" not in str(caught.value)


def test_quality_is_lower_for_a_degraded_capture(db1):
    good = fp.extract(db1)
    # Keep only the top part of the print: less area, fewer minutiae.
    cropped = db1.copy()
    cropped[db1.shape[0] // 2:, :] = 255
    cropped[:, : db1.shape[1] // 2] = 255
    try:
        worse = fp.extract(cropped)
    except fp.LowQualityError:
        return  # refusing it outright is also a correct prediction of failure
    assert worse.quality < good.quality
