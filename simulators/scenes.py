"""Rendered camera scenes: a finger lying in the shrouded UV cradle, seen from above.

Used by the camera simulator and by the ink-detection tests and benchmark. The picture is a simple
physical sum, in camera levels (0-255), of

- the cradle: matte near-black plastic lit by whatever ambient light leaks into the shroud;
- the finger: skin (with a ridge-like texture, cylindrical shading and a nail near the tip)
  reflecting the ambient light;
- when the UV lamp is on: the lamp's violet light reflected by skin, nail and cradle, plus a
  low-saturation specular glint on the nail (cameras see 395 nm LEDs as violet);
- when the lamp is on AND the finger is inked: the ink's fluorescence, blue or neon yellow, as an
  irregular patch over the nail fold and nail;
- sensor noise (Gaussian, ``noise`` levels standard deviation) from the ``rng`` passed in.

The finger's geometry and texture depend only on the :class:`FingerScene` (not on ``rng``), so two
frames of the same scene differ only by lamp, ink, ambient light and noise, as two exposures of a
finger held still in the cradle do.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

INK_HUES = ("blue", "yellow")

# Emission of the ink at full strength, in camera levels added to the frame (RGB).
# blue: hue 224 deg (OpenCV H 112); yellow: neon yellow-green, hue 78 deg (OpenCV H 39).
INK_EMISSION = {"blue": (30.0, 80.0, 220.0), "yellow": (170.0, 230.0, 30.0)}
# The lamp as the camera sees it after reflection from a white surface (violet).
LAMP_VIOLET = (90.0, 14.0, 160.0)
# A specular glint of the lamp on the nail: bright and nearly white (low saturation).
LAMP_GLINT = (200.0, 185.0, 230.0)
AMBIENT_LEVEL = 150.0           # camera level of a white surface at ambient=1.0
DEFAULT_AMBIENT_TINT = (1.0, 0.96, 0.88)   # warm indoor light


@dataclass(frozen=True)
class FingerScene:
    """Where the finger lies and what it looks like; coordinates are fractions of the frame."""

    tip_x: float = 0.74            # fingertip position
    tip_y: float = 0.50
    angle_deg: float = 0.0         # finger axis, 0 = pointing right, counter-clockwise on screen
    half_width: float = 0.16       # finger half-width, fraction of the frame height
    skin: tuple[float, float, float] = (0.78, 0.57, 0.45)   # skin albedo (RGB, 0-1)
    uv_reflectance: float = 0.30   # how much of the lamp's violet the skin reflects
    ridge_period: float = 0.018    # fraction of the frame height
    ink_offset: float = 0.0        # shifts the ink patch along the finger, fraction of the nail length
    ink_radius: float = 1.0        # scales the ink patch
    texture_seed: int = 7          # the finger's own texture and ink outline (not the sensor noise)


DEFAULT_SCENE = FingerScene()


def random_scene(rng: np.random.Generator) -> FingerScene:
    """A plausible variation of pose, skin tone and ink patch, for tests and benchmarks."""
    tone = rng.uniform(0.0, 1.0)   # light to dark skin
    skin = (0.85 - 0.45 * tone, 0.66 - 0.40 * tone, 0.55 - 0.37 * tone)
    return FingerScene(tip_x=float(rng.uniform(0.62, 0.82)), tip_y=float(rng.uniform(0.40, 0.60)),
                       angle_deg=float(rng.uniform(-20, 20)), half_width=float(rng.uniform(0.13, 0.19)),
                       skin=tuple(float(c) for c in skin), uv_reflectance=float(rng.uniform(0.2, 0.4)),
                       ridge_period=float(rng.uniform(0.014, 0.024)), ink_offset=float(rng.uniform(-0.3, 0.3)),
                       ink_radius=float(rng.uniform(0.6, 1.15)), texture_seed=int(rng.integers(0, 2**31)))


@dataclass(frozen=True)
class _Layers:
    """Everything about a scene that does not change between exposures (float32 maps)."""

    albedo: np.ndarray      # HxWx3 reflectance under ambient light, shading included
    uv: np.ndarray          # HxW reflectance to the lamp, shading included (cradle included)
    glint: np.ndarray       # HxW specular glint weight 0-1
    ink: np.ndarray         # HxW ink patch coverage 0-1


def render_finger(lamp_on: bool, inked: bool, rng: np.random.Generator, ambient: float = 1.0,
                  noise: float = 2.0, ink_hue: str = "blue", size: tuple[int, int] = (480, 640), *,
                  scene: FingerScene = DEFAULT_SCENE, ink_strength: float = 1.0,
                  ambient_tint: tuple[float, float, float] = DEFAULT_AMBIENT_TINT,
                  lamp_strength: float = 1.0) -> np.ndarray:
    """One exposure of ``scene`` as an RGB uint8 frame of ``size`` (height, width).

    ``ambient`` scales the light leaking into the shroud (0 dark, 1 a lit room, 2 sunlight at the
    booth); ``noise`` is the sensor noise standard deviation in levels; ``ink_strength`` scales the
    ink's glow (1 = freshly inked, 0.1 = faint); ``lamp_strength`` scales the lamp (0 = it failed).
    """
    if ink_hue not in INK_EMISSION:
        raise ValueError(f"ink_hue must be one of {', '.join(INK_HUES)}")
    height, width = size
    if height < 16 or width < 16:
        raise ValueError("the frame must be at least 16x16 pixels")
    layers = _layers(scene, int(height), int(width))
    light = AMBIENT_LEVEL * max(0.0, float(ambient)) * np.asarray(ambient_tint, dtype=np.float32)
    frame = layers.albedo * light
    if lamp_on and lamp_strength > 0:
        frame += lamp_strength * layers.uv[..., None] * np.asarray(LAMP_VIOLET, dtype=np.float32)
        frame += lamp_strength * layers.glint[..., None] * np.asarray(LAMP_GLINT, dtype=np.float32)
        if inked and ink_strength > 0:
            emission = lamp_strength * ink_strength * np.asarray(INK_EMISSION[ink_hue], dtype=np.float32)
            frame += layers.ink[..., None] * emission
    if noise > 0:
        frame += float(noise) * rng.standard_normal(size=frame.shape, dtype=np.float32)
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=16)
def _layers(scene: FingerScene, height: int, width: int) -> _Layers:
    texture_rng = np.random.default_rng(scene.texture_seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = np.deg2rad(scene.angle_deg)
    ux, uy = np.cos(theta), -np.sin(theta)          # along the finger, towards the tip (y down)
    tip_x, tip_y = scene.tip_x * width, scene.tip_y * height
    along = (xx - tip_x) * ux + (yy - tip_y) * uy   # <= 0 on the finger, 0 at the tip
    across = -(xx - tip_x) * uy + (yy - tip_y) * ux
    half = scene.half_width * height

    # A capsule reaching out of the frame behind the tip, with a rounded end.
    core = np.where(along < -half, np.abs(across),
                    np.hypot(np.maximum(along + half, 0.0), across))
    finger = np.clip((half - core) / 2.5 + 0.5, 0.0, 1.0)

    # Cylindrical shading: brighter along the top of the finger, darker at its sides.
    side = np.clip(np.abs(across) / half, 0.0, 1.0)
    shading = (0.55 + 0.45 * np.sqrt(1.0 - side ** 2)).astype(np.float32)

    # Ridge-like texture: slightly wavy lines across the finger, +-7 % of the albedo.
    period = max(3.0, scene.ridge_period * height)
    wobble = 0.6 * period * np.sin(across / (0.9 * half) + texture_rng.uniform(0, 2 * np.pi))
    ridges = 1.0 + 0.07 * np.sin(2 * np.pi * (along + wobble) / period)

    # Nail: an ellipse on the top of the finger, just behind the tip.
    nail_len, nail_half = 1.15 * half, 0.58 * half
    nail_centre = -0.75 * half
    nail_r = np.hypot((along - nail_centre) / nail_len, across / nail_half)
    nail = np.clip((1.0 - nail_r) * 8.0, 0.0, 1.0) * finger

    skin = np.asarray(scene.skin, dtype=np.float32)
    nail_colour = np.asarray((0.86, 0.70, 0.68), dtype=np.float32)
    surface = skin * ridges[..., None] * (1 - nail[..., None]) + nail_colour * nail[..., None]
    cradle = np.asarray((0.10, 0.10, 0.12), dtype=np.float32)
    albedo = (surface * shading[..., None] * finger[..., None]
              + cradle * (1.0 - finger[..., None])).astype(np.float32)

    uv = ((scene.uv_reflectance * (1 - nail) + 0.45 * nail) * shading * finger
          + 0.06 * (1.0 - finger)).astype(np.float32)

    glint_r = np.hypot((along - nail_centre + 0.2 * half) / (0.22 * half), (across + 0.15 * half) / (0.12 * half))
    glint = (np.exp(-glint_r ** 2) * nail).astype(np.float32)

    # Ink: an irregular blob over the nail fold (where polling staff mark the finger) and nail.
    ink_centre = nail_centre - nail_len * (0.55 + scene.ink_offset * 0.5)
    ink_r = np.hypot((along - ink_centre) / (0.9 * nail_len * scene.ink_radius),
                     across / (0.85 * half * scene.ink_radius))
    outline = cv2.resize(texture_rng.normal(0, 1, size=(8, 8)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_CUBIC)
    ink = np.clip((1.0 - ink_r + 0.12 * outline) * 6.0, 0.0, 1.0) * finger * shading
    layers = _Layers(albedo=albedo, uv=uv, glint=glint, ink=ink.astype(np.float32))
    for array in (layers.albedo, layers.uv, layers.glint, layers.ink):
        array.setflags(write=False)   # shared by every exposure through the cache
    return layers
