"""The second look (thickening.py): a print the network is unsure of is read again with its ridges
thickened, and the template the network is surer of is kept. Real FVC2002 prints; the dry ones are
thinned as the robustness dry set thins them (a 3 x 3 grey dilation: the ridges are dark). What it
does to accuracy is measured by python -m bench fingerprint, not here."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.template import Template, make_minutiae
from matcher.fingerprint.thickening import assurance, extract_thickening, surer, thicken, unsure

DISC = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
DRY = [("DB3_B", 1, 1), ("DB3_B", 4, 2), ("DB3_B", 6, 5), ("DB4_B", 2, 3), ("DB4_B", 8, 1)]


def template(confidences, quality: int = 50) -> Template:
    n = len(confidences)
    minutiae = make_minutiae(np.arange(n, dtype=np.float32) * 10, np.zeros(n, np.float32), np.zeros(n, np.float32),
                             np.ones(n, np.uint8), np.asarray(confidences, np.uint8))
    return Template(minutiae=minutiae, width=300, height=300, dpi=500.0, quality=quality)


def stripes(width: int) -> np.ndarray:
    """Dark vertical ridges ``width`` pixels wide on white, every 10 pixels."""
    image = np.full((40, 100), 255, np.uint8)
    for x in range(0, 100, 10):
        image[:, x:x + width] = 0
    return image


def ridge_width(image: np.ndarray) -> int:
    return int(np.count_nonzero(image[20, 25:35] < 128))     # the ridge at columns 30-32


def test_thickening_grows_each_ridge_by_a_pixel_on_each_side_at_500_dpi():
    assert ridge_width(thicken(stripes(3), 500)) == 5


def test_thickening_grows_by_the_same_distance_at_a_higher_resolution():
    assert ridge_width(thicken(stripes(3), 1000)) == 7


def test_assurance_sums_the_best_confidences_at_the_shipped_threshold():
    low = int(round(L.QUALITY_THRESHOLD * 100)) - 1
    found = template([90] * L.MAX_MINUTIAE + [80] * 5 + [low] * 5)
    assert assurance(found) == 90 * L.MAX_MINUTIAE


def test_a_refused_print_or_one_with_too_few_minutiae_has_no_assurance():
    assert assurance(None) == 0
    assert assurance(template([99] * (L.MIN_MINUTIAE - 1) + [10] * 20)) == 0


def test_the_thickened_template_is_kept_only_when_it_is_rated_strictly_higher():
    captured, same, better = template([80] * 20, 50), template([90] * 20, 50), template([70] * 20, 51)
    assert surer(captured, same) is captured
    assert surer(captured, better) is better
    assert surer(None, better) is better and surer(captured, None) is captured


def test_a_thickened_template_too_small_at_the_shipped_threshold_is_never_kept():
    too_few = template([99] * (L.MIN_MINUTIAE - 1) + [10] * 20, quality=100)
    assert surer(template([60] * 20, 10), too_few).quality == 10


def test_a_print_read_with_full_assurance_gets_no_second_look():
    assert not unsure(template([100] * L.MAX_MINUTIAE), below=L.MAX_MINUTIAE * 100)
    assert unsure(template([99] * L.MAX_MINUTIAE), below=L.MAX_MINUTIAE * 100)


def test_without_thickening_the_template_is_the_single_pass_one(fvc2002):
    image = fvc2002("DB3_B", 1, 1)
    single, one_pass = extract_thickening(image, 500, thickening=False), extract_learned(image, 500)
    assert np.array_equal(single.minutiae, one_pass.minutiae) and single.quality == one_pass.quality


def test_thinned_ridges_are_read_with_more_assurance_once_thickened(fvc2002):
    gains = []
    for db, finger, impression in DRY:
        dry = cv2.dilate(fvc2002(db, finger, impression), DISC)
        as_captured = extract_thickening(dry, 500, thickening=False)
        gains.append(assurance(extract_learned(thicken(dry, 500), 500)) - assurance(as_captured))
    assert sum(g > 0 for g in gains) >= 4, gains


def test_dry_prints_keep_their_thickened_reading_far_more_often_than_wet_ones(fvc2002):
    """DB3's ten first impressions (its capacitive sensor images narrow ridges): 4 of 10 dry, 0 wet
    when written."""
    kept = {}
    for name, change in (("dry", cv2.dilate), ("wet", cv2.erode)):
        stages = []
        for finger in range(1, 11):
            extract_thickening(change(fvc2002("DB3_B", finger, 1), DISC), 500,
                               lambda stage, value: stages.append(value) if stage == "kept" else None)
        kept[name] = stages.count("thickened")
    assert kept["dry"] >= 3 and kept["wet"] <= 1, kept


def test_the_second_pass_is_traced_under_its_own_names(fvc2002):
    stages = []
    fp.extract(cv2.dilate(fvc2002("DB3_B", 2, 1), DISC), 500, lambda stage, value: stages.append(stage))
    assert stages.index("thickened") < stages.index("thickened mask") < stages.index("thickened minutiae")
    assert stages[-1] == "kept" and stages.count("mask") == 1


def test_a_blank_image_is_refused_as_the_single_pass_refuses_it():
    blank = np.full((300, 300), 200, np.uint8)
    with pytest.raises(fp.LowQualityError) as single:
        extract_learned(blank, 500)
    with pytest.raises(fp.LowQualityError) as second_look:
        fp.extract(blank, 500)
    assert second_look.value.reason == single.value.reason
