"""Seam repair: rows a sweep sensor read abnormally bright (strip seams) are rebuilt from their neighbours.

A swipe sensor assembles the print from strips; where two strips meet, one row can come out brighter
over its whole width. A row is a seam when the median, over the pixels whose neighbours above and
below are ridge or valley (not saturated background), of how much brighter it is than the mean of
those two neighbours exceeds SEAM_MIN_STEP grey levels. Ridges never do that: they cross a row
at an angle, so the second difference along a column changes sign across the row and its median stays
near 0 (at most 5 grey levels on FVC2002 DB1-4, about 40 on a seam). A seam row is replaced by the mean
of its neighbours, after the strips between seams are moved back into line (strip_alignment.py).
"""
from __future__ import annotations

import numpy as np

from . import learned_parameters as L
from .strip_alignment import align_strips


def row_excess(image: np.ndarray, saturated: float = L.SEAM_SATURATED,
               min_share: float = L.SEAM_MIN_SHARE) -> np.ndarray:
    """Per inner row: the median brightness above the mean of the rows above and below, over the
    pixels whose neighbours are not saturated (0 where fewer than ``min_share`` of the row's pixels
    are). Length H - 2."""
    f = image.astype(np.float32)
    above, below = f[:-2], f[2:]
    excess = f[1:-1] - 0.5 * (above + below)
    usable = np.maximum(above, below) < saturated
    counts = usable.sum(axis=1)
    # The median of the usable pixels only, without a slow NaN-aware median: the unusable pixels are
    # replaced by equal numbers of very large and very small values, which leave the median in place
    # (exactly for an even number of them, within one neighbouring value otherwise).
    filler = np.where(np.cumsum(~usable, axis=1) % 2 == 0, 1e6, -1e6).astype(np.float32)
    medians = np.median(np.where(usable, excess, filler), axis=1)
    return np.where(counts >= min_share * f.shape[1], medians, 0.0).astype(np.float32)


def seam_rows(image: np.ndarray, min_step: float = L.SEAM_MIN_STEP) -> np.ndarray:
    """Indices of the rows that are seams."""
    return np.flatnonzero(row_excess(image) > min_step) + 1


def repair_seams(image: np.ndarray, min_step: float = L.SEAM_MIN_STEP, align: bool = L.STRIP_ALIGNMENT,
                 min_gain: float = L.STRIP_MIN_GAIN) -> np.ndarray:
    """``image`` with the strips between seams moved back into line (``align``: strip_alignment.py)
    and every seam row replaced by the mean of its neighbours (unchanged when there is no seam)."""
    rows = seam_rows(image, min_step)
    if rows.size == 0:
        return image
    f = image.astype(np.float32)
    if align:
        f, _ = align_strips(f, rows, min_gain=min_gain)
    out = np.clip(np.round(f), 0, 255).astype(np.uint8)
    out[rows] = np.round(0.5 * (f[rows - 1] + f[rows + 1])).astype(np.uint8)
    return out
