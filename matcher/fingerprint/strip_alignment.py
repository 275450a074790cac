"""Strip alignment: the strips a sweep sensor assembled are moved sideways back into line.

A swipe sensor builds the print from strips read while the finger slides over it. When the finger
drifts sideways between two strips, the lower strip sits offset from the one above, and every ridge
crossing the join breaks into two ridge endings the extractor reports as minutiae. The joins are the
seam rows (seam_repair.seam_rows). At each join the strip below is shifted by the d (|d| at most
STRIP_MAX_SHIFT pixels) that lets the ridges continue most smoothly across it: the least mean squared
second difference down the columns, over every other row so that the seam row itself is skipped (rows
s-3, s-1, s+1 and s-1, s+1, s+3 of a seam at s), over the pixels that are not saturated background.
A smooth continuation is unbiased by the ridges' slant to first order (the cross term of slope and
curvature averages out along a row), where matching the rows above and below directly is not. Strips
are aligned top to bottom, each to the one above it as already aligned. A join is left as it is when
it has too little print on it, when the strip is too short to measure, or when the best offset makes
the continuation less than STRIP_MIN_GAIN smoother than none: the cost is biased where ridges run
nearly along the rows (a large phase step from one row to the next), and at a join the finger did
not drift a small bias must not move the strip, nor every strip after it, which is aligned to it.
"""
from __future__ import annotations

import numpy as np

from . import learned_parameters as L


def shifted(rows: np.ndarray, d: int) -> np.ndarray:
    """``rows`` (k x W) moved left by ``d`` pixels (right when negative), edge pixels repeated."""
    if d == 0:
        return rows
    out = np.empty_like(rows)
    if d > 0:
        out[:, :-d], out[:, -d:] = rows[:, d:], rows[:, -1:]
    else:
        out[:, -d:], out[:, :-d] = rows[:, :d], rows[:, :1]
    return out


def join_offset(f: np.ndarray, s: int, max_shift: int = L.STRIP_MAX_SHIFT, min_gain: float = L.STRIP_MIN_GAIN,
                saturated: float = L.SEAM_SATURATED, min_share: float = L.SEAM_MIN_SHARE) -> int:
    """How many pixels the strip starting at seam row ``s`` of ``f`` (float image) sits right of the
    rows above it: 0 when the join has too little print on it to tell, or when no offset makes the
    ridges continue at least ``min_gain`` (a share of the cost) more smoothly than none."""
    above3, above1 = f[s - 3], f[s - 1]
    print_above = np.maximum(above3, above1) < saturated
    costs = np.empty(2 * max_shift + 1)
    for k, d in enumerate(range(-max_shift, max_shift + 1)):
        below1, below3 = shifted(f[[s + 1, s + 3]], d)
        usable = print_above & (np.maximum(below1, below3) < saturated)
        usable[:max_shift] = usable[-max_shift:] = False
        if usable.sum() < min_share * f.shape[1]:
            return 0
        across = below1 - 2 * above1 + above3
        after = below3 - 2 * below1 + above1
        costs[k] = np.mean(across[usable] ** 2 + after[usable] ** 2)
    best = int(np.argmin(costs))
    return best - max_shift if costs[best] < (1.0 - min_gain) * costs[max_shift] else 0


def align_strips(f: np.ndarray, seams: np.ndarray, max_shift: int = L.STRIP_MAX_SHIFT,
                 min_gain: float = L.STRIP_MIN_GAIN) -> tuple[np.ndarray, list[int]]:
    """(``f`` with each strip below a seam shifted into line with the one above, the offset found at
    each seam). ``f``: float image; ``seams``: ascending seam rows."""
    out = f.copy()
    h = f.shape[0]
    ends = list(seams[1:]) + [h]
    offsets = []
    for s, end in zip(seams, ends):
        d = join_offset(out, int(s), max_shift, min_gain) if 3 <= s and s + 3 < end else 0
        if d:
            out[s:end] = shifted(out[s:end], d)
        offsets.append(d)
    return out, offsets
