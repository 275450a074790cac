"""Fixed-length codes for the 1:N pre-filter: MinHash of cylinder bits into presence bitmaps.

Each valid cylinder is summarised, per hash table, by a bucket: two MinHash values of the set of
"on" bits in its inner cells (cells near the minutia, which both impressions nearly always see),
combined and reduced to INDEX_BITS bits. Two cylinders land in the same bucket with probability
about the square of their Jaccard similarity, so mated prints share many buckets and unrelated
prints few. A template's code is one 2**INDEX_BITS-bit presence bitmap per table; the pre-filter
score is the popcount of the AND of two codes, normalised by their sizes (a cosine on bit sets).
Codes are 512 bytes per template with the default parameters, so 100,000 templates scan in
milliseconds; the survivors are re-ranked with the full comparison.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import parameters as P
from .bits import popcount64
from .cylinders import SPATIAL_WORDS, WORDS

CODE_WORDS = P.INDEX_TABLES * (1 << P.INDEX_BITS) // 64


def _inner_bit_positions() -> np.ndarray:
    ns = P.MCC_NS
    delta = 2.0 * P.MCC_RADIUS / ns
    positions = []
    for k in range(P.MCC_ND):
        for i in range(ns):
            for j in range(ns):
                dx, dy = delta * (i - (ns - 1) / 2.0), delta * (j - (ns - 1) / 2.0)
                if math.hypot(dx, dy) <= 0.65 * P.MCC_RADIUS:
                    positions.append(k * SPATIAL_WORDS * 64 + i * ns + j)
    return np.array(positions, np.int64)


INNER_BITS = _inner_bit_positions()
# Random rank of every inner bit for each (table, hash); fixed seed so every machine agrees.
_RANKS = np.random.default_rng(P.INDEX_SEED).integers(1, 2 ** 31, size=(P.INDEX_TABLES, 2, INNER_BITS.size),
                                                       dtype=np.int64)


@numba.njit(cache=True)
def _code(bits, valid, inner, ranks, tables, bucket_bits, out):
    buckets = 1 << bucket_bits
    words_per_table = buckets // 64
    for c in range(bits.shape[0]):
        if not valid[c]:
            continue
        for t in range(tables):
            m0 = np.int64(2 ** 62)
            m1 = np.int64(2 ** 62)
            for q in range(inner.size):
                b = inner[q]
                if (bits[c, b >> 6] >> np.uint64(b & 63)) & np.uint64(1):
                    if ranks[t, 0, q] < m0:
                        m0 = ranks[t, 0, q]
                    if ranks[t, 1, q] < m1:
                        m1 = ranks[t, 1, q]
            if m0 == np.int64(2 ** 62):
                continue
            bucket = ((m0 * 2654435761 + m1 * 40503) >> 7) & (buckets - 1)
            w = t * words_per_table + (bucket >> 6)
            out[w] |= np.uint64(1) << np.uint64(bucket & 63)


RANKS = _RANKS


def code_for(bits: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.zeros(CODE_WORDS, np.uint64)
    _code(bits, valid, INNER_BITS, _RANKS, P.INDEX_TABLES, P.INDEX_BITS, out)
    return out


@numba.njit(parallel=True, cache=True)
def prefilter_scores(probe_code, codes, count):
    """Cosine of the probe code and each of the first ``count`` gallery codes, both cores."""
    words = probe_code.size
    probe_pop = 0
    for w in range(words):
        probe_pop += popcount64(probe_code[w])
    out = np.zeros(count, np.float32)
    for g in numba.prange(count):
        common = 0
        pop = 0
        for w in range(words):
            common += popcount64(probe_code[w] & codes[g, w])
            pop += popcount64(codes[g, w])
        if pop > 0 and probe_pop > 0:
            out[g] = common / math.sqrt(pop * probe_pop)
    return out
