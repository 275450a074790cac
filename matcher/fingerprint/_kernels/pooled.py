"""Pre-filter kernels of the 1:N index (the method is described in :mod:`matcher.fingerprint.index`).

A pooled cylinder is POOLED_WORDS 64-bit words: the cylinder's bits ORed over 2 x 2 spatial cells
and pairs of direction bins. The code format is fixed here, not derived from the parameters, so the
word loops unroll; :mod:`matcher.fingerprint.index` checks at import that the cylinder geometry in
``parameters.py`` fits in it.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..bits import popcount64
from .consolidation import relaxed_score
from .geometry import ROTATION_BINS, angle_diff, dominant_rotation

POOLED_WORDS = 3


@numba.njit(cache=True)
def pool(bits, valid, cylinder):
    """Pooled 192-bit version of every valid cylinder, their popcounts and source rows."""
    ns, nd, spatial_words = cylinder.ns, cylinder.nd, cylinder.spatial_words
    n = bits.shape[0]
    out = np.zeros((n, POOLED_WORDS), np.uint64)
    counts = np.zeros(n, np.int64)
    sources = np.zeros(n, np.int64)
    rows = 0
    half = ns // 2
    for c in range(n):
        if not valid[c]:
            continue
        for k in range(nd):
            for i in range(ns):
                for j in range(ns):
                    b = k * spatial_words * 64 + i * ns + j
                    if (bits[c, b >> 6] >> np.uint64(b & 63)) & np.uint64(1):
                        q = (k // 2) * half * half + (i // 2) * half + (j // 2)
                        out[rows, q >> 6] |= np.uint64(1) << np.uint64(q & 63)
        total = 0
        for w in range(POOLED_WORDS):
            total += popcount64(out[rows, w])
        if total > 0:
            counts[rows] = total
            sources[rows] = c
            rows += 1
        else:
            out[rows, :] = 0
    return out[:rows], counts[:rows], sources[:rows]


@numba.njit(cache=True)
def gallery_code_into(pooled, counts, sources, out, anchors):
    """Write the ``out.shape[0]`` pooled cylinders with most bits set into ``out`` and their minutiae
    into ``anchors`` (rows left as they are where the template has fewer)."""
    keep = out.shape[0]
    order = np.argsort(-counts, kind="mergesort")
    for r in range(min(keep, order.size)):
        out[r, :] = pooled[order[r], :]
        anchors[r] = sources[order[r]]


@numba.njit(cache=True)
def best_match(row, probe, probe_root, roots):
    """The probe's pooled cylinder most similar to the gallery's pooled cylinder ``row``:
    (similarity, index), or (0, -1) when none is similar at all."""
    size = 0
    for w in range(POOLED_WORDS):
        size += popcount64(row[w])
    root = roots[size]
    best = 0.0
    arg = -1
    for p in range(probe.shape[0]):
        diff = 0
        for w in range(POOLED_WORDS):
            diff += popcount64(row[w] ^ probe[p, w])
        sim = 1.0 - roots[diff] / (root + probe_root[p])
        if sim > best:
            best = sim
            arg = p
    return best, arg


@numba.njit(cache=True)
def popcount_roots(probe):
    """sqrt of every possible popcount (looked up, not computed, in the inner loops), and of each
    probe cylinder's popcount."""
    roots = np.sqrt(np.arange(POOLED_WORDS * 64 * 2 + 1).astype(np.float64))
    probe_root = np.empty(probe.shape[0])
    for p in range(probe.shape[0]):
        total = 0
        for w in range(POOLED_WORDS):
            total += popcount64(probe[p, w])
        probe_root[p] = roots[total]
    return roots, probe_root


@numba.njit(parallel=True, cache=True)
def prefilter_scores(probe, codes, count, top):
    """Mean of the ``top`` best probe matches of each gallery template's pooled cylinders."""
    roots, probe_root = popcount_roots(probe)
    keep = codes.shape[1]
    out = np.zeros(count, np.float32)
    for g in numba.prange(count):
        best = np.zeros(top)
        for r in range(keep):
            if codes[g, r, 0] == 0 and codes[g, r, 1] == 0 and codes[g, r, 2] == 0:
                break   # padding: templates with fewer than INDEX_CYLINDERS cylinders
            high, _ = best_match(codes[g, r], probe, probe_root, roots)
            # Insert into the running top list (kept sorted descending).
            if high > best[top - 1]:
                q = top - 1
                while q > 0 and best[q - 1] < high:
                    best[q] = best[q - 1]
                    q -= 1
                best[q] = high
        out[g] = best.sum() / top
    return out


@numba.njit(cache=True)
def geometric_score(probe, probe_root, probe_x, probe_y, probe_t, code, anchor, lo, xs, ys, ts, roots,
                    consolidation):
    """One candidate's stage-2 score (see the module text). Equivalent to the full comparison's rotation
    gate and consolidation applied to a similarity matrix holding only each kept cylinder's best match,
    but working on those few pairs directly."""
    m = probe.shape[0]
    rows = 0
    while rows < code.shape[0] and anchor[rows] >= 0:
        rows += 1
    if rows == 0 or m == 0:
        return 0.0
    pa = np.empty(rows, np.int64)
    pb = np.empty(rows, np.int64)
    lam = np.empty(rows)
    gx = np.empty(rows, np.float32)
    gy = np.empty(rows, np.float32)
    gt = np.empty(rows, np.float32)
    bins = ROTATION_BINS
    hist = np.zeros(bins)
    found = 0
    for r in range(rows):
        at = lo + anchor[r]
        gx[r], gy[r], gt[r] = xs[at], ys[at], ts[at]
        best, arg = best_match(code[r], probe, probe_root, roots)
        if arg >= 0:
            pa[found] = r
            pb[found] = arg
            lam[found] = best
            found += 1
            d = angle_diff(gt[r], probe_t[arg]) + math.pi
            hist[int(d * bins / (2 * math.pi)) % bins] += best
    rotation = dominant_rotation(hist)
    # Most similar first (stable: ties keep row order), then the rotation gate and one probe
    # cylinder per pair, as the full comparison's greedy pass does.
    order = np.argsort(-lam[:found], kind="mergesort")
    used = np.zeros(m, np.bool_)
    qa = np.empty(found, np.int64)
    qb = np.empty(found, np.int64)
    weights = np.empty(found)
    count = 0
    for q in order:
        turn = angle_diff(angle_diff(gt[pa[q]], probe_t[pb[q]]), rotation)
        if used[pb[q]] or abs(turn) > consolidation.rotation_gate:
            continue
        used[pb[q]] = True
        qa[count] = pa[q]
        qb[count] = pb[q]
        weights[count] = lam[q]
        count += 1
        if count >= consolidation.max_pairs:
            break
    return relaxed_score(qa, qb, weights, count, gx, gy, gt, probe_x, probe_y, probe_t, rows, m,
                          consolidation)


@numba.njit(parallel=True, cache=True)
def geometric_scores(probe, probe_x, probe_y, probe_t, codes, anchors, xs, ys, ts, offsets, candidates,
                     consolidation):
    """Stage 2 for each candidate (gallery index): kept cylinders paired with their most similar probe
    cylinders, consolidated by geometry."""
    roots, probe_root = popcount_roots(probe)
    out = np.zeros(candidates.size)
    for c in numba.prange(candidates.size):
        g = candidates[c]
        out[c] = geometric_score(probe, probe_root, probe_x, probe_y, probe_t, codes[g], anchors[g], offsets[g],
                                 xs, ys, ts, roots, consolidation)
    return out
