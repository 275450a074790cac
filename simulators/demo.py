"""Demo voters (the ``voters.json`` that ``kiosk demo-registry`` writes) and the images they point to."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from simulators.errors import BadImage, NoDemoVoters


@dataclass(frozen=True)
class DemoVoter:
    voter_id: str
    mrz: tuple[str, ...]
    probe_fingers: dict[str, str]
    probe_face: str | None
    role: str = "registered"


def load_demo_voters(path: str | Path) -> dict[str, DemoVoter]:
    """Read ``voters.json`` (docs/interfaces.md); only what the booth can see is kept.

    Image paths are absolute in files written by ``kiosk demo-registry``; a relative one is taken
    relative to the voters file, so a hand-written file can sit beside its images."""
    base = Path(path).resolve().parent

    def image_path(value: Any) -> str:
        return str(base / str(value))  # an absolute value replaces the base

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoDemoVoters(f"cannot read the demo voters file ({type(exc).__name__})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("voters"), list):
        raise NoDemoVoters("the demo voters file has no 'voters' list")
    voters: dict[str, DemoVoter] = {}
    for entry in doc["voters"]:
        try:
            voters[str(entry["voter_id"])] = DemoVoter(
                voter_id=str(entry["voter_id"]), mrz=tuple(entry.get("mrz") or ()),
                probe_fingers={str(k): image_path(v) for k, v in (entry.get("probe_fingers") or {}).items()},
                probe_face=image_path(entry["probe_face"]) if entry.get("probe_face") else None,
                role=str(entry.get("role", "registered")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise NoDemoVoters("a demo voter entry lacks a voter_id") from exc
    return voters


def read_gray_image(path: str | Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise BadImage(f"not a readable image: {Path(path).name}")
    return image


def read_rgb_image(path: str | Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadImage(f"not a readable image: {Path(path).name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
