"""Kernels building MCC cylinders (method and bit layout: :mod:`matcher.fingerprint.cylinders`)."""
from __future__ import annotations

import math

import numba
import numpy as np

from .geometry import angle_diff


@numba.njit(cache=True)
def convex_hull(xs, ys):
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
def hull_edges(xs, ys, hull):
    """Outward unit normals (nx, ny) and offsets c of the hull edges: outside distance = nx*x + ny*y - c."""
    h = hull.size
    edges = np.zeros((max(h, 1), 3))
    if h < 3:
        return edges[:0]
    for v in range(h):
        ax, ay = xs[hull[v]], ys[hull[v]]
        bx, by = xs[hull[(v + 1) % h]], ys[hull[(v + 1) % h]]
        ex, ey = bx - ax, by - ay
        length = math.sqrt(ex * ex + ey * ey)
        if length == 0:
            continue
        # Counter-clockwise hull: the outward normal is the edge turned clockwise.
        nx, ny = ey / length, -ex / length
        edges[v, 0] = nx
        edges[v, 1] = ny
        edges[v, 2] = nx * ax + ny * ay
    return edges


@numba.njit(cache=True)
def near_hull(px, py, edges, margin):
    """True when (px, py) lies within ``margin`` of the hull along every edge normal (a polygon
    grown by ``margin``, with square instead of rounded corners: one dot product per edge)."""
    for v in range(edges.shape[0]):
        if edges[v, 0] * px + edges[v, 1] * py - edges[v, 2] > margin:
            return False
    return True


@numba.njit(cache=True)
def build_cylinders(xs, ys, ts, cylinder, direction_table):
    """Bits, validity mask and validity flag of every minutia's cylinder (see the module text).
    ``cylinder`` is a :class:`~matcher.fingerprint.parameters.CylinderParameters`; ``direction_table``
    holds the directional contribution by angle difference."""
    ns, nd, radius, sigma_s = cylinder.ns, cylinder.nd, cylinder.radius, cylinder.sigma_s
    mu_psi, margin = cylinder.mu_psi, cylinder.hull_margin
    n = xs.size
    spatial_words = cylinder.spatial_words
    bits = np.zeros((n, spatial_words * nd), np.uint64)
    mask = np.zeros((n, spatial_words), np.uint64)
    valid = np.zeros(n, np.bool_)
    if n == 0:
        return bits, mask, valid
    edges = hull_edges(xs, ys, convex_hull(xs, ys))
    delta_s = 2.0 * radius / ns
    delta_d = 2.0 * math.pi / nd
    reach = 3.0 * sigma_s
    gauss_norm = 1.0 / (sigma_s * math.sqrt(2 * math.pi))
    # Directional contribution of every ordered pair, looked up by their angle difference.
    bins = direction_table.shape[0]
    direction = np.zeros((n, n, nd))
    for a in range(n):
        for b in range(n):
            if a != b:
                q = int((angle_diff(ts[a], ts[b]) + math.pi) * bins / (2 * math.pi)) % bins
                for k in range(nd):
                    direction[a, b, k] = direction_table[q, k]
    cells_in_disc = 0
    for i in range(ns):
        for j in range(ns):
            dx = delta_s * (i - (ns - 1) / 2.0)
            dy = delta_s * (j - (ns - 1) / 2.0)
            if dx * dx + dy * dy <= radius * radius:
                cells_in_disc += 1
    sums = np.zeros((ns * ns, nd))
    cell_ok = np.zeros(ns * ns, np.bool_)
    gauss_v = np.zeros(ns)
    centre = (ns - 1) / 2.0
    near_edges = np.empty((edges.shape[0], 3))
    for m in range(n):
        c, s = math.cos(ts[m]), math.sin(ts[m])
        # Only hull edges the disc can cross matter; a minutia deep inside the hull skips them all.
        e = 0
        for v in range(edges.shape[0]):
            if edges[v, 0] * xs[m] + edges[v, 1] * ys[m] - edges[v, 2] + radius > margin:
                near_edges[e, :] = edges[v, :]
                e += 1
        valid_cells = 0
        for i in range(ns):
            for j in range(ns):
                cell = i * ns + j
                cell_ok[cell] = False
                dx = delta_s * (i - centre)
                dy = delta_s * (j - centre)
                if dx * dx + dy * dy > radius * radius:
                    continue
                if e > 0 and not near_hull(xs[m] + c * dx - s * dy, ys[m] + s * dx + c * dy,
                                            near_edges[:e], margin):
                    continue
                cell_ok[cell] = True
                mask[m, cell >> 6] |= np.uint64(1) << np.uint64(cell & 63)
                valid_cells += 1
        sums[:, :] = 0.0
        count = 0
        # Scatter each neighbour into the cells within 3 sigma of it (cheaper than gathering per cell).
        for t in range(n):
            if t == m:
                continue
            rx, ry = xs[t] - xs[m], ys[t] - ys[m]
            if rx * rx + ry * ry > (radius + reach) ** 2:
                continue
            count += 1
            # Neighbour position in the cylinder frame, in cell units.
            u = (c * rx + s * ry) / delta_s + centre
            v = (-s * rx + c * ry) / delta_s + centre
            span = reach / delta_s
            i0 = max(0, int(math.ceil(u - span)))
            i1 = min(ns - 1, int(math.floor(u + span)))
            j0 = max(0, int(math.ceil(v - span)))
            j1 = min(ns - 1, int(math.floor(v + span)))
            # The Gaussian is separable: one exp per row and per column of the window.
            for j in range(j0, j1 + 1):
                gauss_v[j - j0] = math.exp(-((j - v) * delta_s) ** 2 / (2 * sigma_s * sigma_s))
            for i in range(i0, i1 + 1):
                gauss_u = gauss_norm * math.exp(-((i - u) * delta_s) ** 2 / (2 * sigma_s * sigma_s))
                for j in range(j0, j1 + 1):
                    cell = i * ns + j
                    if not cell_ok[cell]:
                        continue
                    if ((i - u) ** 2 + (j - v) ** 2) * delta_s * delta_s > reach * reach:
                        continue
                    spatial = gauss_u * gauss_v[j - j0]
                    for k in range(nd):
                        sums[cell, k] += spatial * direction[m, t, k]
        for cell in range(ns * ns):
            if not cell_ok[cell]:
                continue
            for k in range(nd):
                if sums[cell, k] > mu_psi:
                    b = k * spatial_words * 64 + cell
                    bits[m, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
        valid[m] = (valid_cells >= cylinder.min_valid_fraction * cells_in_disc
                    and count >= cylinder.min_neighbours)
    return bits, mask, valid
