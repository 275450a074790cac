"""Capture quality measures and the policy that turns them into accept / reason.

Pure functions on arrays: the booth needs a reason it can act on ("move closer", "more light",
"look at the camera"), so every measure is a plain number checked against a documented threshold.
The thresholds in :class:`QualityPolicy` were set on the photos in ``../shared/datasets/faces``
(every usable portrait there passes with a margin) and on degraded copies of them (darkened,
over-exposed, blurred, turned, shrunk), which the tests use as the specification.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from matcher.face.errors import LowQualityError, MultipleFacesError, NoFaceError


@dataclass(frozen=True)
class Box:
    """A face box in frame pixels (dlib's HOG box covers brows to chin, ear to ear, roughly)."""
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def scaled(self, factor: float) -> "Box":
        return Box(self.left * factor, self.top * factor, self.right * factor, self.bottom * factor)


@dataclass(frozen=True)
class QualityPolicy:
    """Thresholds of the capture gate; every field is a documented, replaceable default."""

    # The encoder aligns the face to a 150 x 150 chip; below ~80 px of face width the chip is an
    # upsampled blur and genuine distances grow. 80 px is also the HOG detector's window.
    min_face_px: float = 80.0
    # Bystander rule: the voter stands closest to the camera, so their face is the largest. Other
    # faces are tolerated when each is at most this fraction of the largest face's width (clearly
    # further away); otherwise whom to verify is ambiguous and the capture is refused.
    bystander_max_ratio: float = 0.6
    # Mean grey level (0-255) of the face box. Portraits in the datasets span 87-185.
    min_brightness: float = 40.0
    max_brightness: float = 220.0
    # Share of face-box pixels at 250 or above: a burnt-out face has lost its texture (datasets: <= 0.14).
    max_saturated_share: float = 0.25
    # Variance of the Laplacian of the face crop resized to 128 x 128 (so the measure does not
    # depend on distance to the camera). The portraits in the datasets give 79-1560; a Gaussian blur
    # of sigma = face width / 60 (about 4 px on a 250 px face) brings them to 7-25.
    min_sharpness: float = 30.0
    # Yaw as the nose tip's horizontal offset from the middle of the jaw line, as a share of the
    # jaw width (0 = frontal, +-0.5 = nose at the cheek contour). Posed portraits in the datasets
    # reach 0.29; the half-profile bystander in selfie-many-people.jpg is at 0.40.
    max_yaw: float = 0.35
    # Roll (head tilt) is undone by alignment, but a strong tilt means the voter is not facing the booth.
    max_roll_deg: float = 30.0


DEFAULT_POLICY = QualityPolicy()


@dataclass(frozen=True)
class Pose:
    yaw: float       # signed share of jaw width, see QualityPolicy.max_yaw
    roll_deg: float  # eye line angle, degrees


@dataclass(frozen=True)
class FaceQuality:
    """Quality measures of the face a template was made from (kept with the template)."""
    face_px: float
    brightness: float
    saturated_share: float
    sharpness: float
    yaw: float
    roll_deg: float

    def score(self, policy: QualityPolicy = DEFAULT_POLICY) -> int:
        """0-100 summary: 0 = at the gate's limits, 100 = comfortably inside every one of them."""
        margins = [
            _margin(self.face_px, policy.min_face_px, 2.5 * policy.min_face_px),
            _margin(self.sharpness, policy.min_sharpness, 4 * policy.min_sharpness),
            _margin(min(self.brightness - policy.min_brightness, policy.max_brightness - self.brightness),
                    0.0, 40.0),
            _margin(policy.max_yaw - abs(self.yaw), 0.0, policy.max_yaw),
        ]
        return int(round(100 * min(margins)))


def _margin(value: float, low: float, good: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (good - low))))


def choose_subject(boxes: list[Box], policy: QualityPolicy = DEFAULT_POLICY) -> Box:
    """The voter's face among the detections, by the bystander rule; raises when there is none or it is ambiguous."""
    if not boxes:
        raise NoFaceError()
    ordered = sorted(boxes, key=lambda b: b.width, reverse=True)
    largest = ordered[0]
    rivals = [b for b in ordered[1:] if b.width > policy.bystander_max_ratio * largest.width]
    if rivals:
        raise MultipleFacesError(1 + len(rivals))
    if largest.width < policy.min_face_px:
        raise LowQualityError("too_small", f"face is {largest.width:.0f} px wide, needs "
                              f"{policy.min_face_px:.0f}: move closer to the camera")
    return largest


def face_crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    """Greyscale copy of the part of the frame inside ``box`` (clipped to the frame)."""
    h, w = rgb.shape[:2]
    top, bottom = max(0, int(box.top)), min(h, int(math.ceil(box.bottom)))
    left, right = max(0, int(box.left)), min(w, int(math.ceil(box.right)))
    if bottom - top < 2 or right - left < 2:
        raise NoFaceError("the face box lies outside the frame")
    return cv2.cvtColor(np.ascontiguousarray(rgb[top:bottom, left:right]), cv2.COLOR_RGB2GRAY)


def exposure(crop: np.ndarray) -> tuple[float, float]:
    """(mean grey level, share of pixels >= 250) of a greyscale face crop."""
    return float(crop.mean()), float(np.count_nonzero(crop >= 250)) / crop.size


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the crop resized to 128 x 128 (scale-independent focus measure)."""
    norm = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(norm, cv2.CV_64F).var())


def pose_from_landmarks(points: np.ndarray) -> Pose:
    """Rough yaw and roll from the 68 iBUG landmarks (x, y rows).

    Yaw: where the nose tip (30) sits between the jaw line's ends (0 and 16), in jaw widths from the
    middle. Roll: angle of the line through the eye centres (36-41 and 42-47).
    """
    if points.shape != (68, 2):
        raise ValueError(f"expected 68 x 2 landmarks, got {points.shape}")
    left_jaw, right_jaw, nose = points[0], points[16], points[30]
    jaw = right_jaw - left_jaw
    jaw_width = float(np.hypot(*jaw))
    if jaw_width <= 0:
        return Pose(yaw=1.0, roll_deg=0.0)
    along = float(np.dot(nose - left_jaw, jaw)) / (jaw_width * jaw_width)  # 0..1 along the jaw line
    eye_a, eye_b = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    roll = math.degrees(math.atan2(eye_b[1] - eye_a[1], eye_b[0] - eye_a[0]))
    return Pose(yaw=along - 0.5, roll_deg=roll)


def measure(rgb: np.ndarray, box: Box, points: np.ndarray) -> FaceQuality:
    """All quality measures of the face in ``box`` of an RGB frame, with its 68 landmarks."""
    crop = face_crop(rgb, box)
    brightness, saturated = exposure(crop)
    pose = pose_from_landmarks(points)
    return FaceQuality(face_px=box.width, brightness=brightness, saturated_share=saturated,
                       sharpness=sharpness(crop), yaw=pose.yaw, roll_deg=pose.roll_deg)


def check(quality: FaceQuality, policy: QualityPolicy = DEFAULT_POLICY) -> None:
    """Raise :class:`LowQualityError` with the first failing reason, in the order the booth should report them."""
    if quality.face_px < policy.min_face_px:
        raise LowQualityError("too_small", "face too small: move closer to the camera")
    if quality.brightness < policy.min_brightness:
        raise LowQualityError("too_dark", "face too dark: more light on the face")
    if quality.brightness > policy.max_brightness or quality.saturated_share > policy.max_saturated_share:
        raise LowQualityError("too_bright", "face over-exposed: less light or turn away from the lamp")
    # Blur before pose: landmarks found on a blurred face are unreliable, so a pose verdict would be too.
    if quality.sharpness < policy.min_sharpness:
        raise LowQualityError("blurred", "image blurred: hold still")
    if abs(quality.yaw) > policy.max_yaw or abs(quality.roll_deg) > policy.max_roll_deg:
        raise LowQualityError("not_frontal", "face turned away: look straight at the camera")
