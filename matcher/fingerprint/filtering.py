"""Removal of false minutiae: edge artefacts, spurs, broken ridges, bridges, noisy clusters.

Each rule is a pure function from candidates (and maps) to a boolean keep-mask, so the trace
can show what each one removed.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from . import parameters as P
from .minutiae import BIFURCATION, ENDING, Candidates


def _pairwise_distance(c: Candidates) -> np.ndarray:
    dx = c.x[:, None] - c.x[None, :]
    dy = c.y[:, None] - c.y[None, :]
    d = np.sqrt(dx * dx + dy * dy)
    np.fill_diagonal(d, np.inf)
    return d


def _angle_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b) % (2 * math.pi)
    return np.minimum(d, 2 * math.pi - d)


def inside_mask(c: Candidates, mask: np.ndarray, dpi: float) -> np.ndarray:
    """Keep minutiae far enough from the mask edge (ridges ending at the edge are not minutiae)."""
    distance = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    xi = np.clip(np.round(c.x).astype(int), 0, mask.shape[1] - 1)
    yi = np.clip(np.round(c.y).astype(int), 0, mask.shape[0] - 1)
    return distance[yi, xi] >= P.at_dpi(P.MINUTIA_BORDER_DISTANCE, dpi)


def coherent(c: Candidates, coherence: np.ndarray) -> np.ndarray:
    xi = np.clip(np.round(c.x).astype(int), 0, coherence.shape[1] - 1)
    yi = np.clip(np.round(c.y).astype(int), 0, coherence.shape[0] - 1)
    return coherence[yi, xi] >= P.MINUTIA_MIN_COHERENCE


def merge_duplicate_bifurcations(c: Candidates, dpi: float) -> np.ndarray:
    """A junction drawn over two or three touching pixels counts once."""
    keep = np.ones(len(c), bool)
    d = _pairwise_distance(c)
    bif = np.flatnonzero(c.kind == BIFURCATION)
    for i in bif:
        if keep[i]:
            close = bif[(d[i, bif] <= 3.0) & (bif > i)]
            keep[close] = False
    return keep


def not_spur(c: Candidates, dpi: float) -> np.ndarray:
    """An ending whose ridge meets a branch after a short run is a spur: drop it and that branch.
    An ending whose ridge stops after a short run is a dot or a short island: drop it."""
    keep = np.ones(len(c), bool)
    limit = P.at_dpi(P.SPUR_LENGTH, dpi)
    for i in np.flatnonzero((c.kind == ENDING) & (c.trace_steps < limit)):
        keep[i] = False
        if c.trace_hit_branch[i]:
            dx = c.x - c.trace_end_x[i]
            dy = c.y - c.trace_end_y[i]
            near = (c.kind == BIFURCATION) & (dx * dx + dy * dy <= 9.0)
            keep[near] = False
    return keep


def not_broken_ridge(c: Candidates, dpi: float) -> np.ndarray:
    """Two endings facing each other across a short gap are one ridge with a break."""
    keep = np.ones(len(c), bool)
    d = _pairwise_distance(c)
    ends = np.flatnonzero(c.kind == ENDING)
    limit = P.at_dpi(P.BREAK_DISTANCE, dpi)
    for i in ends:
        for j in ends[(d[i, ends] < limit) & (ends > i)]:
            opposite = _angle_gap(np.float32(c.angle[i] + math.pi), c.angle[j]) < P.BREAK_ANGLE
            # The gap itself must run along the ridge, i.e. along i's direction.
            towards = math.atan2(c.y[j] - c.y[i], c.x[j] - c.x[i])
            aligned = _angle_gap(np.float32(towards), c.angle[i]) < P.BREAK_ANGLE
            if opposite and aligned:
                keep[i] = keep[j] = False
    return keep


def not_bridge(c: Candidates, dpi: float) -> np.ndarray:
    """Two bifurcations close together are usually a bridge across a valley."""
    keep = np.ones(len(c), bool)
    d = _pairwise_distance(c)
    bif = np.flatnonzero(c.kind == BIFURCATION)
    limit = P.at_dpi(P.BRIDGE_DISTANCE, dpi)
    for i in bif:
        close = bif[d[i, bif] < limit]
        if close.size:
            keep[i] = False
            keep[close] = False
    return keep


def not_cluster(c: Candidates, dpi: float) -> np.ndarray:
    """Many minutiae packed in a small disc come from noise, scars or creases."""
    if len(c) == 0:
        return np.ones(0, bool)
    d = _pairwise_distance(c)
    return (d < P.at_dpi(P.CLUSTER_RADIUS, dpi)).sum(axis=1) <= P.CLUSTER_MAX


def remove_false(c: Candidates, mask: np.ndarray, coherence: np.ndarray, dpi: float,
                 trace=None) -> Candidates:
    """Apply every rule in order; ``trace`` (if given) sees the survivors of each."""
    rules = [
        ("filter_duplicates", lambda c: merge_duplicate_bifurcations(c, dpi)),
        ("filter_spurs", lambda c: not_spur(c, dpi)),
        ("filter_broken_ridges", lambda c: not_broken_ridge(c, dpi)),
        ("filter_bridges", lambda c: not_bridge(c, dpi)),
        ("filter_border", lambda c: inside_mask(c, mask, dpi)),
        ("filter_incoherent", lambda c: coherent(c, coherence)),
        ("filter_clusters", lambda c: not_cluster(c, dpi)),
    ]
    for name, rule in rules:
        if len(c):
            c = c.subset(rule(c))
        if trace is not None:
            trace(name, c)
    return c
