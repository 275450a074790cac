"""Device status as the booth screen shows it: not_configured, ready, busy, fault; a device that
fails is closed and opened again on its next use."""
from __future__ import annotations

import threading

import pytest

from hardware.errors import DeviceUnavailable
from kiosk.devices import DeviceNotConfigured, DeviceSet


class Adapter:
    def __init__(self, name: str):
        self.name = name
        self.closed = False

    def close(self):
        self.closed = True


def test_unconfigured_devices_say_so_and_refuse_use():
    devices = DeviceSet({})
    assert {d["status"] for d in devices.status().values()} == {"not_configured"}
    with pytest.raises(DeviceNotConfigured):
        devices.capture_face()


def test_a_device_in_use_is_busy_and_ready_afterwards():
    devices = DeviceSet({"camera": lambda: Adapter("camera")})
    devices.open_all()
    entered, release = threading.Event(), threading.Event()

    def hold():
        with devices.use("camera"):
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    entered.wait(5)
    assert devices.status()["camera"] == {"status": "busy"}
    release.set()
    worker.join()
    assert devices.status()["camera"] == {"status": "ready"}


def test_a_failing_device_is_a_fault_and_is_reopened_on_next_use():
    opened: list[Adapter] = []
    attempts = {"n": 0}

    def opener():
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise DeviceUnavailable("not plugged in")
        opened.append(Adapter("camera"))
        return opened[-1]

    devices = DeviceSet({"camera": opener})
    assert devices.open_all()["camera"] == {"status": "fault", "error": "device_unavailable"}
    with devices.use("camera") as camera:
        assert camera is opened[0]
    assert devices.status()["camera"] == {"status": "ready"}
    with pytest.raises(DeviceUnavailable):
        with devices.use("camera"):
            raise DeviceUnavailable("cable pulled")
    assert devices.status()["camera"] == {"status": "fault", "error": "device_unavailable"}
    assert opened[0].closed
    with devices.use("camera") as camera:
        assert camera is opened[1]


def test_a_person_problem_on_the_sensor_is_not_a_device_fault():
    from hardware.fingerprint_sensor import TooWet

    devices = DeviceSet({"fingerprint": lambda: Adapter("fingerprint")})
    with pytest.raises(TooWet):
        with devices.use("fingerprint"):
            raise TooWet()
    assert devices.status()["fingerprint"] == {"status": "ready"}


def test_closing_closes_every_open_adapter():
    adapters = {}
    devices = DeviceSet({"lamp": lambda: adapters.setdefault("lamp", Adapter("lamp")),
                         "camera": lambda: adapters.setdefault("camera", Adapter("camera"))})
    devices.open_all()
    devices.close()
    assert adapters["lamp"].closed and adapters["camera"].closed
