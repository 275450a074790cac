"""The comparison kernels compute exactly what MCC defines: the local similarity matrix of real prints
equals a plain numpy statement of the formula bit for bit, and a comparison's score is the rest of
the pipeline run on that matrix (so speeding up a kernel cannot move a score)."""
from __future__ import annotations

import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint import _kernels, calibration
from matcher.fingerprint.comparison import CONSOLIDATION
from matcher.fingerprint.cylinders import CYLINDER


def reference_similarities(a, b) -> np.ndarray:
    """1 - sqrt|a xor b| / (sqrt|a| + sqrt|b|) over the cells valid in both cylinders, for pairs of
    valid cylinders sharing at least min_common_cells valid cells; 0 elsewhere."""
    nd, words = CYLINDER.nd, CYLINDER.spatial_words
    common = a.mask[:, None, :] & b.mask[None, :, :]                         # (m, n, words)
    shared = np.bitwise_count(common).sum(-1, dtype=np.int64)
    a_bits = a.bits.reshape(-1, nd, words)[:, None] & common[:, :, None]     # (m, n, nd, words)
    b_bits = b.bits.reshape(-1, nd, words)[None, :] & common[:, :, None]
    pa = np.bitwise_count(a_bits).sum((-1, -2), dtype=np.int64)
    pb = np.bitwise_count(b_bits).sum((-1, -2), dtype=np.int64)
    px = np.bitwise_count(a_bits ^ b_bits).sum((-1, -2), dtype=np.int64)
    norms = np.sqrt(pa) + np.sqrt(pb)
    keep = a.valid[:, None] & b.valid[None, :] & (shared >= CYLINDER.min_common_cells) & (norms > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(keep, 1.0 - np.sqrt(px) / norms, 0.0)
    return sim.astype(np.float32)


@pytest.fixture(scope="module")
def cylinder_pairs(prints):
    """Prepared cylinders of the sample prints: mates, impostors, another sensor, a print with itself."""
    names = [("a1", "a2"), ("a2", "a1"), ("a1", "b1"), ("b1", "c1"), ("c1", "c1")]
    return [(fp.prepare(prints[x]), fp.prepare(prints[y])) for x, y in names]


def test_local_similarities_equal_the_formula_bit_for_bit(cylinder_pairs):
    for a, b in cylinder_pairs:
        kernel = _kernels.local_similarities(a.bits, a.mask, a.valid, b.bits, b.mask, b.valid, CYLINDER)
        assert kernel.dtype == np.float32
        np.testing.assert_array_equal(kernel, reference_similarities(a, b))


def test_a_score_is_the_gate_and_consolidation_of_the_formula_s_matrix(prints, cylinder_pairs):
    for a, b in cylinder_pairs:
        sim = reference_similarities(a, b)
        _kernels.gate_by_rotation(sim, a.angle, b.angle, CONSOLIDATION.rotation_top_pairs, CONSOLIDATION.rotation_gate)
        expected = _kernels.consolidate(sim, a.x, a.y, a.angle, b.x, b.y, b.angle, a.valid.sum(), b.valid.sum(),
                                        CONSOLIDATION)
        assert fp.compare_cylinders(a, b) == expected
    assert fp.compare_raw(prints["a1"], prints["a2"]) == fp.compare_cylinders(*cylinder_pairs[0])


def test_calibrated_score_is_the_body_interpolation_or_the_tail(prints):
    """calibrated() keeps its knots as arrays: the same figures as interpolating the knot list."""
    xs = [k[0] for k in calibration.BODY_KNOTS]
    logs = [np.log10(k[1]) for k in calibration.BODY_KNOTS]
    for raw in np.linspace(0.0, 2 * calibration.TAIL_START, 4001):
        if raw < calibration.TAIL_START:
            fmr = 10.0 ** float(np.interp(raw, xs, [float(v) for v in logs]))
            assert calibration.fmr_of_raw(float(raw)) == pytest.approx(fmr, rel=1e-12)
    assert calibration.calibrated(fp.compare_raw(prints["a1"], prints["b1"])) == fp.compare(prints["a1"], prints["b1"])
