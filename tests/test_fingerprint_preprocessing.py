"""Preprocessing before the learned extractor, on real FVC2002 prints: ridge-valley equalisation
(equalisation.py) brings pale blotches of a dry finger back to the contrast of the rest of the print;
seam repair (seam_repair.py) rebuilds the bright rows where a sweep sensor joined its strips."""
from __future__ import annotations

import numpy as np

from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.equalisation import equalise
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.seam_repair import repair_seams, seam_rows


def blotched(image: np.ndarray, box: tuple[int, int, int, int], lift: int = 70) -> np.ndarray:
    """``image`` with a pale patch (every grey level lifted by ``lift``) over ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    out = image.astype(np.int16)
    out[y0:y1, x0:x1] += lift
    return np.clip(out, 0, 255).astype(np.uint8)


def local_mean_and_spread(image: np.ndarray, box) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    patch = image[y0:y1, x0:x1].astype(np.float32)
    return float(patch.mean()), float(patch.std())


def test_a_pale_patch_comes_back_to_the_grey_level_of_the_print_around_it(fvc2002):
    image = fvc2002("DB3_B", 5, 2)                 # capacitive: grey valleys, nothing saturates
    patch, beside = (110, 110, 170, 170), (110, 180, 170, 240)
    pale = blotched(image, patch)
    before = abs(local_mean_and_spread(pale, patch)[0] - local_mean_and_spread(pale, beside)[0])
    out = equalise(pale, 500, sigma=L.EQUALISE_SIGMA)
    inner = (patch[0] + 8, patch[1] + 8, patch[2] - 8, patch[3] - 8)   # away from the patch's edge
    after = abs(local_mean_and_spread(out, inner)[0] - local_mean_and_spread(out, beside)[0])
    assert before > 50
    assert after < 10


def test_ridges_keep_their_contrast_where_a_patch_squeezed_them_towards_white(fvc2002):
    image = fvc2002("DB1_B", 1, 2)                  # optical: white valleys saturate when lifted
    patch = (120, 120, 200, 200)
    inner = (patch[0] + 8, patch[1] + 8, patch[2] - 8, patch[3] - 8)
    pale = blotched(image, patch)
    sigma = L.EQUALISE_SIGMA
    squeezed = local_mean_and_spread(pale, inner)[1] / local_mean_and_spread(image, inner)[1]
    kept = (local_mean_and_spread(equalise(pale, 500, sigma), inner)[1]
            / local_mean_and_spread(equalise(image, 500, sigma), inner)[1])
    assert squeezed < 0.75
    assert kept > 0.9


def test_a_blank_background_stays_flat_instead_of_turning_into_texture(fvc2002):
    image = fvc2002("DB1_B", 1, 2)
    corner = (0, 0, 40, 40)                               # DB1's white background, outside the finger
    assert local_mean_and_spread(image, corner)[1] < 3
    out = equalise(image, 500, sigma=L.EQUALISE_SIGMA)
    assert local_mean_and_spread(out, corner)[1] < 3 * L.EQUALISE_GAIN / L.EQUALISE_MIN_SPREAD


def test_a_window_of_zero_leaves_the_image_as_it_is(fvc2002):
    image = fvc2002("DB2_B", 3, 1)
    assert equalise(image, 569, sigma=0.0) is image


def test_the_trace_hook_sees_the_equalised_crop_before_the_network(fvc2002):
    stages = []
    extract_learned(fvc2002("DB1_B", 1, 1), 500, trace=lambda stage, value: stages.append((stage, value)))
    names = [name for name, _ in stages]
    assert names.index("mask") < names.index("equalised") < names.index("crop") < names.index("output")
    assert ("seams repaired" in names) == L.SEAM_REPAIR
    crop = dict(stages)["equalised"]
    assert crop.dtype == np.uint8 and crop.ndim == 2


def with_seams(image: np.ndarray, rows, lift: int = 40) -> np.ndarray:
    out = image.astype(np.int16)
    out[list(rows)] += lift
    return np.clip(out, 0, 255).astype(np.uint8)


def test_rows_a_sweep_sensor_brightened_are_found_and_nothing_else(fvc2002):
    image = fvc2002("DB4_B", 2, 2)
    seams = range(48, image.shape[0] - 48, 16)
    assert list(seam_rows(with_seams(image, seams))) == list(seams)


def test_no_fvc2002_print_has_a_seam(fvc2002):
    for db in ("DB1_B", "DB2_B", "DB3_B", "DB4_B"):
        for finger in (1, 4, 7, 10):
            image = fvc2002(db, finger, 3)
            assert seam_rows(image).size == 0, (db, finger)
            assert repair_seams(image) is image


def test_a_repaired_seam_row_is_close_to_the_row_that_was_there(fvc2002):
    image = fvc2002("DB3_B", 6, 2)
    seams = list(range(40, image.shape[0] - 40, 16))
    repaired = repair_seams(with_seams(image, seams)).astype(np.float32)
    error = np.abs(repaired[seams] - image[seams].astype(np.float32)).mean()
    assert error < 15          # a seam lifts the row by 40; rebuilt from its neighbours it is near the truth
