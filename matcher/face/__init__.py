"""Face engine: policy-gated capture, calibrated 1:1 comparison, compact 1:N gallery.

Pure computation: arrays in, results out (only :meth:`Gallery.save` / :meth:`Gallery.load` touch
files, explicitly). The dlib models load on first use, so ``import matcher.face`` is cheap.

    tpl = face.encode(rgb)                          # booth camera (face.CAPTURE): strict, says what to fix
    tpl = face.encode(rgb, policy=face.ENROLMENT)   # registry photo: accepted down to where accuracy breaks
    face.compare(a, b) -> float                     # -10 * log10(FMR) from the active calibration table
    face.threshold_for_fmr(1e-4) -> float           # score threshold (40.0)
    face.Gallery(templates).search(probe, top_k=10) -> [(index, score), ...]

Refusals raise :class:`CaptureError` (``.reason`` is one of ``matcher.face.errors.REASONS``);
every error derives from :class:`FaceError`. The rest is importable from the submodules:
``errors`` (every error class), ``policies`` (``Policy``), ``quality`` (``FaceQuality``),
``calibration`` and ``active`` (tables, ``set_calibration``), ``scoring`` (``distance``),
``liveness`` (presentation-attack detection at the booth).
"""
from __future__ import annotations

from matcher.face.encoder import encode
from matcher.face.errors import CaptureError, FaceError, ImageFormatError
from matcher.face.gallery import Gallery
from matcher.face.policies import CAPTURE, ENROLMENT
from matcher.face.scoring import compare, threshold_for_fmr
from matcher.face.template import Template

__all__ = ["encode", "compare", "threshold_for_fmr", "Template", "Gallery", "CAPTURE", "ENROLMENT",
           "FaceError", "CaptureError", "ImageFormatError"]
