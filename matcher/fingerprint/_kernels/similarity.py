"""Local similarities of two cylinder sets and the pairs worth consolidating (MCC paper, sec. 5).

1. Local similarity of every pair of valid cylinders: 1 - |a xor b| / (|a| + |b|) over the cells
   valid in both (norms are square roots of popcounts).
2. Pairs whose minutiae turn far from the dominant rotation between the prints are dropped.
3. The best one-to-one pairs (greedy on similarity) go on to :mod:`.consolidation`.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..bits import popcount64
from .geometry import ROTATION_BINS, angle_diff, dominant_rotation


@numba.njit(cache=True)
def local_similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, cylinder):
    """1 - |a xor b| / (|a| + |b|) (norms: square roots of popcounts) over the cells valid in both, for
    every pair of valid cylinders sharing at least ``cylinder.min_common_cells`` valid cells; else 0."""
    nd, words, min_common = cylinder.nd, cylinder.spatial_words, cylinder.min_common_cells
    # The default geometry (16 x 16 cells in 4 words, 6 direction bins) gets its own copy of the loops
    # with the sizes as literals, where they unroll (over twice as fast). The literals are checked
    # against the arguments on every call, so a changed parameters.py takes the general path.
    if nd == 6 and words == 4:
        return _similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, 6, 4, min_common)
    return _similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, nd, words, min_common)


@numba.njit(cache=True, inline="always")
def _similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, nd, words, min_common):
    m = a_valid.size
    n = b_valid.size
    out = np.zeros((m, n), np.float32)
    # B's words transposed (word-major), so the innermost loops run along B's cylinders over
    # contiguous words: they vectorise. This stage alone is about a fifth faster than one pair at a
    # time in a warm loop; a whole 1:1 comparison only 3-5 % (interleaved A/B, thread CPU, all 12,640
    # FVC2002 same-database pairs: cold template data costs more than the popcounts). The counts are
    # the same integers, so the similarities are bit-identical.
    bt = np.empty((nd * words, n), np.uint64)
    mt = np.empty((words, n), np.uint64)
    for j in range(n):
        for w in range(nd * words):
            bt[w, j] = b_bits[j, w]
        for s in range(words):
            mt[s, j] = b_mask[j, s]
    common = np.empty(n, np.uint64)
    shared = np.empty(n, np.int64)
    pa = np.empty(n, np.int64)
    pb = np.empty(n, np.int64)
    px = np.empty(n, np.int64)
    for i in range(m):
        if not a_valid[i]:
            continue
        shared[:] = 0
        pa[:] = 0
        pb[:] = 0
        px[:] = 0
        for s in range(words):
            am = a_mask[i, s]
            for j in range(n):
                c = am & mt[s, j]
                common[j] = c
                shared[j] += popcount64(c)
            for k in range(nd):
                aw = a_bits[i, k * words + s]
                b_row = bt[k * words + s]
                for j in range(n):
                    c = common[j]
                    wa = aw & c
                    wb = b_row[j] & c
                    pa[j] += popcount64(wa)
                    pb[j] += popcount64(wb)
                    px[j] += popcount64(wa ^ wb)
        for j in range(n):
            if not b_valid[j] or shared[j] < min_common:
                continue
            norms = math.sqrt(pa[j]) + math.sqrt(pb[j])
            if norms > 0:
                out[i, j] = 1.0 - math.sqrt(px[j]) / norms
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
        d = angle_diff(a_t[idx // n], b_t[idx % n]) + math.pi
        hist[int(d * bins / (2 * math.pi)) % bins] += flat[idx]
    rotation = dominant_rotation(hist)
    for i in range(m):
        for j in range(n):
            if sim[i, j] > 0 and abs(angle_diff(angle_diff(a_t[i], b_t[j]), rotation)) > gate:
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
