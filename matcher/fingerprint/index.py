"""Fixed-length codes for the 1:N pre-filter: a few pooled cylinders per template.

A cylinder's 16 x 16 x 6 bits are pooled (logical OR) over 2 x 2 spatial cells and pairs of
direction bins into 8 x 8 x 3 = 192 bits (three 64-bit words). A gallery template keeps the
INDEX_CYLINDERS pooled cylinders with most bits set (the most informative neighbourhoods), so
every code has the same size: INDEX_CYLINDERS x 3 words (384 bytes for 16). The pre-filter score of a
gallery template is the mean of its INDEX_TOP best matches among the probe's pooled cylinders
(MCC's bit similarity, 1 - sqrt|a xor b| / (sqrt|a| + sqrt|b|)): a cheap local-similarity-sort
(LSS) that keeps rotation and translation invariance. Measured on FVC2002 (same-database pairs)
it keeps 76 % of mates at a 1 % impostor pass rate (16 cylinders, mean of best 4), against 27 %
for MinHash of the full cylinder bits; the survivors are re-ranked with the full comparison.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import parameters as P
from .bits import popcount64

POOLED_WORDS = 3


@numba.njit(cache=True)
def _pool(bits, valid, ns, nd, spatial_words):
    """Pooled 192-bit version of every valid cylinder, and their popcounts."""
    n = bits.shape[0]
    out = np.zeros((n, POOLED_WORDS), np.uint64)
    counts = np.zeros(n, np.int64)
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
            rows += 1
        else:
            out[rows, :] = 0
    return out[:rows], counts[:rows]


def probe_code(bits: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """All pooled cylinders of a probe, (m, 3) uint64."""
    pooled, _ = _pool(bits, valid, P.MCC_NS, P.MCC_ND, (P.MCC_NS * P.MCC_NS + 63) // 64)
    return pooled


@numba.njit(cache=True)
def _gallery_code(pooled, counts, keep, out):
    order = np.argsort(-counts)
    for r in range(min(keep, order.size)):
        out[r, :] = pooled[order[r], :]


def gallery_code(bits: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The INDEX_CYLINDERS most informative pooled cylinders, (INDEX_CYLINDERS, 3) uint64 (zero-padded)."""
    out = np.zeros((P.INDEX_CYLINDERS, POOLED_WORDS), np.uint64)
    pooled, counts = _pool(bits, valid, P.MCC_NS, P.MCC_ND, (P.MCC_NS * P.MCC_NS + 63) // 64)
    _gallery_code(pooled, counts, P.INDEX_CYLINDERS, out)
    return out


@numba.njit(parallel=True, cache=True)
def prefilter_scores(probe, codes, count, top):
    """Mean of the ``top`` best probe matches of each gallery template's pooled cylinders."""
    m = probe.shape[0]
    probe_root = np.empty(m)
    for p in range(m):
        total = 0
        for w in range(POOLED_WORDS):
            total += popcount64(probe[p, w])
        probe_root[p] = math.sqrt(total)
    # sqrt of small integers, looked up instead of computed in the inner loop.
    roots = np.sqrt(np.arange(POOLED_WORDS * 64 * 2 + 1).astype(np.float64))
    keep = codes.shape[1]
    out = np.zeros(count, np.float32)
    for g in numba.prange(count):
        best = np.zeros(top)
        for r in range(keep):
            size = 0
            for w in range(POOLED_WORDS):
                size += popcount64(codes[g, r, w])
            if size == 0:
                break
            root = roots[size]
            high = 0.0
            for p in range(m):
                diff = 0
                for w in range(POOLED_WORDS):
                    diff += popcount64(codes[g, r, w] ^ probe[p, w])
                sim = 1.0 - roots[diff] / (root + probe_root[p])
                if sim > high:
                    high = sim
            # Insert into the running top list (kept sorted descending).
            if high > best[top - 1]:
                q = top - 1
                while q > 0 and best[q - 1] < high:
                    best[q] = best[q - 1]
                    q -= 1
                best[q] = high
        out[g] = best.sum() / top
    return out
