"""Fixtures of the liveness tests (a pytest plugin listed in conftest.py).

One demo registry for every booth liveness test of the run (building it takes seconds), and the kiosk
settings that wire the simulators' devices and the camera's MJPEG stream as ``kiosk demo`` does.
For the check itself: the real landmarks of one test portrait, found once per run, and the landmark
sequences made from them (a blink moves the upper lids onto the lower ones, a turn slides the nose and
mouth sideways between the jaw ends).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk import config
from kiosk.cli import prepare_demo
from matcher.face.liveness import landmarks_in

PASSWORDS = {"official": "official-pass", "supervisor": "supervisor-pass", "auditor": "auditor-pass"}


@pytest.fixture(scope="session")
def liveness_demo_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("liveness-demo")
    settings = config.load(overrides={"data_dir": root, "key_dir": root / "keys", "create_keys": True}, environ={})
    prepare_demo(settings, source="packaged", passwords=PASSWORDS)
    return root


def liveness_kiosk_settings(data: Path, devices: dict) -> dict:
    """The kiosk's settings on the simulators' devices, with the liveness check on the camera's stream."""
    return {"data_dir": data, "key_dir": data / "keys", "create_keys": True,
            "card_reader_url": devices["card_reader"]["path"],
            "card_reader_framing": devices["card_reader"]["framing"],
            "fingerprint_url": devices["fingerprint"]["path"],
            "lamp_url": devices["lamp"]["path"], "lamp_kind": devices["lamp"]["kind"],
            "camera_source": devices["camera"]["url"],
            "camera_stream_url": devices["camera"]["stream_url"] + "?fps=15", "liveness_check": True,
            "card_timeout_seconds": 1.0, "finger_timeout_seconds": 1.0}


@pytest.fixture(scope="session")
def liveness_portrait(tests_data) -> np.ndarray:
    """The test portrait the liveness tests animate (RGB)."""
    return cv2.cvtColor(cv2.imread(str(tests_data / "faces" / "img10.jpg")), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def liveness_landmarks(liveness_portrait) -> np.ndarray:
    """The portrait's 68 landmarks from the real model."""
    found = landmarks_in(liveness_portrait)
    assert found is not None
    return found


def blinked(points: np.ndarray, closure: float) -> np.ndarray:
    """The landmarks with the upper lids ``closure`` of the way onto the lower ones (EAR times 1 - closure)."""
    out = points.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        out[upper] = out[upper] + closure * (out[lower] - out[upper])
    return out


def turned(points: np.ndarray, amount: float) -> np.ndarray:
    """amount > 0: the voter's left (nose toward the image's right); 1.0 = a fifth of the jaw width."""
    out = points.copy()
    jaw = np.linalg.norm(points[16] - points[0])
    out[27:36, 0] += 0.2 * jaw * amount
    out[48:68, 0] += 0.15 * jaw * amount
    return out
