"""Local similarities of two cylinder sets and the pairs worth consolidating (MCC paper, sec. 5).

1. Local similarity of every pair of valid cylinders: 1 - |a xor b| / (|a| + |b|) over the cells
   valid in both (norms are square roots of popcounts).
2. Pairs whose minutiae turn far from the dominant rotation between the prints are dropped, and the
   best one-to-one pairs (greedy on similarity) go on to :mod:`.consolidation`, in one pass.
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


_BINS = 256


@numba.njit(cache=True, inline="always")
def _bin(v):
    """Value bin of a positive similarity, 0 for the highest: bins are monotone in the value, so
    ordering bin by bin, each bin sorted, orders all entries."""
    return _BINS - min(int(v * _BINS), _BINS)


@numba.njit(cache=True, inline="always")
def _sort_descending(flat, grouped, lo, hi):
    """Insertion sort of grouped[lo:hi] by descending value. Bins hold few entries, and being
    stable it keeps equal values in index order (the order a stable sort of all entries gives)."""
    for q in range(lo + 1, hi):
        idx = grouped[q]
        v = flat[idx]
        r = q
        while r > lo and flat[grouped[r - 1]] < v:
            grouped[r] = grouped[r - 1]
            r -= 1
        grouped[r] = idx


@numba.njit(cache=True)
def rotation_gated_pairs(sim, a_t, b_t, n_r, top, gate, pa, pb, lam):
    """The best one-to-one pairs among the pairs whose minutiae turn by the prints' dominant rotation
    (within ``gate``), most similar first. Returns the number of pairs written to pa, pb, lam.

    1. Order: every positive similarity, descending, ties by index (a counting sort into value bins;
       a bin is sorted only when the pass reaches it).
    2. Rotation: MCC compares only minutiae turned by less than 90 degrees, which assumes the prints
       are roughly aligned. The dominant rotation is estimated from the ``top`` most similar pairs (a
       histogram of direction differences weighted by similarity), which keeps that filter's benefit
       while staying invariant to how the finger was placed.
    3. Greedy: in that order, a pair is taken when it turns within ``gate`` of the rotation and
       neither minutia is taken yet; the pass ends at ``n_r`` pairs. Before a bin is sorted its
       entries are filtered to the pairs still possible, so late bins cost almost nothing.

    The result equals zeroing the gated entries of ``sim`` and then running a greedy pass over a
    stable sort of all of them (tests/test_fingerprint_compare_exact.py states it that way)."""
    m, n = sim.shape
    flat = sim.ravel()
    starts = np.zeros(_BINS + 2, np.int64)
    for v in flat:
        if v > 0:
            starts[_bin(v) + 1] += 1
    for b in range(1, _BINS + 2):
        starts[b] += starts[b - 1]
    grouped = np.empty(starts[_BINS + 1], np.int64)
    fill = starts[:_BINS + 1].copy()
    for idx in range(flat.size):
        v = flat[idx]
        if v > 0:
            b = _bin(v)
            grouped[fill[b]] = idx
            fill[b] += 1
    # 2. The rotation, from the first `top` entries in order (the bins they fill, sorted).
    hist = np.zeros(ROTATION_BINS)
    sorted_bins = 0
    seen = 0
    while sorted_bins <= _BINS and seen < top:
        lo, hi = starts[sorted_bins], starts[sorted_bins + 1]
        _sort_descending(flat, grouped, lo, hi)
        for q in range(lo, min(hi, lo + top - seen)):
            idx = grouped[q]
            d = angle_diff(a_t[idx // n], b_t[idx % n]) + math.pi
            hist[int(d * ROTATION_BINS / (2 * math.pi)) % ROTATION_BINS] += flat[idx]
        seen += hi - lo
        sorted_bins += 1
    rotation = dominant_rotation(hist)
    # 3. The greedy pass.
    used_a = np.zeros(m, np.bool_)
    used_b = np.zeros(n, np.bool_)
    count = 0
    for b in range(_BINS + 1):
        # The bin's pairs still possible, in their order (a stable compaction keeps a sorted bin
        # sorted); a bin the rotation did not sort is sorted now, only what survives.
        lo, hi = starts[b], starts[b + 1]
        kept = lo
        for q in range(lo, hi):
            idx = grouped[q]
            i = idx // n
            j = idx % n
            if not (used_a[i] or used_b[j]) and abs(angle_diff(angle_diff(a_t[i], b_t[j]), rotation)) <= gate:
                grouped[kept] = idx
                kept += 1
        if b >= sorted_bins:
            _sort_descending(flat, grouped, lo, kept)
        for q in range(lo, kept):
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
