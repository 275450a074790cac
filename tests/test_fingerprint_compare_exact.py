"""The comparison kernels compute exactly what MCC defines: the local similarity matrix of real prints
equals a plain numpy statement of the formula bit for bit, and a comparison's score equals a plain
statement of the rest of the pipeline (rotation gate, greedy one-to-one pairs over a stable sort,
LSS-R relaxation over a dense compatibility matrix) run on that matrix, so speeding up a kernel
cannot move a score."""
from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint import _kernels, calibration
from matcher.fingerprint._kernels import ROTATION_BINS, angle_diff, dominant_rotation, sigmoid
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


def reference_pairs(sim, a_t, b_t):
    """Rotation: the similarity-weighted histogram of direction differences of the ROTATION_TOP_PAIRS
    most similar pairs; pairs turning more than ROTATION_GATE from it are dropped; then the greedy
    one-to-one pairs, most similar first (a stable sort: ties in index order), at most LSSR_MAX_PAIRS."""
    m, n = sim.shape
    flat = sim.ravel()
    order = np.argsort(-flat, kind="stable")
    order = order[flat[order] > 0]
    hist = np.zeros(ROTATION_BINS)
    for idx in order[:CONSOLIDATION.rotation_top_pairs]:
        d = float(angle_diff(a_t[idx // n], b_t[idx % n])) + math.pi
        hist[int(d * ROTATION_BINS / (2 * math.pi)) % ROTATION_BINS] += flat[idx]
    rotation = dominant_rotation(hist)
    pairs, used_a, used_b = [], set(), set()
    for idx in order:
        i, j = divmod(int(idx), n)
        if i in used_a or j in used_b or abs(angle_diff(angle_diff(a_t[i], b_t[j]), rotation)) > CONSOLIDATION.rotation_gate:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j, float(flat[idx])))
        if len(pairs) == min(m, n, CONSOLIDATION.max_pairs):
            break
    return pairs


def reference_relaxed_score(pairs, a, b):
    """LSS-R (MCC paper, sec. 5): a dense matrix of the pairs' geometric compatibilities (each factor a
    sigmoid, cut where it falls below 1e-4), five relaxation rounds, the mean relaxed weight of the n_P
    most efficient pairs divided by n_P."""
    c = CONSOLIDATION
    n_p = int(c.min_np + round(sigmoid(min(a.valid.sum(), b.valid.sum()), c.mu_p, c.tau_p) * (c.max_np - c.min_np)))
    count = len(pairs)
    if count < 2:
        return pairs[0][2] / max(n_p, 1) if pairs else 0.0
    cuts = [mu + 9.2 / abs(tau) for mu, tau in ((c.mu_distance, c.tau_distance), (c.mu_angle, c.tau_angle),
                                               (c.mu_radial, c.tau_radial))]
    rho = np.zeros((count, count))
    for t, (i1, j1, _) in enumerate(pairs):
        for k in range(t + 1, count):
            i2, j2, _ = pairs[k]
            d2 = abs(angle_diff(angle_diff(a.angle[i1], a.angle[i2]), angle_diff(b.angle[j1], b.angle[j2])))
            dax, day = a.x[i2] - a.x[i1], a.y[i2] - a.y[i1]
            dbx, dby = b.x[j2] - b.x[j1], b.y[j2] - b.y[j1]
            # Positions and angles are float32, and so is their arithmetic (numpy's, like the kernel's).
            d1 = abs(np.sqrt(dax * dax + day * day) - np.sqrt(dbx * dbx + dby * dby))
            d3 = abs(angle_diff(angle_diff(a.angle[i1], atan2_as_the_kernel(day, dax)),
                                angle_diff(b.angle[j1], atan2_as_the_kernel(dby, dbx))))
            if d1 <= cuts[0] and d2 <= cuts[1] and d3 <= cuts[2]:
                rho[t, k] = rho[k, t] = (sigmoid(d1, c.mu_distance, c.tau_distance) * sigmoid(d2, c.mu_angle, c.tau_angle)
                                         * sigmoid(d3, c.mu_radial, c.tau_radial))
    initial = np.array([w for _, _, w in pairs])
    current = initial.copy()
    for _ in range(c.iterations):
        current = np.array([c.relaxation_weight * current[t] + (1 - c.relaxation_weight)
                            * sum_in_order(rho[t, k] * current[k] for k in range(count)) / (count - 1)
                            for t in range(count)])
    best = quicksort_order(-(current / initial))[:min(n_p, count)]
    return sum_in_order(current[q] for q in best) / n_p


@numba.njit("float32(float32, float32)", cache=False)
def _atan2f(y, x):
    return math.atan2(y, x)


def atan2_as_the_kernel(y, x) -> np.float32:
    """math.atan2 of float32 as numba compiles it in the kernel (the C library's atan2f), kept float32.
    numpy's own float32 arctan2 takes SIMD code on AVX-512 hosts that differs from it in the last bit for
    ~40 % of arguments (seen 2026-11-30 on an AMD EPYC with AVX-512, numpy 2.4): the reference must not."""
    return np.float32(_atan2f(y, x))


@numba.njit(cache=False)
def quicksort_order(values):
    """numba's np.argsort (an unstable quicksort). Efficiencies tie often (a pair compatible with no
    other relaxes to the same fraction of its weight), and the engine keeps whichever tied pairs this
    order puts first; numpy's own quicksort breaks ties differently."""
    return np.argsort(values)


def sum_in_order(terms) -> float:
    total = 0.0
    for term in terms:
        total += term
    return total


def test_a_score_is_the_gate_pairing_and_relaxation_of_the_formula_s_matrix(prints, cylinder_pairs):
    for a, b in cylinder_pairs:
        pairs = reference_pairs(reference_similarities(a, b), a.angle, b.angle)
        assert fp.compare_cylinders(a, b) == reference_relaxed_score(pairs, a, b)
    assert fp.compare_raw(prints["a1"], prints["a2"]) == fp.compare_cylinders(*cylinder_pairs[0])


def test_the_gated_pairs_are_the_reference_pairs(cylinder_pairs):
    for a, b in cylinder_pairs:
        sim = reference_similarities(a, b)
        n_r = min(*sim.shape, CONSOLIDATION.max_pairs)
        pa, pb, lam = np.empty(n_r, np.int64), np.empty(n_r, np.int64), np.empty(n_r)
        count = _kernels.rotation_gated_pairs(sim, a.angle, b.angle, n_r, CONSOLIDATION.rotation_top_pairs,
                                              CONSOLIDATION.rotation_gate, pa, pb, lam)
        assert list(zip(pa[:count].tolist(), pb[:count].tolist(), lam[:count].tolist())) == reference_pairs(sim, a.angle, b.angle)


def test_calibrated_score_is_the_body_interpolation_or_the_tail(prints):
    """calibrated() keeps its knots as arrays: the same figures as interpolating the knot list."""
    xs = [k[0] for k in calibration.BODY_KNOTS]
    logs = [np.log10(k[1]) for k in calibration.BODY_KNOTS]
    for raw in np.linspace(0.0, 2 * calibration.TAIL_START, 4001):
        if raw < calibration.TAIL_START:
            fmr = 10.0 ** float(np.interp(raw, xs, [float(v) for v in logs]))
            assert calibration.fmr_of_raw(float(raw)) == pytest.approx(fmr, rel=1e-12)
    assert calibration.calibrated(fp.compare_raw(prints["a1"], prints["b1"])) == fp.compare(prints["a1"], prints["b1"])
