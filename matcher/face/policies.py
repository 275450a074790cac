"""The two capture policies: every threshold and detection setting of ``face.encode`` in one place.

``CAPTURE`` is the booth camera: a live voter can step closer, turn to the light or hold still, so
the gate is strict and every refusal says what to fix. ``ENROLMENT`` is a registry photo that nobody
can retake today: it accepts every photo that still matches reliably, down to the face size where
accuracy breaks, and refuses the rest with what is wrong with the photo. The ENROLMENT figures were
measured by ``python -m bench face`` (face-size sweep and degraded variants of the labelled photos,
project and stock face_recognition side by side); the comments give the measurement.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """Thresholds of the capture gate and how hard the detector looks; every field is replaceable."""

    name: str = "capture"
    # Who reads a refusal: "voter" (what to do at the booth) or "operator" (what is wrong with a photo).
    audience: str = "voter"
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
    # Detection runs on a copy whose longer side is at most this: a 640 x 480 booth frame is searched
    # at 480 x 360 (~15 ms instead of ~30; HOG's 80 px window then finds faces from ~107 px).
    detect_max_side: int = 480
    # Upsampling passes tried, one after the other, while nothing is found (each doubles the image:
    # pass 1 finds faces from ~40 px of the searched copy, pass 2 from ~20 px). The booth's pass 1
    # exists so that a face too far away is reported as "too_small" (move closer), not "no_face".
    upsample_passes: tuple[int, ...] = (0, 1)
    # No upsampling pass runs on a copy whose longer side would exceed this (time and memory bound).
    max_upsampled_side: int = 2600
    # In-plane rotations (degrees) tried, in order, when no face is found upright: the HOG detector
    # only finds faces within about +-20 degrees of upright.
    rotations_deg: tuple[float, ...] = ()
    # Scale-normalised alignment: a face wider than this is cut out with a margin, shrunk (area-
    # averaged) to this width, found again there and aligned there, so dlib's chip sampler (one sample
    # per chip pixel, no low-pass filter) never aliases a large face. A smaller face is aligned where
    # it is: enlarging it first (cubic, then detected again) cost accuracy on small faces (bench face,
    # deepface-13 faces shrunk to 32 px: EER 1.28 % enlarged vs 0.68 % as is; stock 0.71 %).
    # None: align on the frame itself (the booth: its faces are already 80-250 px).
    align_face_px: float | None = None


# The booth camera: the values above, measured on the booth-like photos (tests/test_face_capture.py).
CAPTURE = Policy()

# Registry photos. Chosen on deepface-13 and its generated variants, fr-examples held out; figures
# from ``python -m bench face`` (EER over the photos both pipelines accept, project vs stock
# face_recognition on the same arrays; 2 shared cores, 2026-11-29):
ENROLMENT = Policy(
    name="enrolment",
    audience="operator",
    # Face-size sweep (deepface-13 faces shrunk so stock's box is N px; our measured width in
    # brackets): project EER on every photo it accepts 0.15 % at 40 px (43), 0.62 % at 32 (36),
    # 0.71 % at 28 (36), then 2.23 % at 24 (26): accuracy breaks below ~30 px of measured width, so
    # that is the floor. Stock on the photos both accept: 0.71 % at 32 and 1.59 % at 28 px, where it
    # already misses 8 % of the faces (70 % at 24 px, which this floor refuses as too_small).
    min_face_px=30.0,
    # Darkened copies (gamma 2.2, x0.6) still match; the gate only refuses a face with no signal left.
    min_brightness=15.0,
    max_brightness=235.0,
    max_saturated_share=0.40,
    # JPEG quality 15 and 320 px downscales are accepted and match; only a heavy defocus is refused.
    min_sharpness=8.0,
    # Not measured (no labelled pose variants): a half-profile (yaw 0.40) still aligns, a profile not.
    max_yaw=0.42,
    max_roll_deg=45.0,
    # A copy of at most 1024 px, then upsampling passes down to faces of ~20 px (pass 2); a face not
    # found upright is looked for turned by -25 and +25 degrees (a photo turned 40 degrees is then found).
    detect_max_side=1024,
    upsample_passes=(0, 1, 2),
    rotations_deg=(-25.0, 25.0),
    # Scale-normalised alignment (faces wider than 160 px shrunk to 160): deepface-13 EER 0.06 % vs
    # stock's 0.56 % on the 800 px photos; faces narrower are aligned as they are (see the field).
    align_face_px=160.0,
)

AUDIENCES = ("voter", "operator")
