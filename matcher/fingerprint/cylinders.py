"""Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni, TPAMI 2010), bit version.

Each minutia gets a cylinder: a disc of radius R around it, aligned with its direction, cut into
Ns x Ns spatial cells and Nd direction bins. A cell's bit is set when neighbouring minutiae near the
cell centre have a direction difference (relative to the central minutia) falling in that bin.
Because everything is relative to the central minutia, cylinders are invariant to rotation and
translation. Cells outside the minutiae's convex hull (plus a margin) are marked invalid, so
partial overlap compares only the area both prints saw.

Bit layout: bit ``k * S + s`` for direction bin k and spatial cell s = i * Ns + j, where S is the
spatial cell count rounded up to whole 64-bit words; the validity mask covers the S spatial bits
once and applies to every direction bin. The numba kernels are in :mod:`._kernels.cylinders`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import parameters as P
from ._kernels import build_cylinders

CYLINDER = P.cylinder_parameters()
SPATIAL_WORDS = CYLINDER.spatial_words
WORDS = SPATIAL_WORDS * CYLINDER.nd


class Cylinders(NamedTuple):
    """A template ready for comparison: minutiae at 500 dpi in y-up axes, and their cylinders."""
    x: np.ndarray        # float32 (n,)
    y: np.ndarray        # float32 (n,)  (y up)
    angle: np.ndarray    # float32 (n,)  counter-clockwise, radians
    bits: np.ndarray     # uint64 (n, WORDS)
    mask: np.ndarray     # uint64 (n, SPATIAL_WORDS)
    valid: np.ndarray    # bool (n,)


def direction_table(nd: int, sigma_d: float, bins: int = 1024) -> np.ndarray:
    """Share of a Gaussian (sigma_d) around each angle difference that falls in each direction bin."""
    delta_d = 2 * math.pi / nd
    scale = 1.0 / (sigma_d * math.sqrt(2.0))
    table = np.zeros((bins, nd))
    for q in range(bins):
        dtheta = -math.pi + (q + 0.5) * 2 * math.pi / bins
        for k in range(nd):
            alpha = (-math.pi + (k + 0.5) * delta_d - dtheta + math.pi) % (2 * math.pi) - math.pi
            table[q, k] = 0.5 * (math.erf((alpha + delta_d / 2) * scale) - math.erf((alpha - delta_d / 2) * scale))
    return table


DIRECTION_TABLE = direction_table(P.MCC_ND, P.MCC_SIGMA_D)


def to_reference_axes(minutiae: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions at 500 dpi with y pointing up, so ISO angles are ordinary counter-clockwise angles."""
    scale = P.REFERENCE_DPI / float(dpi)
    # Rounded through float32, as the gallery stores them, so 1:1 and 1:N scores agree exactly.
    xs = (minutiae["x"].astype(np.float64) * scale).astype(np.float32).astype(np.float64)
    ys = (-minutiae["y"].astype(np.float64) * scale).astype(np.float32).astype(np.float64)
    ts = minutiae["angle"].astype(np.float32).astype(np.float64)
    return xs, ys, ts


def cylinders_for(minutiae: np.ndarray, dpi: float) -> Cylinders:
    xs, ys, ts = to_reference_axes(minutiae, dpi)
    bits, mask, valid = build_cylinders(xs, ys, ts, CYLINDER, DIRECTION_TABLE)
    return Cylinders(xs.astype(np.float32), ys.astype(np.float32), ts.astype(np.float32), bits, mask, valid)
