"""Frame -> template: HOG detection on a downscaled copy, the quality gate, then dlib's ResNet encoder."""
from __future__ import annotations

import cv2
import numpy as np

from matcher.face import models
from matcher.face.image import as_rgb
from matcher.face.quality import DEFAULT_POLICY, Box, QualityPolicy, check, choose_subject, measure
from matcher.face.template import Template

# Detection runs on a copy whose longer side is at most this: a 640 x 480 booth frame is searched at
# 480 x 360 (~15 ms instead of ~30; HOG's 80 px window then finds faces from ~107 px, and the
# upsampled second pass catches the 53-107 px ones), a 4000 px photo in ~20 ms instead of seconds.
DETECT_MAX_SIDE = 480
CHIP_SIZE = 150      # the encoder's input, as trained
CHIP_PADDING = 0.25  # face_recognition's default


def detect(rgb: np.ndarray) -> list[Box]:
    """Face boxes in frame pixels. HOG only: the CNN detector takes seconds per frame on a CPU.

    A second pass with one upsampling runs only when the first finds nothing, so that a face too
    far away is reported as "too_small" (move closer) rather than "no_face".
    """
    m = models.load()
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                                 interpolation=cv2.INTER_AREA)
    found = m.detector(small, 0)
    if len(found) == 0:
        found = m.detector(small, 1)
    return [Box(d.left(), d.top(), d.right(), d.bottom()).scaled(1.0 / scale) for d in found]


def encode(image: np.ndarray, policy: QualityPolicy = DEFAULT_POLICY, mirror: bool = False) -> Template:
    """Make a template from one frame, or raise a capture error saying what to fix.

    ``mirror=True`` also encodes the horizontally flipped face and averages the two embeddings:
    wider genuine/impostor margin on the labelled pairs (bench/face.py) for twice the encoding
    time (~230 ms on an idle core instead of ~130). Use it on both sides (enrolment and booth) or on
    neither: mixing the two modes lost the margin in our measurements, and the default calibration
    table was built from single-pass templates.
    """
    import dlib

    rgb = as_rgb(image)
    subject = choose_subject(detect(rgb), policy)
    m = models.load()
    rect = dlib.rectangle(int(round(subject.left)), int(round(subject.top)),
                          int(round(subject.right)), int(round(subject.bottom)))
    shape68 = m.landmarks_68(rgb, rect)
    points = np.array([(p.x, p.y) for p in shape68.parts()], dtype=np.float64)
    quality = measure(rgb, subject, points)
    check(quality, policy)
    chip = dlib.get_face_chip(rgb, m.landmarks_5(rgb, rect), size=CHIP_SIZE, padding=CHIP_PADDING)
    if mirror:
        flipped = np.ascontiguousarray(chip[:, ::-1])
        vector = (np.array(m.encoder.compute_face_descriptor(chip)) +
                  np.array(m.encoder.compute_face_descriptor(flipped)))
    else:
        vector = np.array(m.encoder.compute_face_descriptor(chip))
    # Unit length: dlib's raw descriptors vary in norm (~1.3-1.6) and that variation carries
    # no identity; normalised distances separate the labelled pairs better (bench/face.py).
    vector = vector / np.linalg.norm(vector)
    return Template(vector=vector.astype(np.float32), quality=quality, mirrored=mirror)

