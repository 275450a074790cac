"""Lazy access to the dlib models bundled in ``face_recognition_models``.

``face_recognition`` calls ``quit()`` (exit code 0!) when ``import face_recognition_models`` fails,
which would silently end the kiosk. So the models package is imported first, under a warnings
filter (it imports the deprecated ``pkg_resources``), and a failure becomes
:class:`EngineUnavailableError`. Loading happens on first use so ``import matcher`` stays cheap.
"""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

from matcher.face.errors import EngineUnavailableError


@dataclass(frozen=True)
class Models:
    detector: Any        # dlib HOG frontal face detector (never the CNN one: seconds per frame on CPU)
    landmarks_68: Any    # dlib shape predictor, 68 points: pose estimation
    landmarks_5: Any     # dlib shape predictor, 5 points: alignment for the encoder (as trained)
    encoder: Any         # dlib ResNet face descriptor, 128-D


_lock = threading.Lock()
_models: Models | None = None


def load() -> Models:
    """Load the models once per process (thread-safe)."""
    global _models
    if _models is not None:
        return _models
    with _lock:
        if _models is None:
            _models = _load()
    return _models


def _load() -> Models:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import face_recognition_models  # noqa: F401  (must precede face_recognition, see above)
    except Exception as exc:  # any failure here would make face_recognition quit() the process
        raise EngineUnavailableError(
            "the face models package 'face_recognition_models' cannot be imported "
            f"({type(exc).__name__}); install face-recognition-models==0.3.0") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from face_recognition import api
    except Exception as exc:
        raise EngineUnavailableError(
            f"face_recognition cannot be imported ({type(exc).__name__}); is dlib-bin installed?") from exc
    return Models(detector=api.face_detector, landmarks_68=api.pose_predictor_68_point,
                  landmarks_5=api.pose_predictor_5_point, encoder=api.face_encoder)
