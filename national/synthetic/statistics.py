"""Minutiae statistics of a set of templates, to check synthetic fingers against real ones.

Each template contributes its minutiae count, its minutiae's nearest-neighbour distances (spacing, at
500 dpi), the orientation difference between each minutia and its nearest neighbour (direction-field
smoothness: a smooth ridge flow gives small differences, random directions 45 degrees on average), its
bifurcation share and its minutiae's quality. :func:`comparison_rows` puts two sets side by side with a
two-sample Kolmogorov-Smirnov distance per distribution (0 = identical, 1 = disjoint).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from matcher.fingerprint.template import Template


@dataclass
class MinutiaeStatistics:
    counts: np.ndarray
    spacing: np.ndarray          # nearest-neighbour distance, px at 500 dpi
    orientation_step: np.ndarray # degrees, minutia vs its nearest neighbour, orientation mod 180
    bifurcation_share: np.ndarray
    quality: np.ndarray


def statistics(templates: list[Template]) -> MinutiaeStatistics:
    counts, spacing, step, share, quality = [], [], [], [], []
    for t in templates:
        m = t.minutiae
        if m.size < 2:
            continue
        scale = 500.0 / t.dpi
        xy = np.c_[m["x"], m["y"]].astype(np.float64) * scale
        dist, near = cKDTree(xy).query(xy, 2)
        a = m["angle"].astype(np.float64)
        d = np.abs(np.mod(2 * (a[near[:, 1]] - a) + math.pi, 2 * math.pi) - math.pi) / 2
        counts.append(m.size)
        spacing.append(dist[:, 1])
        step.append(np.degrees(d))
        known = m["kind"] > 0
        share.append(float(np.mean(m["kind"][known] == 2)) if known.any() else np.nan)
        quality.append(m["quality"].astype(np.float64))
    return MinutiaeStatistics(np.array(counts, np.float64), np.concatenate(spacing), np.concatenate(step),
                              np.array(share), np.concatenate(quality))


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: largest gap between the two empirical CDFs."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, "right") / a.size
                               - np.searchsorted(b, grid, "right") / b.size)))


def _summary(values: np.ndarray, fmt: str) -> str:
    v = values[np.isfinite(values)]
    return f"{np.median(v):{fmt}} [{np.percentile(v, 10):{fmt}}, {np.percentile(v, 90):{fmt}}]"


def comparison_rows(real: MinutiaeStatistics, synthetic: MinutiaeStatistics) -> list[tuple[str, str, str, str]]:
    """(quantity, real median [p10, p90], synthetic median [p10, p90], KS distance) rows."""
    rows = []
    for name, field, fmt in (("minutiae per template", "counts", ".0f"),
                             ("nearest-neighbour distance px", "spacing", ".1f"),
                             ("orientation step to neighbour deg", "orientation_step", ".1f"),
                             ("bifurcation share", "bifurcation_share", ".2f"),
                             ("minutia quality", "quality", ".0f")):
        r, s = getattr(real, field), getattr(synthetic, field)
        rows.append((name, _summary(r, fmt), _summary(s, fmt), f"{ks_distance(r, s):.2f}"))
    return rows


def score_quantiles(scores: np.ndarray, quantiles=(0.5, 0.9, 0.99, 0.999)) -> list[float]:
    return [float(np.quantile(scores, q)) for q in quantiles]
