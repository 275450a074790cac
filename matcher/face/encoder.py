"""Frame -> template: find the face, the policy's quality gate, align a 150 px chip, dlib's ResNet encoder."""
from __future__ import annotations

import cv2
import numpy as np

from matcher.face import models
from matcher.face.detection import find_faces
from matcher.face.image import as_rgb
from matcher.face.policies import CAPTURE, Policy
from matcher.face.quality import Box, check, choose_subject, measure
from matcher.face.template import Template

CHIP_SIZE = 150      # the encoder's input, as trained
CHIP_PADDING = 0.25  # face_recognition's default
ALIGN_MARGIN = 0.6   # context around the face box for the scale-normalised re-detection


def landmarks_68(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The 68 iBUG landmarks (x, y rows) of the face in ``box``, in ``rgb``'s full-resolution pixels."""
    shape = models.load().landmarks_68(rgb, _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def aligned_chip(rgb: np.ndarray, box: Box, policy: Policy) -> np.ndarray:
    """The 150 x 150 chip the encoder reads, aligned on the 5-point landmarks (see ``Policy.align_face_px``)."""
    import dlib

    if policy.align_face_px is not None and box.width > policy.align_face_px:
        rgb, box = normalised_face(rgb, box, policy.align_face_px)
    shape = models.load().landmarks_5(rgb, _rect(box))
    return dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)


def normalised_face(rgb: np.ndarray, box: Box, face_px: float) -> tuple[np.ndarray, Box]:
    """The face cut out with a margin of :data:`ALIGN_MARGIN` box sizes, shrunk so the face is ``face_px``
    wide (only ever called for a wider face: enlarging a small one lost accuracy), and its box found again in that cut-out (the original box, rescaled, if not)."""
    h, w = rgb.shape[:2]
    mx, my = ALIGN_MARGIN * box.width, ALIGN_MARGIN * box.height
    left, top = max(0, int(box.left - mx)), max(0, int(box.top - my))
    right, bottom = min(w, int(box.right + mx) + 1), min(h, int(box.bottom + my) + 1)
    scale = face_px / max(1.0, box.width)
    crop = rgb[top:bottom, left:right]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    crop = np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA))
    moved = Box((box.left - left) * scale, (box.top - top) * scale, (box.right - left) * scale,
                (box.bottom - top) * scale)
    found = models.load().detector(crop, 0)
    if len(found) == 0:
        return crop, moved
    cx, cy = (moved.left + moved.right) / 2, (moved.top + moved.bottom) / 2
    best = min(found, key=lambda d: ((d.left() + d.right()) / 2 - cx) ** 2 + ((d.top() + d.bottom()) / 2 - cy) ** 2)
    return crop, Box(best.left(), best.top(), best.right(), best.bottom())


def encode(image: np.ndarray, policy: Policy = CAPTURE, mirror: bool = False) -> Template:
    """Make a template from one frame or photo, or raise a capture error saying what to fix.

    ``policy`` is ``face.CAPTURE`` (booth camera, the default) or ``face.ENROLMENT`` (registry photos).
    ``mirror=True`` also encodes the horizontally flipped face and averages the two embeddings:
    wider genuine/impostor margin on the labelled pairs (bench/face.py) for twice the encoding
    time (~230 ms on an idle core instead of ~130). Use it on both sides (enrolment and booth) or on
    neither: mixing the two modes lost the margin in our measurements, and the default calibration
    table was built from single-pass templates.
    """
    rgb = as_rgb(image)
    found = find_faces(rgb, policy)
    subject = choose_subject(found.boxes, policy)
    quality = measure(found.image, subject, landmarks_68(found.image, subject))
    check(quality, policy)
    chip = aligned_chip(found.image, subject, policy)
    encoder = models.load().encoder
    vector = np.array(encoder.compute_face_descriptor(chip))
    if mirror:
        vector = vector + np.array(encoder.compute_face_descriptor(np.ascontiguousarray(chip[:, ::-1])))
    # Unit length: dlib's raw descriptors vary in norm and that variation carries no identity;
    # normalised distances separate the labelled pairs better (bench/face.py).
    vector = vector / np.linalg.norm(vector)
    return Template(vector=vector.astype(np.float32), quality=quality, mirrored=mirror)


def _rect(box: Box):
    import dlib

    return dlib.rectangle(int(round(box.left)), int(round(box.top)), int(round(box.right)), int(round(box.bottom)))
