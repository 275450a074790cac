"""Face engine: quality-gated capture, calibrated 1:1 comparison, compact 1:N gallery.

Pure computation: arrays in, results out (only :meth:`Gallery.save` / :meth:`Gallery.load` touch
files, explicitly). The dlib models load on first use, so ``import matcher.face`` is cheap.

    tpl = face.encode(rgb)                 # NoFaceError / MultipleFacesError / LowQualityError(.reason)
    face.compare(a, b) -> float            # -10 * log10(FMR) from the active calibration table
    face.threshold_for_fmr(1e-4) -> float  # score threshold (40.0)
    face.Gallery(templates).search(probe, top_k=10) -> [(index, score), ...]
"""
from __future__ import annotations

import numpy as np

from matcher.face.active import DEFAULT_CALIBRATION, get_calibration, set_calibration
from matcher.face.calibration import CalibrationTable, build_table, eer
from matcher.face.calibration import threshold_for_fmr as _threshold_for_fmr
from matcher.face.encoder import encode
from matcher.face.errors import (REASONS, CalibrationError, CaptureError, EngineUnavailableError, FaceError,
                                 GalleryError, ImageFormatError, LowQualityError, MultipleFacesError, NoFaceError,
                                 TemplateFormatError)
from matcher.face.gallery import Gallery
from matcher.face.quality import DEFAULT_POLICY, FaceQuality, QualityPolicy
from matcher.face.template import Template

__all__ = [
    "encode", "compare", "distance", "threshold_for_fmr", "Template", "Gallery", "FaceQuality", "QualityPolicy",
    "DEFAULT_POLICY", "CalibrationTable", "build_table", "eer", "set_calibration", "get_calibration",
    "DEFAULT_CALIBRATION", "REASONS", "FaceError", "CaptureError", "NoFaceError", "MultipleFacesError",
    "LowQualityError", "ImageFormatError", "TemplateFormatError", "CalibrationError", "EngineUnavailableError",
    "GalleryError",
]


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
