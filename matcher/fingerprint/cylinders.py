"""Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni, TPAMI 2010), bit version.

Each minutia gets a cylinder: a disc of radius R around it, aligned with its direction, cut into
Ns x Ns spatial cells and Nd direction bins. A cell's bit is set when neighbouring minutiae near the
cell centre have a direction difference (relative to the central minutia) falling in that bin.
Because everything is relative to the central minutia, cylinders are invariant to rotation and
translation. Cells outside the minutiae's convex hull (plus a margin) are marked invalid, so
partial overlap compares only the area both prints saw.

Bit layout: bit ``k * S + s`` for direction bin k and spatial cell s = i * Ns + j, where S is the
spatial cell count rounded up to whole 64-bit words; the validity mask covers the S spatial bits
once and applies to every direction bin.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from . import parameters as P
from .bits import popcount64

SPATIAL_WORDS = (P.MCC_NS * P.MCC_NS + 63) // 64
WORDS = SPATIAL_WORDS * P.MCC_ND


class Cylinders(NamedTuple):
    """A template ready for comparison: minutiae at 500 dpi in y-up axes, and their cylinders."""
    x: np.ndarray        # float32 (n,)
    y: np.ndarray        # float32 (n,)  (y up)
    angle: np.ndarray    # float32 (n,)  counter-clockwise, radians
    bits: np.ndarray     # uint64 (n, WORDS)
    mask: np.ndarray     # uint64 (n, SPATIAL_WORDS)
    valid: np.ndarray    # bool (n,)


@numba.njit(cache=True)
def _convex_hull(xs, ys):
    """Andrew's monotone chain; counter-clockwise vertex indices."""
    n = xs.size
    order = np.argsort(xs * 1e4 + ys)
    hull = np.empty(2 * n + 1, np.int64)
    k = 0
    for idx in range(n):
        i = order[idx]
        while k >= 2 and ((xs[hull[k - 1]] - xs[hull[k - 2]]) * (ys[i] - ys[hull[k - 2]])
                          - (ys[hull[k - 1]] - ys[hull[k - 2]]) * (xs[i] - xs[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = i
        k += 1
    lower = k + 1
    for idx in range(n - 2, -1, -1):
        i = order[idx]
        while k >= lower and ((xs[hull[k - 1]] - xs[hull[k - 2]]) * (ys[i] - ys[hull[k - 2]])
                              - (ys[hull[k - 1]] - ys[hull[k - 2]]) * (xs[i] - xs[hull[k - 2]])) <= 0:
            k -= 1
        hull[k] = i
        k += 1
    return hull[:max(k - 1, 1)]


@numba.njit(cache=True)
def _near_hull(px, py, xs, ys, hull, margin):
    """True when (px, py) is inside the convex hull or within ``margin`` of it."""
    h = hull.size
    if h < 3:
        best = 1e18
        for v in range(h):
            d = (px - xs[hull[v]]) ** 2 + (py - ys[hull[v]]) ** 2
            best = min(best, d)
        return best <= margin * margin
    inside = True
    best = 1e18
    for v in range(h):
        ax, ay = xs[hull[v]], ys[hull[v]]
        bx, by = xs[hull[(v + 1) % h]], ys[hull[(v + 1) % h]]
        ex, ey = bx - ax, by - ay
        if ex * (py - ay) - ey * (px - ax) < 0:
            inside = False
        length2 = ex * ex + ey * ey
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * ex + (py - ay) * ey) / length2))
        qx, qy = ax + t * ex - px, ay + t * ey - py
        best = min(best, qx * qx + qy * qy)
    return inside or best <= margin * margin


@numba.njit(cache=True)
def _angle_diff(a, b):
    """a - b wrapped to [-pi, pi)."""
    d = a - b
    while d < -math.pi:
        d += 2 * math.pi
    while d >= math.pi:
        d -= 2 * math.pi
    return d


@numba.njit(cache=True)
def build(xs, ys, ts, ns, nd, radius, sigma_s, sigma_d, mu_psi, margin, min_valid_fraction,
          min_neighbours):
    n = xs.size
    spatial_words = (ns * ns + 63) // 64
    bits = np.zeros((n, spatial_words * nd), np.uint64)
    mask = np.zeros((n, spatial_words), np.uint64)
    valid = np.zeros(n, np.bool_)
    if n == 0:
        return bits, mask, valid
    hull = _convex_hull(xs, ys)
    delta_s = 2.0 * radius / ns
    delta_d = 2.0 * math.pi / nd
    reach = 3.0 * sigma_s
    gauss_norm = 1.0 / (sigma_s * math.sqrt(2 * math.pi))
    erf_scale = 1.0 / (sigma_d * math.sqrt(2.0))
    # Directional contribution of every ordered pair (depends only on their angle difference).
    direction = np.zeros((n, n, nd))
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            dtheta = _angle_diff(ts[a], ts[b])
            for k in range(nd):
                alpha = _angle_diff(-math.pi + (k + 0.5) * delta_d, dtheta)
                direction[a, b, k] = 0.5 * (math.erf((alpha + delta_d / 2) * erf_scale)
                                            - math.erf((alpha - delta_d / 2) * erf_scale))
    neighbours = np.empty(n, np.int64)
    cells_in_disc = 0
    for i in range(ns):
        for j in range(ns):
            dx = delta_s * (i - (ns - 1) / 2.0)
            dy = delta_s * (j - (ns - 1) / 2.0)
            if dx * dx + dy * dy <= radius * radius:
                cells_in_disc += 1
    sums = np.zeros(nd)
    for m in range(n):
        count = 0
        for t in range(n):
            if t != m and (xs[t] - xs[m]) ** 2 + (ys[t] - ys[m]) ** 2 <= (radius + reach) ** 2:
                neighbours[count] = t
                count += 1
        c, s = math.cos(ts[m]), math.sin(ts[m])
        valid_cells = 0
        for i in range(ns):
            for j in range(ns):
                dx = delta_s * (i - (ns - 1) / 2.0)
                dy = delta_s * (j - (ns - 1) / 2.0)
                if dx * dx + dy * dy > radius * radius:
                    continue
                px = xs[m] + c * dx - s * dy
                py = ys[m] + s * dx + c * dy
                if not _near_hull(px, py, xs, ys, hull, margin):
                    continue
                cell = i * ns + j
                mask[m, cell >> 6] |= np.uint64(1) << np.uint64(cell & 63)
                valid_cells += 1
                for k in range(nd):
                    sums[k] = 0.0
                for q in range(count):
                    t = neighbours[q]
                    d2 = (xs[t] - px) ** 2 + (ys[t] - py) ** 2
                    if d2 > reach * reach:
                        continue
                    spatial = gauss_norm * math.exp(-d2 / (2 * sigma_s * sigma_s))
                    for k in range(nd):
                        sums[k] += spatial * direction[m, t, k]
                for k in range(nd):
                    if sums[k] > mu_psi:
                        b = k * spatial_words * 64 + cell
                        bits[m, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
        valid[m] = valid_cells >= min_valid_fraction * cells_in_disc and count >= min_neighbours
    return bits, mask, valid


def to_reference_axes(minutiae: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions at 500 dpi with y pointing up, so ISO angles are ordinary counter-clockwise angles."""
    scale = P.REFERENCE_DPI / float(dpi)
    xs = (minutiae["x"].astype(np.float64) * scale)
    ys = (-minutiae["y"].astype(np.float64) * scale)
    ts = minutiae["angle"].astype(np.float64)
    return xs, ys, ts


def cylinders_for(minutiae: np.ndarray, dpi: float) -> Cylinders:
    xs, ys, ts = to_reference_axes(minutiae, dpi)
    bits, mask, valid = build(xs, ys, ts, P.MCC_NS, P.MCC_ND, P.MCC_RADIUS, P.MCC_SIGMA_S, P.MCC_SIGMA_D,
                              P.MCC_MU_PSI, P.MCC_HULL_MARGIN, P.MCC_MIN_VALID_FRACTION,
                              P.MCC_MIN_NEIGHBOURS)
    return Cylinders(xs.astype(np.float32), ys.astype(np.float32), ts.astype(np.float32), bits, mask, valid)
