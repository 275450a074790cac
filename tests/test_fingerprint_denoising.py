"""Denoising (denoising.py): a grainy print goes through non-local means before segmentation, with a
strength set by its own estimated noise; a clean print is never touched. Real FVC2002 prints, with
the robustness noise set's grain (Gaussian, deviation 25 grey levels). What it does to accuracy (the
noise set's EER) is measured by python -m bench fingerprint, not here: on single prints the genuine
scores move both ways; the gain is in the few comparisons that failed."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.denoising import denoise, noise_level
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.segmentation import segment

GRAIN = 25.0
PRINTS = [("DB1_B", 1, 1), ("DB2_B", 3, 2), ("DB3_B", 2, 1), ("DB3_B", 7, 3), ("DB4_B", 1, 2), ("DB4_B", 5, 4)]


def grainy(image, seed=0, deviation=GRAIN):
    noise = np.random.default_rng(seed).normal(0, deviation, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_the_noise_of_a_flat_grey_image_is_measured_to_within_a_tenth():
    flat = np.full((240, 320), 128, np.uint8)
    assert noise_level(flat) == 0.0
    for deviation in (5.0, 12.0, 25.0):
        assert noise_level(grainy(flat, 1, deviation)) == pytest.approx(deviation, rel=0.1)


def test_ridges_alone_read_as_far_less_noise_than_the_floor(fvc2002):
    for db, finger, impression in PRINTS:
        assert noise_level(fvc2002(db, finger, impression)) < L.DENOISE_MIN_NOISE / 2


def test_the_grain_on_a_print_is_measured_through_its_ridges(fvc2002):
    for db, finger, impression in PRINTS[1:]:       # DB1's white background clips half the grain
        level = noise_level(grainy(fvc2002(db, finger, impression)))
        assert GRAIN * 0.9 < level < GRAIN * 1.15


def test_a_clean_print_is_returned_as_it_is(fvc2002):
    for db, finger, impression in PRINTS:
        image = fvc2002(db, finger, impression)
        assert denoise(image, 500) is image


def test_a_strength_of_zero_turns_denoising_off(fvc2002):
    noisy = grainy(fvc2002("DB4_B", 1, 2))
    assert denoise(noisy, 500, strength=0.0) is noisy


def correlation_over_the_finger(image, clean):
    finger = segment(clean, 500)
    return np.corrcoef(image[finger].astype(np.float64), clean[finger].astype(np.float64))[0, 1]


def test_the_grain_is_removed_and_the_ridges_kept(fvc2002):
    gains = []
    for db, finger, impression in PRINTS[1:]:
        clean = fvc2002(db, finger, impression)
        noisy = grainy(clean)
        out = denoise(noisy, 500)
        assert noise_level(out) < GRAIN / 4
        gains.append(correlation_over_the_finger(out, clean) - correlation_over_the_finger(noisy, clean))
    assert min(gains) > 0.01 and np.mean(gains) > 0.05


def test_the_finger_is_segmented_as_on_the_clean_print_once_the_grain_is_gone(fvc2002):
    grown = []
    for db, finger, impression in PRINTS[1:]:
        clean = fvc2002(db, finger, impression)
        area = segment(clean, 500).sum()
        noisy = grainy(clean)
        grown.append(segment(noisy, 500).sum() / area)                                # the grain reads as finger ...
        assert segment(denoise(noisy, 500), 500).sum() == pytest.approx(area, rel=0.15)   # ... until removed
    assert np.mean(grown) > 1.3


def test_the_trace_hook_sees_the_denoised_print_before_the_mask(fvc2002):
    stages = []
    extract_learned(grainy(fvc2002("DB4_B", 1, 2)), 500, trace=lambda s, v: stages.append((s, v)))
    names = [name for name, _ in stages]
    assert names.index("denoised") < names.index("mask")
    assert noise_level(dict(stages)["denoised"]) < GRAIN / 4
