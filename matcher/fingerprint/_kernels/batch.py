"""Parallel kernels over a gallery's stored minutiae (see :class:`matcher.fingerprint.gallery.Gallery`).

The gallery keeps only minutiae (x, y, angle at 500 dpi, float32, concatenated; template g at
``offsets[g]:offsets[g + 1]``), so every kernel here rebuilds a template's cylinders when it needs them.
The exact comparisons run consolidation.raw_score, compiled into these kernels' numba cache (kept in step
with the sources by the package's __init__).
"""
from __future__ import annotations

import numba
import numpy as np

from .consolidation import raw_score
from .cylinders import build_cylinders
from .pooled import gallery_code_into, pool


@numba.njit(cache=True)
def template_cylinders(xs, ys, ts, lo, hi, cylinder, table):
    """Cylinders of the gallery template whose minutiae are stored at [lo, hi): the gallery keeps
    only minutiae, so every exact comparison rebuilds them."""
    return build_cylinders(xs[lo:hi].astype(np.float64), ys[lo:hi].astype(np.float64),
                           ts[lo:hi].astype(np.float64), cylinder, table)


@numba.njit(parallel=True, cache=True)
def rerank(p_x, p_y, p_t, p_bits, p_mask, p_valid, xs, ys, ts, offsets, candidates, cylinder, consolidation,
           table):
    """Raw scores of the probe (cylinders built) against the ``candidates`` (gallery indices)."""
    out = np.zeros(candidates.size, np.float64)
    for c in numba.prange(candidates.size):
        lo, hi = offsets[candidates[c]], offsets[candidates[c] + 1]
        bits, mask, valid = template_cylinders(xs, ys, ts, lo, hi, cylinder, table)
        out[c] = raw_score(p_x, p_y, p_t, p_bits, p_mask, p_valid, xs[lo:hi], ys[lo:hi], ts[lo:hi],
                           bits, mask, valid, cylinder, consolidation)
    return out


@numba.njit(parallel=True, cache=True)
def codes_batch(xs, ys, ts, offsets, first, last, codes, anchors, cylinder, table):
    """Pre-filter codes and anchors of gallery templates ``first`` to ``last - 1``, written in place."""
    for g in numba.prange(first, last):
        bits, mask, valid = template_cylinders(xs, ys, ts, offsets[g], offsets[g + 1], cylinder, table)
        pooled, counts, sources = pool(bits, valid, cylinder)
        gallery_code_into(pooled, counts, sources, codes[g], anchors[g])


@numba.njit(parallel=True, cache=True)
def exhaustive(probes_x, probes_y, probes_t, probes_bits, probes_mask, probes_valid, probe_offsets,
               xs, ys, ts, offsets, count, cylinder, consolidation, table):
    """Raw scores of every probe against every gallery template; each template's cylinders built once."""
    n_probes = probe_offsets.size - 1
    out = np.zeros((n_probes, count), np.float64)
    for g in numba.prange(count):
        lo, hi = offsets[g], offsets[g + 1]
        bits, mask, valid = template_cylinders(xs, ys, ts, lo, hi, cylinder, table)
        for p in range(n_probes):
            a, b = probe_offsets[p], probe_offsets[p + 1]
            out[p, g] = raw_score(probes_x[a:b], probes_y[a:b], probes_t[a:b], probes_bits[a:b],
                                  probes_mask[a:b], probes_valid[a:b], xs[lo:hi], ys[lo:hi], ts[lo:hi],
                                  bits, mask, valid, cylinder, consolidation)
    return out
