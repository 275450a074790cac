"""Invisible UV-fluorescent ink check: lamp-off frame, lamp-on frame, decision.

Method (``shared/reference/hardware.md`` section 4), with one addition:

1. ``capture_ink_frames`` takes frame A with the lamp off, lights the lamp, waits, takes frame B
   and switches the lamp off again whatever happens. Frames are never stored.
2. ``detect_ink`` finds the finger (or takes a mask), then explains B from A inside the finger
   with one robust (trimmed least-squares) straight line per colour channel,
   ``B_c ~ a_c * A_c + b_c``. That line absorbs what changes the whole finger alike: ambient light
   getting brighter or darker (``a_c``) and the lamp's violet reflection (``b_c``). What is left
   (``B - line``) is the local change; the ink's glow is local (a patch on the nail fold).
   *Addition to the reference method:* a plain ``B - A`` also holds the ambient change (the whole
   finger rising in the skin's own hue, OpenCV H 10-15, just below the yellow band) and the violet;
   removing what is common to the finger lets the rise threshold sit at a few noise sigmas
   instead of above any change of room light.
3. In HSV (OpenCV units: H 0-179, S/V 0-255) a residual pixel counts as glow when it rose by more
   than a threshold (at least 4 noise standard deviations), its hue lies in an ink band (blue
   H 95-130, yellow/green H 20-45; reflected violet H 130-165 lies outside both) and its
   saturation is at least 60 (glare and glints are whitish). Pixels within a few pixels of a pale
   strong rise (a glint of the lamp, whose fringe takes violet-to-blue hues) and pixels where a
   clipped channel hides the rise are left out.
4. The glow mask is opened then closed with a 3x3 square; the score is the glow area inside the
   finger as a fraction of the finger area, each pixel weighted by how strongly it glows (a full
   weight at ``full_rise`` levels), so faint glow scores low.
5. ``ink`` at or above ``ink_at_or_above``, ``no_ink`` below ``no_ink_below``, ``inconclusive``
   in between and whenever the frames cannot support a decision (no finger, lamp did not light,
   over-exposure).

Limits: the glow patch must cover less than about 40 % of the finger region (the robust
line treats a finger glowing all over as a change of light). The finger should hold still between
the two frames: moves of a few pixels are tolerated (the outline is eroded away and thin edge
residuals do not survive the opening; tested up to 8 px on rendered frames), larger ones are not
modelled.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

import cv2
import numpy as np

INK_BANDS: dict[str, tuple[float, float]] = {"blue": (95.0, 130.0), "yellow": (20.0, 45.0)}
VIOLET_BAND = (130.0, 165.0)      # the lamp's own reflection: never ink
MIN_SATURATION = 60.0             # below: glare, glints, white light
GLARE_RISE_FACTOR = 2.0           # glare: a pale rise of this many times the glow threshold
GLARE_MARGIN = 9                  # px around glare that are dropped too (its coloured fringe)
MIN_RISE = 10.0                   # levels; never count a smaller rise as glow
NOISE_FACTOR = 4.0                # a glow pixel rose by more than this many noise sigmas
FULL_RISE = 60.0                  # levels; a pixel rising this much counts fully in the score
MIN_LAMP_RESPONSE = 6.0           # levels of violet (blue minus green rise) the lamp must add
MIN_FINGER_FRACTION = 0.02        # of the frame; less is "no finger in the cradle"
MIN_FINGER_CONTRAST = 10.0        # levels between finger and cradle
MAX_CLIPPED_FRACTION = 0.25       # of the finger; more is over-exposed
DEFAULT_NO_INK_BELOW = 0.01       # of the finger area
DEFAULT_INK_AT_OR_ABOVE = 0.03
HUE_HALF_WIDTH = 15.0             # a calibrated band: the positive control's hue +- this


class InkInputError(ValueError):
    """The frames or mask given to the detector are not usable images."""


class InkCalibrationError(ValueError):
    """The positive and negative controls do not give usable thresholds."""


@dataclass(frozen=True)
class InkCalibration:
    """Decision thresholds (fractions of the finger area) and the per-pixel glow test."""

    no_ink_below: float = DEFAULT_NO_INK_BELOW
    ink_at_or_above: float = DEFAULT_INK_AT_OR_ABOVE
    bands: tuple[tuple[str, float, float], ...] = tuple((name, lo, hi) for name, (lo, hi) in INK_BANDS.items())
    min_rise: float = MIN_RISE
    full_rise: float = FULL_RISE

    def __post_init__(self) -> None:
        if not 0.0 <= self.no_ink_below <= self.ink_at_or_above <= 1.0:
            raise InkCalibrationError("need 0 <= no_ink_below <= ink_at_or_above <= 1")
        if self.min_rise <= 0 or self.full_rise <= 0:
            raise InkCalibrationError("min_rise and full_rise must be positive")
        if not self.bands:
            raise InkCalibrationError("at least one ink hue band is needed")


DEFAULT_CALIBRATION = InkCalibration()


@dataclass(frozen=True)
class InkCheckResult:
    decision: str                 # "ink" | "no_ink" | "inconclusive"
    score: float                  # weighted glow area / finger area, 0-1
    reason: str
    hue: str | None = None        # the band that scored highest, when anything glowed
    finger_fraction: float = 0.0  # finger area / frame area


# ------------------------------------------------------------------ detection

def detect_ink(frame_off: np.ndarray, frame_on: np.ndarray, calibration: InkCalibration | None = None,
               finger_mask: np.ndarray | None = None) -> InkCheckResult:
    """Decide whether the finger glows like UV ink between ``frame_off`` and ``frame_on`` (RGB uint8)."""
    calibration = calibration or DEFAULT_CALIBRATION
    off, on = _check_frames(frame_off, frame_on)
    mask = _finger_region(off, on) if finger_mask is None else _check_mask(finger_mask, off.shape[:2])
    finger_fraction = float(mask.mean())
    measured = _measure(off, on, mask, calibration) if finger_fraction >= MIN_FINGER_FRACTION else None
    problem = _unusable_reason(mask, measured)
    if problem is not None:
        return InkCheckResult("inconclusive", 0.0, problem, None, finger_fraction)
    hue, score = max(measured.scores.items(), key=lambda item: item[1])
    percent = f"{100 * score:.1f}%"
    if score >= calibration.ink_at_or_above:
        return InkCheckResult("ink", score, f"{hue} glow over {percent} of the finger", hue, finger_fraction)
    if score < calibration.no_ink_below and measured.saturated_glow >= calibration.no_ink_below:
        return InkCheckResult("inconclusive", score, "a strong glow saturates the camera: reduce the exposure",
                              hue, finger_fraction)
    if score < calibration.no_ink_below:
        return InkCheckResult("no_ink", score, f"no ink glow (score {percent} of the finger)",
                              hue if score > 0 else None, finger_fraction)
    return InkCheckResult("inconclusive", score,
                          f"faint {hue} glow over {percent} of the finger: check by eye under the lamp",
                          hue, finger_fraction)


def _unusable_reason(mask: np.ndarray, measured: "_Measurement | None") -> str | None:
    """Why these frames cannot support a decision either way, or None when they can."""
    if measured is None or mask.mean() < MIN_FINGER_FRACTION:
        return "no finger found in the cradle"
    if measured.clipped_fraction > MAX_CLIPPED_FRACTION:
        return "the frames are over-exposed on the finger"
    if measured.lamp_response < MIN_LAMP_RESPONSE:
        return "the UV lamp did not visibly light the finger"
    return None


@dataclass(frozen=True)
class _Measurement:
    scores: dict[str, float]
    lamp_response: float
    clipped_fraction: float
    saturated_glow: float     # fraction of the finger that rose strongly, clipped, and is not counted
    noise_sigma: float
    rise: np.ndarray          # HxW residual brightness rise (V of the residual)
    hue: np.ndarray           # HxW residual hue, OpenCV units
    in_band: dict[str, np.ndarray]
    candidates: np.ndarray    # HxW pixels passing every per-pixel test but the hue band


def _measure(off: np.ndarray, on: np.ndarray, mask: np.ndarray, calibration: InkCalibration) -> _Measurement:
    a = off.astype(np.float32)
    b = on.astype(np.float32)
    inside = mask.astype(bool)
    residual = np.empty_like(b)
    for c in range(3):
        # every 4th finger pixel is plenty for two numbers and keeps the check fast
        slope, intercept = _robust_line(a[..., c][inside][::4], b[..., c][inside][::4])
        residual[..., c] = b[..., c] - (slope * a[..., c] + intercept)
    diff = b - a
    lamp_response = float(np.median(diff[..., 2][inside]) - np.median(diff[..., 1][inside]))

    luminance = ((residual[..., 0] + residual[..., 1] + residual[..., 2]) / 3.0)[inside]
    noise_sigma = float(1.4826 * np.median(np.abs(luminance - np.median(luminance))))
    min_rise = max(calibration.min_rise, NOISE_FACTOR * noise_sigma)
    # A channel clipped at white in B hides how much it rose: its residual reads too low and
    # tilts the pixel's hue (a clipped red makes skin look blue). Such a pixel is unusable unless
    # the clipped channel is one that visibly rose (ink bright enough to saturate its own colour).
    unusable = _any_channel((on >= 254) & (residual < min_rise)) | _any_channel(off >= 254)
    clipped_fraction = float(unusable[inside].mean())
    saturated = _any_channel(on >= 254) & inside

    positive = np.clip(residual, 0.0, None) / 255.0
    hsv = cv2.cvtColor(positive, cv2.COLOR_RGB2HSV)          # float: H 0-360, S 0-1, V 0-1
    hue = hsv[..., 0] / 2.0                                  # OpenCV units 0-180
    saturation = hsv[..., 1] * 255.0
    rise = hsv[..., 2] * 255.0
    glowing = (rise > min_rise) & (saturation >= MIN_SATURATION) & inside
    # Specular glare of the lamp (a glint on the nail) rises strongly but pale; its fringe, where
    # the glint fades into the violet-lit nail, takes every hue from violet to blue. Drop both.
    glare = ((rise > GLARE_RISE_FACTOR * min_rise) & (saturation < MIN_SATURATION)).astype(np.uint8)
    glare = cv2.dilate(glare, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (GLARE_MARGIN, GLARE_MARGIN)))
    unusable = unusable | glare.astype(bool)
    not_violet = ~((hue >= VIOLET_BAND[0]) & (hue <= VIOLET_BAND[1]))
    weight = np.clip(rise / calibration.full_rise, 0.0, 1.0)
    kernel = np.ones((3, 3), np.uint8)
    scores, in_band = {}, {}
    for name, lo, hi in calibration.bands:
        band = glowing & ~unusable & not_violet & (hue >= lo) & (hue <= hi)
        cleaned = cv2.morphologyEx(band.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel).astype(bool) & inside
        in_band[name] = cleaned
        scores[name] = float(weight[cleaned].sum() / inside.sum())
    counted = np.logical_or.reduce(list(in_band.values()))
    candidates = glowing & ~unusable & not_violet
    # Glow so bright that it clips the camera can leave the ink band (a clipped red turns yellow
    # green): pixels that rose a lot while clipping, yet count nowhere, make "no ink" unsafe.
    saturated_glow = float((saturated & glowing & not_violet & (rise > 2 * min_rise) & ~counted).sum()
                           / inside.sum())
    return _Measurement(scores=scores, lamp_response=lamp_response, clipped_fraction=clipped_fraction,
                        saturated_glow=saturated_glow, candidates=candidates,
                        noise_sigma=noise_sigma, rise=rise, hue=hue, in_band=in_band)


# numpy reduces along a last axis of 3 slowly; element-wise over the channel planes is ~10x faster.
def _any_channel(flags: np.ndarray) -> np.ndarray:
    return flags[..., 0] | flags[..., 1] | flags[..., 2]


def _channel_max(frame: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(frame[..., 0], frame[..., 1]), frame[..., 2])


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least squares ``y ~ slope * x + intercept``, refitted on the pixels B explains best.

    The ink only ever *adds* light, so each refit keeps the residuals between the 3rd and the 55th
    percentile: a glowing patch covering up to about 40 % of the finger drops out of the fit, where
    a plain least-squares line would bend towards it. (The kept half sits a little below the noise
    centre, which lowers the line by a fraction of a noise sigma; thresholds are several sigmas.)
    """
    keep = np.ones(x.shape, dtype=bool)
    slope, intercept = 1.0, 0.0
    for _ in range(3):
        xs, ys = x[keep], y[keep]
        spread = float(xs.var())
        if spread < 4.0:   # a dark shroud: frame A is flat, so only an offset can be fitted
            slope = 1.0
        else:
            slope = float(((xs - xs.mean()) * (ys - ys.mean())).mean() / spread)
            slope = min(max(slope, 0.25), 4.0)
        intercept = float(ys.mean() - slope * xs.mean())
        error = y - (slope * x + intercept)
        low, high = np.percentile(error, [3.0, 55.0])
        keep = (error >= low) & (error <= high)
    return slope, intercept


def _finger_region(off: np.ndarray, on: np.ndarray) -> np.ndarray:
    """The finger: the largest blob clearly brighter than the cradle (matte black, at the border)."""
    # Brightest channel of either frame: in a dark shroud the finger shows only in the lamp's
    # violet, which luminance (mostly green) would hardly see.
    grey = np.maximum(_channel_max(off), _channel_max(on)).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (7, 7), 0)
    height, width = grey.shape
    band = max(2, min(height, width) // 20)
    border = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(), grey[:, :band].ravel(), grey[:, -band:].ravel()])
    cradle = float(np.median(border))
    spread = float(1.4826 * np.median(np.abs(border - cradle)))
    binary = (grey > cradle + max(MIN_FINGER_CONTRAST, 6.0 * spread)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count < 2:
        return np.zeros(grey.shape, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blob = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(blob)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    # Stay off the outline, where a small movement between the frames looks like a change.
    filled = cv2.erode(filled, np.ones((5, 5), np.uint8))
    return filled.astype(bool)


def _check_frames(frame_off: np.ndarray, frame_on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for name, frame in (("frame_off", frame_off), ("frame_on", frame_on)):
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise InkInputError(f"{name} must be an RGB uint8 array of shape HxWx3")
    if frame_off.shape != frame_on.shape:
        raise InkInputError(f"the two frames differ in size: {frame_off.shape[:2]} and {frame_on.shape[:2]}")
    if frame_off.shape[0] < 16 or frame_off.shape[1] < 16:
        raise InkInputError("frames must be at least 16x16 pixels")
    return frame_off, frame_on


def _check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.shape != shape:
        raise InkInputError(f"finger_mask must be an array of shape {shape}")
    return mask.astype(bool)


# ------------------------------------------------------------------ calibration

def calibrate(positive: tuple[np.ndarray, np.ndarray], negative: tuple[np.ndarray, np.ndarray],
              positive_mask: np.ndarray | None = None,
              negative_mask: np.ndarray | None = None) -> InkCalibration:
    """Thresholds for this lamp, camera and ink from an inked and a blank control (each (off, on)).

    From the positive control: the ink's hue (the band narrows to its median hue +- 15) and how
    strongly it glows under this lamp (half of that glow counts fully, ``full_rise``). From the
    negative: the strongest (99th percentile) in-band rise without ink; the per-pixel threshold clears it but stays
    below a quarter of the ink's glow. The area thresholds keep their defaults (they assume a small
    ink mark on a finger, while a control card may glow all over) unless the blank control scores
    near them, and must sit well below the positive control's score: otherwise the controls do
    not separate (the inked control must score at least 1.25 times the ink threshold) and
    :class:`InkCalibrationError` says so.
    """
    pos_off, pos_on = _check_frames(*positive)
    neg_off, neg_on = _check_frames(*negative)
    pos_mask = _finger_region(pos_off, pos_on) if positive_mask is None else _check_mask(positive_mask, pos_off.shape[:2])
    neg_mask = _finger_region(neg_off, neg_on) if negative_mask is None else _check_mask(negative_mask, neg_off.shape[:2])
    pos = _measure(pos_off, pos_on, pos_mask, DEFAULT_CALIBRATION)
    neg = _measure(neg_off, neg_on, neg_mask, DEFAULT_CALIBRATION)
    for name, mask, measured in (("positive", pos_mask, pos), ("negative", neg_mask, neg)):
        problem = _unusable_reason(mask, measured)
        if problem is not None:
            raise InkCalibrationError(f"the {name} control is unusable: {problem}")

    hue_name, _ = max(pos.scores.items(), key=lambda item: item[1])
    glow = pos.in_band[hue_name]
    if glow.sum() < 20:
        raise InkCalibrationError("the positive control shows no ink glow in any known ink hue band")
    glow_hue = float(np.median(pos.hue[glow]))
    glow_rise = float(np.median(pos.rise[glow]))
    band = (hue_name, glow_hue - HUE_HALF_WIDTH, min(glow_hue + HUE_HALF_WIDTH, VIOLET_BAND[0]))

    # The blank control's strongest in-band residuals are what this lamp and camera produce
    # without ink; the per-pixel threshold clears them, but stays well below the ink's glow.
    # (Whether such pixels are too many is judged below, by the two controls' scores.)
    lookalike = neg.in_band[hue_name] & (neg.hue >= band[1]) & (neg.hue <= band[2])
    neg_rise = float(np.percentile(neg.rise[lookalike], 99.0)) if lookalike.sum() >= 20 else 0.0
    min_rise = min(max(MIN_RISE, 1.2 * neg_rise), 0.25 * glow_rise)
    # Ink on a voter's finger is older and thinner than on the control: half its glow counts fully.
    full_rise = max(2.0 * min_rise, 0.5 * glow_rise)
    pixel_test = InkCalibration(bands=(band,), min_rise=min_rise, full_rise=full_rise)

    pos_score = _measure(pos_off, pos_on, pos_mask, pixel_test).scores[hue_name]
    neg_score = _measure(neg_off, neg_on, neg_mask, pixel_test).scores[hue_name]
    no_ink_below = max(DEFAULT_NO_INK_BELOW, 2.0 * neg_score + 0.002)
    ink_at_or_above = max(DEFAULT_INK_AT_OR_ABOVE, 2.0 * no_ink_below)
    if ink_at_or_above > 0.8 * pos_score:
        raise InkCalibrationError("the controls do not separate: the inked control scores too low "
                                  "for thresholds above the blank one")
    return InkCalibration(no_ink_below=no_ink_below, ink_at_or_above=ink_at_or_above, bands=(band,),
                          min_rise=min_rise, full_rise=full_rise)


# ------------------------------------------------------------------ capture

class _Lamp(Protocol):
    def on(self) -> None: ...
    def off(self) -> None: ...


class _Camera(Protocol):
    def read_frame(self) -> np.ndarray: ...


def capture_ink_frames(lamp: _Lamp, camera: _Camera, settle_s: float = 0.15,
                       sleep: Callable[[float], None] = time.sleep) -> tuple[np.ndarray, np.ndarray]:
    """Frame A with the lamp off, lamp on, wait ``settle_s``, frame B; the lamp is OFF afterwards,
    whatever the camera or lamp raised. The frames are returned, never kept."""
    try:
        lamp.off()
        frame_off = camera.read_frame()
        lamp.on()
        sleep(settle_s)
        frame_on = camera.read_frame()
    finally:
        lamp.off()
    return frame_off, frame_on
