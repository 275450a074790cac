"""Typed errors of the face engine.

Every capture-quality error carries ``reason``, a stable machine-readable code the booth screen maps
to an instruction ("move closer", "more light", ...). Messages never contain image data or templates.
"""
from __future__ import annotations

# The reasons a capture can be refused; the booth screen keys its instructions on these strings.
REASONS = ("no_face", "several_faces", "too_small", "too_dark", "too_bright", "blurred", "not_frontal")


class FaceError(Exception):
    """Base class of every error raised by ``matcher.face``."""


class CaptureError(FaceError):
    """The frame cannot give a usable template; ``reason`` says why (one of :data:`REASONS`)."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown capture reason {reason!r}")
        super().__init__(message)
        self.reason = reason


class NoFaceError(CaptureError):
    def __init__(self, message: str = "no face found in the frame") -> None:
        super().__init__("no_face", message)


class MultipleFacesError(CaptureError):
    def __init__(self, count: int) -> None:
        super().__init__("several_faces",
                         f"{count} faces of similar size in the frame; only the voter may face the camera")
        self.count = count


class LowQualityError(CaptureError):
    """One face was found but it is too small, too dark, too bright, blurred or not frontal."""


class ImageFormatError(FaceError, ValueError):
    """The array is not an image the engine accepts (dtype, shape or channel count)."""


class TemplateFormatError(FaceError, ValueError):
    """Bytes that are not a face template of a known version and the right length."""


class CalibrationError(FaceError, ValueError):
    """A calibration table or its input distances are unusable."""


class EngineUnavailableError(FaceError, RuntimeError):
    """The dlib models (package ``face_recognition_models``) cannot be loaded."""


class GalleryError(FaceError, ValueError):
    """A gallery directory or a gallery operation is invalid (missing files, shapes, versions)."""
