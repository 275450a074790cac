"""1:1 scores: Euclidean distance between unit embeddings, turned into -10 * log10(FMR) by the calibration table."""
from __future__ import annotations

import numpy as np

from matcher.face.active import get_calibration
from matcher.face.calibration import CalibrationTable
from matcher.face.calibration import threshold_for_fmr as _threshold_for_fmr
from matcher.face.template import Template


def distance(a: Template, b: Template) -> float:
    """Euclidean distance between two templates' unit embeddings (0 = identical, 2 = opposite)."""
    return float(np.linalg.norm(a.vector - b.vector))


def compare(a: Template, b: Template, calibration: CalibrationTable | None = None) -> float:
    """Calibrated similarity: -10 * log10(FMR at this distance); 40 means 1 impostor pair in 10,000."""
    if not isinstance(a, Template) or not isinstance(b, Template):
        raise TypeError("face.compare takes two face.Template objects")
    return float((calibration or get_calibration()).score(distance(a, b)))


def threshold_for_fmr(fmr: float, calibration: CalibrationTable | None = None) -> float:
    """Score threshold at which the active (or given) calibration admits at most ``fmr`` impostors."""
    return _threshold_for_fmr(fmr, calibration or get_calibration())
