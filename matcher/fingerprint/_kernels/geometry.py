"""Small numba helpers every matching kernel shares."""
from __future__ import annotations

import math

import numba

ROTATION_BINS = 36   # 10-degree bins for the histogram of direction differences


@numba.njit(cache=True)
def angle_diff(a, b):
    """a - b wrapped to [-pi, pi)."""
    d = a - b
    while d < -math.pi:
        d += 2 * math.pi
    while d >= math.pi:
        d -= 2 * math.pi
    return d


@numba.njit(cache=True)
def sigmoid(v, mu, tau):
    return 1.0 / (1.0 + math.exp(-tau * (v - mu)))


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
