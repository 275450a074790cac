"""Strip alignment (strip_alignment.py): the strips of a sweep sensor's print, offset sideways at the
seams where they were joined, are moved back into line before seam repair; a print without seams is
left alone. Real FVC2002 prints, cut into 16-row strips as the robustness set's sweep sensor does."""
from __future__ import annotations

import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint.learned import extract_learned
from matcher.fingerprint.seam_repair import repair_seams, seam_rows
from matcher.fingerprint.strip_alignment import align_strips, shifted

STRIP = 16
PRINTS = [("DB2_B", 1, 1), ("DB2_B", 4, 2), ("DB3_B", 2, 1), ("DB3_B", 7, 3), ("DB4_B", 1, 2), ("DB4_B", 5, 4)]


def swept(image, offsets):
    """``image`` read in strips: strip k moved right by offsets[k], its first row 40 grey levels brighter."""
    out = image.copy()
    for k, start in enumerate(range(0, image.shape[0], STRIP)):
        out[start:start + STRIP] = shifted(out[start:start + STRIP], -int(offsets[k]))
        out[start] = np.clip(out[start].astype(np.int16) + 40, 0, 255).astype(np.uint8)
    return out


def joins(fvc2002, draw):
    """Per join measured: (how far the strip below sits right of the one above as aligned, offset found)."""
    rng = np.random.default_rng(20261130)
    found = []
    for db, finger, impression in PRINTS:
        image = fvc2002(db, finger, impression)
        offsets = draw(rng, -(-image.shape[0] // STRIP))
        probe = swept(image, offsets)
        seams = seam_rows(probe)
        assert set(range(STRIP, image.shape[0] - 3, STRIP)) <= set(seams.tolist())
        at = dict(zip(seams.tolist(), align_strips(probe.astype(np.float32), seams)[1]))
        above = offsets[0]  # where the strip above now sits
        for k in range(1, offsets.size):
            d = at.get(k * STRIP)
            if d is not None:
                found.append((offsets[k] - above, d))
            above = offsets[k] - (d or 0)
    return found


def test_strips_offset_sideways_are_mostly_put_back_within_a_pixel(fvc2002):
    found = joins(fvc2002, lambda rng, n: rng.integers(-2, 3, size=n))
    near = np.mean([abs(truth - d) <= 1 for truth, d in found])
    left_alone = np.mean([abs(truth) <= 1 for truth, _ in found])  # what not aligning would give
    assert len(found) > 100
    assert near >= 0.75 > 0.6 >= left_alone, (near, left_alone)


def test_strips_in_line_mostly_stay_in_line(fvc2002):
    found = joins(fvc2002, lambda rng, n: np.zeros(n, int))
    assert np.mean([truth == d for truth, d in found]) >= 0.75


def test_aligning_the_strips_raises_the_genuine_score_of_swept_prints(fvc2002):
    rng = np.random.default_rng(7)
    gains = []
    for db, finger, impression in PRINTS:
        probe = swept(fvc2002(db, finger, impression), rng.integers(-2, 3, size=40))
        mate = fp.extract(fvc2002(db, finger, impression % 8 + 1), dpi=500)
        with_alignment = fp.compare_raw(extract_learned(probe, 500), mate)
        without = fp.compare_raw(extract_learned(repair_seams(probe, align=False), 500, seam_repair=False), mate)
        gains.append(with_alignment - without)
    assert np.mean(gains) > 0 and np.mean(np.array(gains) > 0) >= 0.5, gains


def test_a_print_without_seams_is_returned_as_it_is(fvc2002):
    image = fvc2002("DB1_B", 1, 1)
    assert repair_seams(image) is image


def test_no_strip_moves_further_than_the_limit(fvc2002):
    image = fvc2002("DB4_B", 3, 1)
    offsets = np.zeros(-(-image.shape[0] // STRIP), int)
    offsets[1::2] = 9  # far beyond the limit: the join is measured within it or not at all
    probe = swept(image, offsets)
    _, measured = align_strips(probe.astype(np.float32), seam_rows(probe))
    assert max(abs(d) for d in measured) <= L.STRIP_MAX_SHIFT


def test_without_alignment_seam_repair_only_rebuilds_the_seam_rows(fvc2002):
    image = swept(fvc2002("DB3_B", 4, 1), np.zeros(40, int))
    repaired = repair_seams(image, align=False)
    rows = seam_rows(image)
    others = np.setdiff1d(np.arange(image.shape[0]), rows)
    assert np.array_equal(repaired[others], image[others]) and not np.array_equal(repaired[rows], image[rows])
