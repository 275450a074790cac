"""Comparison of two cylinder sets: local similarities, then LSS-R consolidation (MCC paper, sec. 5).

1. Local similarity of every pair of valid cylinders whose minutiae turn by less than 90 degrees:
   1 - |a xor b| / (|a| + |b|) over the cells valid in both (norms are square roots of popcounts).
2. The best one-to-one pairs (greedy on similarity) are relaxed: each pair's weight is reinforced by
   pairs that agree with it geometrically (distance, relative direction, radial angle), which
   suppresses pairs that look alike locally but sit in the wrong place.
3. The score is the mean relaxed weight of the n_P most "efficient" pairs, n_P growing with the
   number of minutiae (a sigmoid between LSS_MIN_NP and LSS_MAX_NP).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import parameters as P
from .bits import popcount64
from .cylinders import SPATIAL_WORDS, Cylinders


@numba.njit(cache=True)
def _angle_diff(a, b):
    d = a - b
    while d < -math.pi:
        d += 2 * math.pi
    while d >= math.pi:
        d -= 2 * math.pi
    return d


@numba.njit(cache=True)
def _sigmoid(v, mu, tau):
    return 1.0 / (1.0 + math.exp(-tau * (v - mu)))


# Cylinder geometry as compile-time constants: numba folds module globals, so the word loops below
# unroll (about a quarter faster than with the sizes passed in).
_ND = P.MCC_ND
_SW = SPATIAL_WORDS


@numba.njit(cache=True)
def local_similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, min_common):
    m = a_valid.size
    n = b_valid.size
    out = np.zeros((m, n), np.float32)
    for i in range(m):
        if not a_valid[i]:
            continue
        for j in range(n):
            if not b_valid[j]:
                continue
            shared = 0
            for s in range(_SW):
                shared += popcount64(a_mask[i, s] & b_mask[j, s])
            if shared < min_common:
                continue
            pa = 0
            pb = 0
            px = 0
            for s in range(_SW):
                common = a_mask[i, s] & b_mask[j, s]
                for k in range(_ND):
                    wa = a_bits[i, k * _SW + s] & common
                    wb = b_bits[j, k * _SW + s] & common
                    pa += popcount64(wa)
                    pb += popcount64(wb)
                    px += popcount64(wa ^ wb)
            norms = math.sqrt(pa) + math.sqrt(pb)
            if norms > 0:
                out[i, j] = 1.0 - math.sqrt(px) / norms
    return out


@numba.njit(cache=True)
def best_first(flat, wanted):
    """Indices of the largest entries of ``flat`` (values in [0, 1]), largest first: every entry
    at or above the value that leaves at least ``wanted`` entries. A 256-bin histogram finds that
    value, so only a short prefix is sorted instead of all m x n similarities."""
    bins = 256
    hist = np.zeros(bins + 1, np.int64)
    for v in flat:
        hist[min(int(v * bins), bins) if v > 0 else 0] += 1
    cut = bins
    total = 0
    while cut > 0 and total + hist[cut] < wanted:
        total += hist[cut]
        cut -= 1
    chosen = np.empty(total + hist[cut], np.int64)
    k = 0
    for i in range(flat.size):
        v = flat[i]
        if (min(int(v * bins), bins) if v > 0 else 0) >= cut:
            chosen[k] = i
            k += 1
    values = np.empty(k)
    for q in range(k):
        values[q] = -flat[chosen[q]]
    return chosen[np.argsort(values, kind="mergesort")]


ROTATION_BINS = 36   # 10-degree bins for the histogram of direction differences


@numba.njit(cache=True)
def dominant_rotation(hist):
    """Centre of the heaviest bin of a circular histogram of direction differences (smoothed 1-2-1)."""
    bins = hist.size
    best = 0
    best_mass = -1.0
    for b in range(bins):
        mass = hist[(b - 1) % bins] + 2 * hist[b] + hist[(b + 1) % bins]
        if mass > best_mass:
            best_mass = mass
            best = b
    return -math.pi + (best + 0.5) * 2 * math.pi / bins


@numba.njit(cache=True)
def gate_by_rotation(sim, a_t, b_t, top, gate):
    """Zero the pairs whose minutiae turn far from the dominant rotation between the two prints.

    MCC compares only minutiae turned by less than 90 degrees, which assumes the prints are roughly
    aligned. Estimating the rotation from the most similar cylinders (a weighted histogram of
    direction differences) keeps that filter's benefit while staying invariant to how the finger
    was turned on the sensor."""
    m, n = sim.shape
    flat = sim.ravel()
    order = best_first(flat, top)
    bins = ROTATION_BINS
    hist = np.zeros(bins)
    for q in range(min(top, flat.size)):
        idx = order[q]
        if flat[idx] <= 0:
            break
        d = _angle_diff(a_t[idx // n], b_t[idx % n]) + math.pi
        hist[int(d * bins / (2 * math.pi)) % bins] += flat[idx]
    rotation = dominant_rotation(hist)
    for i in range(m):
        for j in range(n):
            if sim[i, j] > 0 and abs(_angle_diff(_angle_diff(a_t[i], b_t[j]), rotation)) > gate:
                sim[i, j] = 0.0
    return order


_BINS = 256


@numba.njit(cache=True)
def greedy_pairs(flat, m, n, n_r, pa, pb, lam):
    """The best one-to-one pairs, most similar first, as a greedy pass over every positive entry in
    stable descending order (ties by index). A counting sort into value bins orders them; only the
    entries inside each bin are sorted, and the pass ends as soon as n_r pairs are found, so a
    comparison never sorts all m x n similarities. Returns the number of pairs written."""
    starts = np.zeros(_BINS + 2, np.int64)
    for v in flat:
        if v > 0:
            starts[_BINS - min(int(v * _BINS), _BINS) + 1] += 1
    for b in range(1, _BINS + 2):
        starts[b] += starts[b - 1]
    total = starts[_BINS + 1]
    grouped = np.empty(total, np.int64)
    fill = starts[:_BINS + 1].copy()
    for idx in range(flat.size):
        v = flat[idx]
        if v > 0:
            b = _BINS - min(int(v * _BINS), _BINS)
            grouped[fill[b]] = idx
            fill[b] += 1
    used_a = np.zeros(m, np.bool_)
    used_b = np.zeros(n, np.bool_)
    count = 0
    for b in range(_BINS + 1):
        lo, hi = starts[b], starts[b + 1]
        # Insertion sort of the bin by descending value: bins hold few entries, and being stable it
        # keeps equal values in index order, as a stable sort of all similarities would.
        for q in range(lo + 1, hi):
            idx = grouped[q]
            v = flat[idx]
            r = q
            while r > lo and flat[grouped[r - 1]] < v:
                grouped[r] = grouped[r - 1]
                r -= 1
            grouped[r] = idx
        for q in range(lo, hi):
            idx = grouped[q]
            i = idx // n
            j = idx % n
            if used_a[i] or used_b[j]:
                continue
            used_a[i] = True
            used_b[j] = True
            pa[count] = i
            pb[count] = j
            lam[count] = flat[idx]
            count += 1
            if count >= n_r:
                return count
    return count


@numba.njit(cache=True)
def consolidate(sim, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, params):
    m, n = sim.shape
    n_r = min(m, n, int(params[12]))
    pa = np.empty(n_r, np.int64)
    pb = np.empty(n_r, np.int64)
    lam = np.empty(n_r)
    count = greedy_pairs(sim.ravel(), m, n, n_r, pa, pb, lam)
    return relaxed_score(pa, pb, lam, count, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, params)


@numba.njit(cache=True)
def relaxed_score(pa, pb, lam, count, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, params):
    """LSS-R: the first ``count`` pairs (minutia ``pa[t]`` of A with ``pb[t]`` of B, local similarity
    ``lam[t]``) reinforce each other by geometric compatibility; the score is the mean relaxed weight
    of the n_P most efficient pairs."""
    min_np, max_np, mu_p, tau_p, w_r, iterations = params[0], params[1], params[2], params[3], params[4], params[5]
    mu1, tau1, mu2, tau2, mu3, tau3 = params[6], params[7], params[8], params[9], params[10], params[11]
    n_p = int(min_np + round(_sigmoid(min(count_a, count_b), mu_p, tau_p) * (max_np - min_np)))
    if count == 0:
        return 0.0
    if count == 1:
        return lam[0] / max(n_p, 1)
    # Geometric compatibility of every two selected pairs. Each factor is a sigmoid; once one is
    # below 1e-4 the product is negligible, so the cheaper tests run first and end early.
    rho = np.zeros((count, count))
    cut1 = mu1 + 9.2 / abs(tau1)
    cut2 = mu2 + 9.2 / abs(tau2)
    cut3 = mu3 + 9.2 / abs(tau3)
    for t in range(count):
        i1, j1 = pa[t], pb[t]
        for k in range(t + 1, count):
            i2, j2 = pa[k], pb[k]
            d2 = abs(_angle_diff(_angle_diff(a_t[i1], a_t[i2]), _angle_diff(b_t[j1], b_t[j2])))
            if d2 > cut2:
                continue
            dax, day = a_x[i2] - a_x[i1], a_y[i2] - a_y[i1]
            dbx, dby = b_x[j2] - b_x[j1], b_y[j2] - b_y[j1]
            d1 = abs(math.sqrt(dax * dax + day * day) - math.sqrt(dbx * dbx + dby * dby))
            if d1 > cut1:
                continue
            ra = _angle_diff(a_t[i1], math.atan2(day, dax))
            rb = _angle_diff(b_t[j1], math.atan2(dby, dbx))
            d3 = abs(_angle_diff(ra, rb))
            if d3 > cut3:
                continue
            r = _sigmoid(d1, mu1, tau1) * _sigmoid(d2, mu2, tau2) * _sigmoid(d3, mu3, tau3)
            rho[t, k] = r
            rho[k, t] = r
    initial = lam[:count].copy()
    current = initial.copy()
    nxt = np.empty(count)
    for _ in range(int(iterations)):
        for t in range(count):
            acc = 0.0
            for k in range(count):
                acc += rho[t, k] * current[k]
            nxt[t] = w_r * current[t] + (1 - w_r) * acc / (count - 1)
        current[:] = nxt
    efficiency = current / initial
    best = np.argsort(-efficiency)
    take = min(n_p, count)
    total = 0.0
    for q in range(take):
        total += current[best[q]]
    # Dividing by n_P (not by the pairs found) penalises prints with too few correspondences.
    return total / n_p


_PARAMS = np.array([P.LSS_MIN_NP, P.LSS_MAX_NP, P.LSS_MU_P, P.LSS_TAU_P, P.LSSR_WEIGHT, P.LSSR_ITERATIONS,
                    P.LSSR_MU_DIST, P.LSSR_TAU_DIST, P.LSSR_MU_ANGLE, P.LSSR_TAU_ANGLE,
                    P.LSSR_MU_RADIAL, P.LSSR_TAU_RADIAL, P.LSSR_MAX_PAIRS, P.ROTATION_TOP_PAIRS,
                    P.ROTATION_GATE], np.float64)


def _min_common_cells() -> int:
    ns = P.MCC_NS
    delta = 2.0 * P.MCC_RADIUS / ns
    centres = (np.arange(ns) - (ns - 1) / 2.0) * delta
    in_disc = int(((centres[:, None] ** 2 + centres[None, :] ** 2) <= P.MCC_RADIUS ** 2).sum())
    return int(math.ceil(P.MCC_MIN_COMMON_FRACTION * in_disc))


MIN_COMMON_CELLS = _min_common_cells()


@numba.njit(cache=True)
def raw_score(a_x, a_y, a_t, a_bits, a_mask, a_valid, b_x, b_y, b_t, b_bits, b_mask, b_valid,
              min_common, params):
    sim = local_similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, min_common)
    gate_by_rotation(sim, a_t, b_t, int(params[13]), params[14])
    return consolidate(sim, a_x, a_y, a_t, b_x, b_y, b_t, a_valid.sum(), b_valid.sum(), params)


def compare_cylinders(a: Cylinders, b: Cylinders) -> float:
    """Raw MCC LSS-R similarity in [0, 1]."""
    return float(raw_score(a.x, a.y, a.angle, a.bits, a.mask, a.valid, b.x, b.y, b.angle, b.bits, b.mask,
                           b.valid, MIN_COMMON_CELLS, _PARAMS))
