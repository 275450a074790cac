"""Capture quality measures and the policy that turns them into accept / reason.

Pure functions on arrays: the booth needs a reason it can act on ("move closer", "more light",
"look at the camera"), so every measure is a plain number checked against a documented threshold.
The thresholds live in :mod:`matcher.face.policies` (``CAPTURE`` for the booth, ``ENROLMENT`` for
registry photos); a refusal's message is worded for the policy's audience: the voter at the booth is
told what to do, the registry operator what is wrong with the photo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from matcher.face.errors import LowQualityError, MultipleFacesError, NoFaceError
from matcher.face.policies import CAPTURE, Policy


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
class Pose:
    yaw: float       # signed share of jaw width, see Policy.max_yaw
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

    def score(self, policy: Policy = CAPTURE) -> int:
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


def choose_subject(boxes: list[Box], policy: Policy = CAPTURE) -> Box:
    """The voter's face among the detections, by the bystander rule; raises when there is none or it is ambiguous."""
    if not boxes:
        raise NoFaceError()
    ordered = sorted(boxes, key=lambda b: b.width, reverse=True)
    largest = ordered[0]
    rivals = [b for b in ordered[1:] if b.width > policy.bystander_max_ratio * largest.width]
    if rivals:
        raise MultipleFacesError(1 + len(rivals))
    if largest.width < policy.min_face_px:
        raise refusal("too_small", policy, f"face is {largest.width:.0f} px wide, needs {policy.min_face_px:.0f}")
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


def check(quality: FaceQuality, policy: Policy = CAPTURE) -> None:
    """Raise :class:`LowQualityError` with the first failing reason, in the order the booth should report them."""
    if quality.face_px < policy.min_face_px:
        raise refusal("too_small", policy, f"face is {quality.face_px:.0f} px wide, needs {policy.min_face_px:.0f}")
    if quality.brightness < policy.min_brightness:
        raise refusal("too_dark", policy, f"mean level {quality.brightness:.0f}, needs {policy.min_brightness:.0f}")
    if quality.brightness > policy.max_brightness or quality.saturated_share > policy.max_saturated_share:
        raise refusal("too_bright", policy, f"mean level {quality.brightness:.0f}, "
                      f"{100 * quality.saturated_share:.0f} % of the face burnt out")
    # Blur before pose: landmarks found on a blurred face are unreliable, so a pose verdict would be too.
    if quality.sharpness < policy.min_sharpness:
        raise refusal("blurred", policy, f"sharpness {quality.sharpness:.0f}, needs {policy.min_sharpness:.0f}")
    if abs(quality.yaw) > policy.max_yaw or abs(quality.roll_deg) > policy.max_roll_deg:
        raise refusal("not_frontal", policy, f"yaw {quality.yaw:+.2f}, roll {quality.roll_deg:+.0f} degrees")


# What a refusal says, by audience: the voter is told what to do, the operator what is wrong with the photo.
WORDING = {
    "too_small": ("face too small: move closer to the camera", "the face is too small in the photo"),
    "too_dark": ("face too dark: more light on the face", "the photo is too dark"),
    "too_bright": ("face over-exposed: less light or turn away from the lamp", "the photo is over-exposed"),
    "blurred": ("image blurred: hold still", "the photo is blurred"),
    "not_frontal": ("face turned away: look straight at the camera", "the face is not frontal"),
}


def refusal(reason: str, policy: Policy, measured: str) -> LowQualityError:
    """The error for a failed check, worded for the policy's audience, with the measured value."""
    for_voter, for_operator = WORDING[reason]
    if policy.audience == "voter":
        return LowQualityError(reason, for_voter)
    return LowQualityError(reason, f"{for_operator} ({measured}; {policy.name} policy)")
