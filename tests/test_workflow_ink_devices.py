"""Which device failed during the ink check (lamp or camera), told by type and by the devices layer,
with the real lamp driver on a simulated relay board (PTY) and the real camera reading image files."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.camera import BlankFrame, Camera, CameraTimeout
from hardware.errors import DeviceUnavailable
from hardware.lamp import LampError, open_lamp
from kiosk import workflow as wf
from kiosk.devices import DeviceSet
from simulators.lamp import LcusBoardModel
from simulators.transport import PtyDevice

FACE = Path(__file__).resolve().parent.parent / "kiosk" / "demo_data" / "face1_probe.jpg"


@pytest.fixture
def relay():
    model = LcusBoardModel(2)
    device = PtyDevice(model, "lcus")
    yield model, device
    device.close()


@pytest.fixture
def black_image(tmp_path) -> str:
    path = tmp_path / "black.png"
    cv2.imwrite(str(path), np.zeros((120, 160, 3), np.uint8))
    return str(path)


def ink_devices(lamp_path: str, camera_source: str) -> DeviceSet:
    return DeviceSet({"lamp": lambda: open_lamp(lamp_path, "lcus"), "camera": lambda: Camera(camera_source)},
                     ink_settle_s=0.0)


def failure_of(devices: DeviceSet) -> wf.DeviceFailed:
    with pytest.raises(wf.DeviceFailed) as failed:
        devices.capture_ink_frames()
    return failed.value


def test_a_lamp_that_fails_to_light_is_the_lamp(relay):
    model, device = relay
    devices = ink_devices(device.path, str(FACE))
    devices.open_all()
    model.inject("fails_to_light")
    failed = failure_of(devices)
    assert (failed.device, failed.device_code) == ("lamp", LampError.code)
    devices.close()


def test_a_lamp_port_that_cannot_be_opened_is_the_lamp_not_the_camera(tmp_path):
    failed = failure_of(ink_devices(str(tmp_path / "no-such-tty"), str(FACE)))
    assert (failed.device, failed.device_code) == ("lamp", "device_unavailable")
    assert isinstance(failed.__cause__, DeviceUnavailable)   # the driver's own error, kept as the cause


def test_a_black_camera_frame_is_the_camera(relay, black_image):
    devices = ink_devices(relay[1].path, black_image)
    failed = failure_of(devices)
    assert (failed.device, failed.device_code) == ("camera", BlankFrame.code)
    devices.close()


# -- the workflow's step -------------------------------------------------------------------------------

class InkOnly:
    """Booth devices whose ink check raises what the test gives (as another adapter set might)."""

    def __init__(self, error: Exception):
        self.error = error

    def capture_ink_frames(self, session=None):
        raise self.error


def at_ink_check(devices) -> tuple[wf.Workflow, wf.Session, list]:
    events: list = []
    booth = wf.Workflow(registry=None, devices=devices, rules=wf.Rules("PS-0001", "kiosk-01"),
                        record=lambda event, **fields: events.append((event, fields)) or len(events),
                        pseudonym=lambda n: "ab" * 32, biometrics=None, clock=lambda: 0.0)
    session = booth.start("po-1")
    session.state = wf.CHECK_INK   # as after an accepted match (reaching it for real is test_workflow.py's job)
    return booth, session, events


@pytest.mark.parametrize(("error", "device"), [
    (LampError("lamp failed to light"), "lamp"),
    (CameraTimeout("no frame"), "camera"),
    (BlankFrame("black"), "camera"),
])
def test_the_ink_step_names_the_device_by_the_error_type(error, device):
    booth, session, events = at_ink_check(InkOnly(error))
    with pytest.raises(wf.DeviceFailed) as failed:
        booth.check_ink(session.session_id)
    assert (failed.value.device, failed.value.device_code) == (device, error.code)
    assert booth.get(session.session_id).state == wf.CHECK_INK
    assert events[-1] == ("ink_check", {"session": session.session_id, "official_id": "po-1", "voter": None,
                                        "outcome": "device_fault", "reason": error.code})


def test_the_ink_step_keeps_the_device_the_devices_layer_named(tmp_path):
    booth, session, events = at_ink_check(ink_devices(str(tmp_path / "no-such-tty"), str(FACE)))
    with pytest.raises(wf.DeviceFailed) as failed:
        booth.check_ink(session.session_id)
    assert (failed.value.device, failed.value.device_code) == ("lamp", "device_unavailable")
    assert events[-1][1]["reason"] == "device_unavailable"
    assert booth.get(session.session_id).state == wf.CHECK_INK
