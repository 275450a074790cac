"""Fingerprint error rates as FVC defines them, vectorised (one sort per call, not one pass per
threshold): the fingerprint bench, its variants, robustness and fusion sections all use these."""
from __future__ import annotations

import numpy as np


def _fmr_at(impostor_sorted: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """FMR at each threshold (accepting scores >= it)."""
    return (impostor_sorted.size - np.searchsorted(impostor_sorted, thresholds, "left")) / impostor_sorted.size


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Equal error rate as FVC defines it: the midpoint of the interval where FMR and FNMR cross, over
    every score as a threshold (and +inf)."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    fmr = _fmr_at(impostor, thresholds)
    fnmr = np.searchsorted(genuine, thresholds, "left") / genuine.size
    below, above = np.flatnonzero(fnmr <= fmr), np.flatnonzero(fnmr >= fmr)
    t1 = below[-1] if below.size else 0
    t2 = above[0] if above.size else len(thresholds) - 1
    if fnmr[t1] + fmr[t1] <= fnmr[t2] + fmr[t2]:
        return float(fnmr[t1] + fmr[t1]) / 2
    return float(fmr[t2] + fnmr[t2]) / 2


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, target: float) -> float:
    """FNMR at the lowest threshold whose FMR is at most ``target`` (+inf accepts nothing, FMR 0)."""
    impostor = np.sort(impostor)
    thresholds = np.unique(np.concatenate([impostor, [np.inf]]))
    t = thresholds[np.flatnonzero(_fmr_at(impostor, thresholds) <= target)[0]]
    return float(np.mean(np.asarray(genuine) < t))
