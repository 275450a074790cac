"""Finding faces: dlib's HOG detector on a bounded copy, more upsampling and small rotations as the policy allows.

HOG only: the CNN detector takes seconds per frame on a CPU. The detector works on a copy whose
longer side is at most ``policy.detect_max_side`` (area-averaged, so a large photo is searched fast
and without aliasing); boxes come back in the coordinates of the image that later stages read.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matcher.face import models
from matcher.face.policies import CAPTURE, Policy
from matcher.face.quality import Box


@dataclass(frozen=True)
class Found:
    """Faces found in ``image``: the frame itself, or a rotated copy of it when only that had a face."""
    image: np.ndarray          # RGB uint8, the frame or its rotated copy; boxes are in its pixels
    boxes: list[Box]
    rotation_deg: float = 0.0


def shrunk(rgb: np.ndarray, max_side: float) -> tuple[np.ndarray, float]:
    """(copy with longer side at most ``max_side``, scale factor applied); area-averaged."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def detect(rgb: np.ndarray, policy: Policy = CAPTURE) -> list[Box]:
    """Face boxes in ``rgb``'s pixels, from the first upsampling pass of the policy that finds any."""
    detector = models.load().detector
    small, scale = shrunk(rgb, policy.detect_max_side)
    longest = max(small.shape[:2])
    for passes in policy.upsample_passes:
        if passes and longest * (2 ** passes) > policy.max_upsampled_side:
            break
        found = detector(small, passes)
        if len(found):
            return [Box(d.left(), d.top(), d.right(), d.bottom()).scaled(1.0 / scale) for d in found]
    return []


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """``rgb`` turned by ``degrees`` about its centre (counter-clockwise), canvas enlarged to keep every pixel."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    return cv2.warpAffine(rgb, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def find_faces(rgb: np.ndarray, policy: Policy = CAPTURE) -> Found:
    """Faces in the frame upright, else in the first rotated copy the policy allows that has any."""
    boxes = detect(rgb, policy)
    if boxes:
        return Found(rgb, boxes)
    for degrees in policy.rotations_deg:
        turned = rotated(rgb, degrees)
        boxes = detect(turned, policy)
        if boxes:
            return Found(turned, boxes, degrees)
    return Found(rgb, [])
