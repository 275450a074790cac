"""Moving faces for the camera simulator: live voters who blink and turn on cue, and presentation attacks.

Everything is generated from one still photo (the shipped demo faces) and its 68 landmarks:

- a blink closes the lids by stretching the skin above each eye down over it (the eye region is
  remapped row by row, feathered at the edges);
- a head turn is a local warp, not an affine one: the middle of the face (nose, mouth) slides
  sideways while the jaw contour stays, the parallax a real turning head shows. A flat photo
  moved about can only be warped affinely, which leaves the nose's place between the jaw ends
  unchanged: that is what the liveness check relies on, and what these performers reproduce;
- a printed photo is the still photo with a print's lower contrast; a moved photo is an affine
  wobble of it (shift, in-plane rotation, scale, and a tilt that squeezes it vertically); a replayed
  video is a short recording of the live performer (one blink, one turn) played in a loop; a two-way
  replay is a longer one of a "look left, look right" clip (one blink, a turn one way, then the other).

A performer renders ``frame(t)`` for a time ``t`` in seconds and hears the booth's cues through
``cue(t, name)`` (only the live voter reacts). Randomness comes from the generator passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

KINDS = ("live", "printed_photo", "moved_photo", "video_loop", "two_way_loop")
ATTACKS = KINDS[1:]


@dataclass(frozen=True)
class Face:
    """A still photo and its landmarks (68 x 2, photo pixels)."""
    rgb: np.ndarray
    points: np.ndarray

    @property
    def jaw_width(self) -> float:
        return float(np.linalg.norm(self.points[16] - self.points[0]))


def blink(face: Face, closure: float) -> np.ndarray:
    """The photo with both eyes ``closure`` closed (0 = open, 1 = shut)."""
    out = face.rgb.copy()
    if closure <= 0:
        return out
    for eye in (face.points[36:42], face.points[42:48]):
        _close_eye(out, face.rgb, eye, min(1.0, closure))
    return out


def _close_eye(out: np.ndarray, src: np.ndarray, eye: np.ndarray, closure: float) -> None:
    """Cover the eye, from its upper contour down to the lid line, with the skin just below the eye,
    and draw the lashes along the lid's edge (what a closed eye looks like to a landmark model)."""
    x0, x1 = float(eye[:, 0].min()), float(eye[:, 0].max())
    top, bottom = float(eye[1:3, 1].min()), float(eye[4:6, 1].max())
    eye_w, eye_h = x1 - x0, max(2.0, bottom - top)
    pad = 0.35 * eye_h
    left, right = int(max(0, x0 - 0.15 * eye_w)), int(min(src.shape[1], x1 + 0.15 * eye_w + 1))
    row0, row1 = int(max(0, top - pad)), int(min(src.shape[0], bottom + pad + 1))
    shift = int(round(bottom - top + 2 * pad))             # the skin patch under the eye
    if right - left < 3 or row1 - row0 < 3 or row1 + shift > src.shape[0]:
        return
    skin = cv2.GaussianBlur(src[row0 + shift:row1 + shift, left:right], (0, 0), max(1.0, eye_h / 4))
    # The lid edge descends to just above the lower contour: drawn any lower, the lash line itself reads
    # as an open eye to the landmark model (measured on the demo faces).
    lid = (top - pad) + 0.8 * closure * (bottom - top + 0.5 * pad)
    ys, xs = np.mgrid[row0:row1, left:right].astype(np.float32)
    cx, half = (x0 + x1) / 2, eye_w / 2 + 0.15 * eye_w
    inside = np.clip(1.3 - np.abs(xs - cx) / half * 1.3, 0, 1)          # feather toward the corners
    covered = np.clip((lid - ys) / max(1.0, 0.25 * eye_h), 0, 1) * inside
    region = out[row0:row1, left:right].astype(np.float32)
    blended = covered[..., None] * skin.astype(np.float32) + (1 - covered[..., None]) * region
    lashes = np.exp(-((ys - lid) / max(1.0, 0.12 * eye_h)) ** 2) * inside * closure
    blended *= (1 - 0.65 * lashes)[..., None]
    out[row0:row1, left:right] = np.clip(blended, 0, 255).astype(np.uint8)


def turn(face: Face, amount: float, rgb: np.ndarray | None = None) -> np.ndarray:
    """The face turned toward the voter's left (``amount`` > 0; nose toward the image's right) or right (< 0).

    ``amount`` 1.0 moves the nose tip by a fifth of the jaw width while the jaw contour stays.
    """
    src = face.rgb if rgb is None else rgb
    if amount == 0:
        return src.copy()
    h, w = src.shape[:2]
    nose = face.points[30]
    jaw = face.jaw_width
    face_h = float(face.points[8, 1] - face.points[19:25, 1].min())
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    bump = np.exp(-((xs - nose[0]) / (0.30 * jaw)) ** 2 - ((ys - nose[1]) / (0.55 * face_h)) ** 2)
    shift = amount * 0.2 * jaw * bump
    return cv2.remap(src, xs - shift.astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def affine(rgb: np.ndarray, dx: float, dy: float, angle_deg: float, scale: float, squeeze: float) -> np.ndarray:
    """A flat picture moved: shifted, rotated and scaled about the centre, and squeezed vertically (tilt)."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, scale)
    m[1] = m[1] * squeeze + np.array([0, 0, (1 - squeeze) * h / 2])
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def printed(rgb: np.ndarray) -> np.ndarray:
    """A print of the photo: ink cannot reach the photo's black or paper's white (lower contrast, warm cast)."""
    out = 30 + rgb.astype(np.float32) * 0.78
    out[..., 2] *= 0.95
    return np.clip(out, 0, 255).astype(np.uint8)


# -- performers -----------------------------------------------------------------------------------------

def _blink_closure(since: float) -> float:
    """Lid closure over a 0.25 s blink starting at ``since`` = 0: 80 ms closing, 60 ms shut, 110 ms opening."""
    if since < 0 or since > 0.25:
        return 0.0
    if since < 0.08:
        return since / 0.08
    if since < 0.14:
        return 1.0
    return 1.0 - (since - 0.14) / 0.11


def _turn_amount(since: float) -> float:
    """Head turn: 0.35 s out, 0.3 s held, 0.35 s back."""
    if since < 0 or since > 1.0:
        return 0.0
    if since < 0.35:
        return math.sin(0.5 * math.pi * since / 0.35)
    if since < 0.65:
        return 1.0
    return math.cos(0.5 * math.pi * (since - 0.65) / 0.35)


@dataclass
class LiveVoter:
    """A voter in front of the booth: blinks now and then, and does what the screen asks after a reaction time."""
    face: Face
    rng: np.random.Generator
    spontaneous_blinks_per_s: float = 0.25
    reaction_s: tuple[float, float] = (0.3, 0.7)
    _blinks: list[float] = field(default_factory=list)
    _turns: list[tuple[float, float]] = field(default_factory=list)   # (start, direction)
    _last_cue: str | None = None
    _spont_until: float = 0.0

    def cue(self, t: float, name: str | None) -> None:
        if name == self._last_cue:
            return
        self._last_cue = name
        start = t + float(self.rng.uniform(*self.reaction_s))
        if name == "blink":
            self._blinks.append(start)
        elif name in ("turn_left", "turn_right"):
            self._turns.append((start, 1.0 if name == "turn_left" else -1.0))

    def _spontaneous(self, t: float) -> None:
        while self._spont_until < t:                       # Poisson blinks, drawn ahead in 0.1 s steps
            self._spont_until += 0.1
            if self.rng.random() < self.spontaneous_blinks_per_s * 0.1:
                self._blinks.append(self._spont_until)

    def frame(self, t: float) -> np.ndarray:
        self._spontaneous(t)
        closure = max([_blink_closure(t - s) for s in self._blinks] + [0.0])
        amount = sum(d * _turn_amount(t - s) for s, d in self._turns)
        return turn(self.face, amount, blink(self.face, closure))


@dataclass
class PrintedPhoto:
    """A printed photo held still in front of the camera (the hand trembles a little)."""
    face: Face
    rng: np.random.Generator

    def cue(self, t: float, name: str | None) -> None:
        pass

    def frame(self, t: float) -> np.ndarray:
        tremble = self.rng.normal(0, 0.7, 2)
        return affine(printed(self.face.rgb), tremble[0], tremble[1], 0.0, 1.0, 1.0)


@dataclass
class MovedPhoto:
    """A printed photo moved about: drifting, rotating, nearer and farther, tilted back and forth."""
    face: Face
    rng: np.random.Generator
    _phase: np.ndarray = field(default=None)   # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._phase = self.rng.uniform(0, 2 * math.pi, 5)
        self._speed = self.rng.uniform(0.6, 1.6, 5)

    def cue(self, t: float, name: str | None) -> None:
        pass

    def frame(self, t: float) -> np.ndarray:
        s = np.sin(self._phase + 2 * math.pi * self._speed * t / 2.0)
        jaw = self.face.jaw_width
        return affine(printed(self.face.rgb), 0.3 * jaw * s[0], 0.2 * jaw * s[1], 12 * s[2], 1 + 0.1 * s[3],
                      1 - 0.22 * (0.5 + 0.5 * s[4]))


class _LoopedRecording:
    """A recording of the voter replayed in a loop from a random point, deaf to the booth's cues: one
    blink starting at ``_blink_at`` and head turns ``_turns`` ((start, direction), ...) within a clip of
    ``length_s`` seconds, the loop entered at ``_offset``. Subclasses draw these from their rng."""
    face: Face
    length_s: float
    _blink_at: float
    _turns: tuple[tuple[float, float], ...]
    _offset: float

    def cue(self, t: float, name: str | None) -> None:
        pass

    def frame(self, t: float) -> np.ndarray:
        clip_t = (t + self._offset) % self.length_s
        closure = _blink_closure(clip_t - self._blink_at)
        amount = sum(d * _turn_amount(clip_t - s) for s, d in self._turns)
        return turn(self.face, amount, blink(self.face, closure))


@dataclass
class VideoLoop(_LoopedRecording):
    """A short recording of the voter (a blink and a turn one way) replayed in a loop from a random point."""
    face: Face
    rng: np.random.Generator
    length_s: float = 2.5

    def __post_init__(self) -> None:
        self._blink_at = float(self.rng.uniform(0, self.length_s - 0.3))
        turn_at = float(self.rng.uniform(0, self.length_s - 1.0))
        self._turns = ((turn_at, 1.0 if self.rng.random() < 0.5 else -1.0),)
        self._offset = float(self.rng.uniform(0, self.length_s))


@dataclass
class TwoWayLoop(_LoopedRecording):
    """A recording of the voter blinking once and looking one way, then the other (a "look left, look
    right" clip), replayed in a loop from a random point. It is :class:`VideoLoop`'s recording (1.5 s
    without a turn, the turn placed as there) with the turn the other way added after a short pause:
    so against the check it differs from that replay only by the second turn, which a check asking
    away from the turn it saw may be answered by."""
    face: Face
    rng: np.random.Generator
    still_s: float = 1.5                          # the clip's time without a turn, as VideoLoop's 2.5 s - 1 s
    pause_s: tuple[float, float] = (0.1, 0.5)     # between the first turn's return and the second's start

    def __post_init__(self) -> None:
        pause = float(self.rng.uniform(*self.pause_s))
        self.length_s = self.still_s + 2.0 + pause
        self._blink_at = float(self.rng.uniform(0, self.length_s - 0.3))
        first = float(self.rng.uniform(0, self.still_s))
        self._turns = ((first, 1.0 if self.rng.random() < 0.5 else -1.0),)
        self._turns += ((first + 1.0 + pause, -self._turns[0][1]),)
        self._offset = float(self.rng.uniform(0, self.length_s))


def face_from_photo(rgb: np.ndarray) -> Face | None:
    """The photo and its 68 landmarks (found by the matcher's shipped landmark model), or None without a face."""
    from matcher.face.liveness import landmarks_in

    points = landmarks_in(rgb)
    return None if points is None else Face(np.ascontiguousarray(rgb), np.asarray(points, dtype=np.float64))


def performer(kind: str, face: Face, rng: np.random.Generator):
    """The performer of one scenario kind (see :data:`KINDS`)."""
    table = {"live": LiveVoter, "printed_photo": PrintedPhoto, "moved_photo": MovedPhoto, "video_loop": VideoLoop,
             "two_way_loop": TwoWayLoop}
    if kind not in table:
        raise ValueError(f"unknown face scenario {kind!r}; known: {', '.join(KINDS)}")
    return table[kind](face, rng)
