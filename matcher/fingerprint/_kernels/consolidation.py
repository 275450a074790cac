"""LSS-R consolidation (MCC paper, sec. 5) and the whole raw comparison of two cylinder sets.

The best one-to-one pairs are relaxed: each pair's weight is reinforced by pairs that agree with it
geometrically (distance, relative direction, radial angle), which suppresses pairs that look alike
locally but sit in the wrong place. The score is the mean relaxed weight of the n_P most "efficient"
pairs, n_P growing with the number of minutiae (a sigmoid between LSS_MIN_NP and LSS_MAX_NP).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..parameters import ConsolidationParameters, CylinderParameters   # the classes only, never values
from .geometry import angle_diff, sigmoid
from .similarity import local_similarities, rotation_gated_pairs


@numba.njit(cache=True)
def relaxed_score(pa, pb, lam, count, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, consolidation):
    """LSS-R: the first ``count`` pairs (minutia ``pa[t]`` of A with ``pb[t]`` of B, local similarity
    ``lam[t]``) reinforce each other by geometric compatibility; the score is the mean relaxed weight
    of the n_P most efficient pairs."""
    c = consolidation
    min_np, max_np, mu_p, tau_p = c.min_np, c.max_np, c.mu_p, c.tau_p
    mu1, tau1, mu2, tau2 = c.mu_distance, c.tau_distance, c.mu_angle, c.tau_angle
    mu3, tau3, w_r = c.mu_radial, c.tau_radial, c.relaxation_weight
    n_p = int(min_np + round(sigmoid(min(count_a, count_b), mu_p, tau_p) * (max_np - min_np)))
    if count == 0:
        return 0.0
    if count == 1:
        return lam[0] / max(n_p, 1)
    # Geometric compatibility of every two selected pairs. Each factor is a sigmoid; once one is
    # below 1e-4 the product is negligible, so the cheaper tests run first and end early. Most
    # pairs are incompatible, so each pair keeps a list of its compatible ones, in ascending order
    # (the relaxation adds the same non-zero terms in the same order as over a dense matrix: the
    # same sums, bit for bit).
    neighbours = np.empty((count, count - 1), np.int64)
    weights = np.empty((count, count - 1))
    degree = np.zeros(count, np.int64)
    cut1 = mu1 + 9.2 / abs(tau1)
    cut2 = mu2 + 9.2 / abs(tau2)
    cut3 = mu3 + 9.2 / abs(tau3)
    for t in range(count):
        i1, j1 = pa[t], pb[t]
        for k in range(t + 1, count):
            i2, j2 = pa[k], pb[k]
            d2 = abs(angle_diff(angle_diff(a_t[i1], a_t[i2]), angle_diff(b_t[j1], b_t[j2])))
            if d2 > cut2:
                continue
            dax, day = a_x[i2] - a_x[i1], a_y[i2] - a_y[i1]
            dbx, dby = b_x[j2] - b_x[j1], b_y[j2] - b_y[j1]
            d1 = abs(math.sqrt(dax * dax + day * day) - math.sqrt(dbx * dbx + dby * dby))
            if d1 > cut1:
                continue
            ra = angle_diff(a_t[i1], math.atan2(day, dax))
            rb = angle_diff(b_t[j1], math.atan2(dby, dbx))
            d3 = abs(angle_diff(ra, rb))
            if d3 > cut3:
                continue
            r = sigmoid(d1, mu1, tau1) * sigmoid(d2, mu2, tau2) * sigmoid(d3, mu3, tau3)
            if r == 0.0:
                continue
            neighbours[t, degree[t]] = k
            weights[t, degree[t]] = r
            degree[t] += 1
            neighbours[k, degree[k]] = t
            weights[k, degree[k]] = r
            degree[k] += 1
    initial = lam[:count].copy()
    current = initial.copy()
    nxt = np.empty(count)
    for _ in range(c.iterations):
        for t in range(count):
            acc = 0.0
            for e in range(degree[t]):
                acc += weights[t, e] * current[neighbours[t, e]]
            nxt[t] = w_r * current[t] + (1 - w_r) * acc / (count - 1)
        current[:] = nxt
    efficiency = current / initial
    best = np.argsort(-efficiency)
    take = min(n_p, count)
    total = 0.0
    for q in range(take):
        total += current[best[q]]
    # Dividing by n_P (not by the pairs found) penalises prints with too few correspondences.
    return total / n_p


@numba.njit(cache=True)
def consolidate(sim, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, consolidation):
    """The best one-to-one pairs of the similarity matrix that turn by the prints' dominant rotation
    (:func:`.similarity.rotation_gated_pairs`), relaxed and scored (:func:`relaxed_score`)."""
    m, n = sim.shape
    n_r = min(m, n, consolidation.max_pairs)
    pa = np.empty(n_r, np.int64)
    pb = np.empty(n_r, np.int64)
    lam = np.empty(n_r)
    count = rotation_gated_pairs(sim, a_t, b_t, n_r, consolidation.rotation_top_pairs, consolidation.rotation_gate,
                                 pa, pb, lam)
    return relaxed_score(pa, pb, lam, count, a_x, a_y, a_t, b_x, b_y, b_t, count_a, count_b, consolidation)


@numba.njit(cache=True)
def raw_score(a_x, a_y, a_t, a_bits, a_mask, a_valid, b_x, b_y, b_t, b_bits, b_mask, b_valid,
              cylinder, consolidation):
    """Raw MCC LSS-R similarity in [0, 1] of cylinder sets A and B (positions, angles, bits, masks, flags)."""
    sim = local_similarities(a_bits, a_mask, a_valid, b_bits, b_mask, b_valid, cylinder)
    return consolidate(sim, a_x, a_y, a_t, b_x, b_y, b_t, a_valid.sum(), b_valid.sum(), consolidation)


@numba.njit(cache=True)
def raw_score_from_python(a_x, a_y, a_t, a_bits, a_mask, a_valid, b_x, b_y, b_t, b_bits, b_mask, b_valid,
                          cylinder_fields, consolidation_fields):
    """:func:`raw_score` called from Python with the parameters as plain tuples (the fields of a
    CylinderParameters and of a ConsolidationParameters): numba's dispatcher types a plain tuple
    several times faster than a named one, which shows in a 1:1 comparison (~15 % of its time)."""
    return raw_score(a_x, a_y, a_t, a_bits, a_mask, a_valid, b_x, b_y, b_t, b_bits, b_mask, b_valid,
                     CylinderParameters(*cylinder_fields), ConsolidationParameters(*consolidation_fields))
