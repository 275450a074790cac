"""Fixtures of the booth liveness tests (a pytest plugin listed in conftest.py).

One demo registry for every liveness test of the run (building it takes seconds), and the kiosk
settings that wire the simulators' devices and the camera's MJPEG stream as ``kiosk demo`` does.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import config
from kiosk.cli import prepare_demo

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
