"""What the workflow is given: the booth's devices (an interface) and the matcher's functions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol


class BoothDevices(Protocol):
    """Implemented by :class:`kiosk.devices.DeviceSet`; adapters raise ``hardware.errors.DeviceError``
    subclasses (``capture_ink_frames`` may raise :class:`kiosk.workflow.DeviceFailed` naming the device)."""

    def read_card(self) -> Any: ...                            # hardware.mrz.IdDocument | None
    def capture_finger(self) -> tuple[Any, int]: ...            # (2-D uint8 image, dpi)
    def capture_face(self) -> Any: ...                          # RGB uint8 frame
    def capture_ink_frames(self, session: str | None = None) -> tuple[Any, Any]: ...  # (lamp off, lamp on) RGB
    def watch_camera(self, consume: Callable[[Any], Any]) -> Any: ...  # consume(hardware.mjpeg.MjpegStream)


@dataclass(frozen=True)
class Biometrics:
    """The matcher's functions, passed in so the workflow stays testable and import-light."""

    extract_finger: Callable[..., Any]
    compare_finger: Callable[[Any, Any], float]
    encode_face: Callable[[Any], Any]
    compare_face: Callable[[Any, Any], float]
    fuse: Callable[..., Any]              # fuse(face=score|None, fingers=[...]) -> FusedScore(score, fmr, modalities)
    decide: Callable[[Any, float], bool]
    finger_low_quality: tuple[type[BaseException], ...]
    face_capture_errors: tuple[type[BaseException], ...]
    detect_ink: Callable[[Any, Any], Any]
    liveness_check: Callable[[Any], Any] | None = None     # (random.Random) -> matcher.face.liveness.LivenessCheck
    landmark_tracker: Callable[[], Any] | None = None      # () -> object with .landmarks(rgb) -> 68x2 | None

    def new_liveness_check(self, rng):
        if self.liveness_check is not None:
            return self.liveness_check(rng)
        from matcher.face.liveness import LivenessCheck, plan_for
        return LivenessCheck(plan_for(rng))

    def new_landmark_tracker(self):
        if self.landmark_tracker is not None:
            return self.landmark_tracker()
        from matcher.face.liveness import LandmarkTracker
        return LandmarkTracker()

    @classmethod
    def default(cls) -> "Biometrics":
        from hardware import ink
        from matcher import face, fingerprint, fusion

        return cls(extract_finger=fingerprint.extract, compare_finger=fingerprint.compare,
                   encode_face=face.encode, compare_face=face.compare, fuse=fusion.fuse, decide=fusion.decide,
                   finger_low_quality=(fingerprint.LowQualityError,),
                   face_capture_errors=(face.CaptureError, face.ImageFormatError),
                   detect_ink=ink.detect_ink)
