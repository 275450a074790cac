"""The booth's devices, opened from the Settings URLs, with a status each: ready, busy or fault.

:class:`DeviceSet` owns one adapter per device (ID card reader, fingerprint sensor, UV lamp relay,
camera). A device is used by one step at a time (its lock); while a step holds it the device is
``busy``, and another step wanting it is answered ``device_busy`` within ``BUSY_WAIT_S`` rather than
holding a server thread until the device frees (twelve sessions polling the card reader must not
starve ``/health``). A :class:`hardware.errors.DeviceError` marks it ``fault`` with the error's code,
closes it, and the next use opens it again, so unplugging and replugging a device needs no restart;
with a ``locate`` callable the device is re-opened wherever it is now (the simulator serves a
replugged device on a new pseudo-terminal; udev's ``/dev/serial/by-id`` links do the same for real
ones). A card whose zone fails validation (:class:`hardware.mrz.MrzError`) is a bad read, not a
device fault: the port stays open for the next card.

:class:`DeviceSet` implements the operations the workflow needs (:class:`kiosk.workflow.BoothDevices`):
``read_card``, ``capture_finger``, ``capture_face`` and ``capture_ink_frames``.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from hardware.errors import DeviceError

log = logging.getLogger("kiosk.devices")

DEVICE_NAMES = ("card_reader", "fingerprint", "lamp", "camera")


class DeviceNotConfigured(DeviceError):
    """No URL/source is configured for this device."""

    code = "device_not_configured"


class DeviceBusy(DeviceError):
    """Another step is using the device; try again when it is done."""

    code = "device_busy"


BUSY_WAIT_S = 1.0
"""How long a step waits for a device another step holds before answering ``device_busy``."""


@dataclass
class _Slot:
    name: str
    configured: bool
    opener: Callable[[], Any]
    closer: Callable[[Any], None]
    adapter: Any = None
    fault: str | None = None
    lock: threading.Lock = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.lock = threading.Lock()


def _close_quietly(close: Callable[[], None]) -> None:
    try:
        close()
    except (DeviceError, OSError, ValueError):
        pass


class DeviceSet:
    """Opens and guards the booth's device adapters. ``openers`` maps device name -> callable
    returning an adapter (None for an unconfigured device); :meth:`from_settings` builds them."""

    def __init__(self, openers: dict[str, Callable[[], Any] | None], *, card_timeout_s: float = 5.0,
                 finger_timeout_s: float = 10.0, ink_settle_s: float = 0.15,
                 on_lamp: Callable[..., None] | None = None,
                 camera_stream: Callable[[], Any] | None = None):
        self._camera_stream = camera_stream
        self._slots = {name: _Slot(name, openers.get(name) is not None, openers.get(name) or _not_configured(name),
                                   _closer_for(name)) for name in DEVICE_NAMES}
        self.card_timeout_s = card_timeout_s
        self.finger_timeout_s = finger_timeout_s
        self.ink_settle_s = ink_settle_s
        self._on_lamp = on_lamp

    @classmethod
    def from_settings(cls, settings, *, on_lamp: Callable[..., None] | None = None,
                      locate: Callable[[str], str | None] | None = None) -> "DeviceSet":
        """``locate(name)`` gives a serial device's current path (None: the configured one), asked at
        every (re-)open."""
        def where(name: str, configured: str) -> str:
            return (locate(name) if locate is not None else None) or configured

        def card_reader():
            from hardware.idcard import IdCardReader
            from hardware.ports import open_port
            port = open_port(where("card_reader", settings.card_reader_url), "card reader", baudrate=9600,
                             timeout=0.05)
            return IdCardReader(port, framing=settings.card_reader_framing, strictness=settings.mrz_strictness)

        def fingerprint():
            from hardware.fingerprint_sensor import open_sensor
            return open_sensor(where("fingerprint", settings.fingerprint_url), settings.fingerprint_baud)

        def lamp():
            from hardware.lamp import open_lamp
            return open_lamp(where("lamp", settings.lamp_url), kind=settings.lamp_kind, max_on_seconds=settings.lamp_max_on_seconds)

        def camera():
            from hardware.camera import Camera
            return Camera(settings.camera_source)

        def camera_stream():
            from hardware.mjpeg import MjpegStream
            return MjpegStream(settings.camera_stream_url)

        openers = {"card_reader": card_reader if settings.card_reader_url else None,
                   "fingerprint": fingerprint if settings.fingerprint_url else None,
                   "lamp": lamp if settings.lamp_url else None,
                   "camera": camera if settings.camera_source else None}
        return cls(openers, card_timeout_s=settings.card_timeout_seconds,
                   finger_timeout_s=settings.finger_timeout_seconds, ink_settle_s=settings.ink_settle_seconds,
                   on_lamp=on_lamp, camera_stream=camera_stream if settings.camera_stream_url else None)

    # -- lifecycle --------------------------------------------------------------------------------
    def open_all(self) -> dict[str, dict]:
        """Open every configured device now (so a card presented before the first step is not lost);
        a device that fails is left in ``fault`` and retried on use. Returns :meth:`status`."""
        for slot in self._slots.values():
            if slot.configured:
                with slot.lock:
                    try:
                        self._ensure_open(slot)
                    except DeviceError:
                        pass
        return self.status()

    def close(self) -> None:
        for slot in self._slots.values():
            with slot.lock:
                if slot.adapter is not None:
                    _close_quietly(lambda: slot.closer(slot.adapter))
                    slot.adapter = None

    def status(self) -> dict[str, dict]:
        out = {}
        for slot in self._slots.values():
            if not slot.configured:
                out[slot.name] = {"status": "not_configured"}
            elif slot.lock.locked():
                out[slot.name] = {"status": "busy"}
            elif slot.fault is not None:
                out[slot.name] = {"status": "fault", "error": slot.fault}
            else:
                out[slot.name] = {"status": "ready"}
        return out

    def _ensure_open(self, slot: _Slot) -> Any:
        if slot.adapter is None:
            try:
                slot.adapter = slot.opener()
            except DeviceError as exc:
                slot.fault = exc.code
                log.warning("device could not be opened", extra={"device": slot.name, "error": exc.code})
                raise
            slot.fault = None
        return slot.adapter

    @contextmanager
    def use(self, name: str) -> Iterator[Any]:
        """Hold device ``name`` for one operation; a DeviceError marks it faulty and closes it."""
        slot = self._slots[name]
        if not slot.lock.acquire(timeout=BUSY_WAIT_S):
            raise DeviceBusy(f"the {name.replace('_', ' ')} is in use by another step; try again")
        try:
            adapter = self._ensure_open(slot)
            try:
                yield adapter
            except DeviceError as exc:
                # during the ink check both lamp and camera are held: only the one that raised is faulty
                if _is_device_fault(exc) and getattr(exc, "kiosk_device", name) == name:
                    slot.fault = exc.code
                    _close_quietly(lambda: slot.closer(adapter))
                    slot.adapter = None
                raise
            else:
                slot.fault = None
        finally:
            slot.lock.release()

    # -- operations the workflow needs ----------------------------------------------------------------
    def read_card(self):
        """The next card read; reads queued behind it (the same card put down twice) are dropped, so
        they cannot be taken for the next voter's card."""
        with self.use("card_reader") as reader:
            document = reader.read_document(timeout=self.card_timeout_s)
            if document is not None:
                reader.flush()
            return document

    def discard_card_reads(self) -> None:
        """Forget cards read but not taken (called when a voter session ends): the next session must
        not show the previous voter's card. A reader that is busy, faulty or absent has nothing to forget."""
        slot = self._slots["card_reader"]
        if not slot.configured or slot.adapter is None:
            return
        try:
            with self.use("card_reader") as reader:
                reader.flush()
        except DeviceError as exc:
            log.info("card reads not discarded", extra={"error": exc.code})

    def capture_finger(self):
        """A greyscale finger image and its resolution (dpi)."""
        with self.use("fingerprint") as sensor:
            image = sensor.capture_image(timeout=self.finger_timeout_s)
            return image, sensor.dpi

    def capture_face(self):
        with self.use("camera") as camera:
            return camera.read_frame()

    def watch_camera(self, consume: Callable[[Any], Any]) -> Any:
        """``consume(stream)`` on the camera's MJPEG stream (:class:`hardware.mjpeg.MjpegStream`), the
        camera held meanwhile; a stream that breaks off marks the camera faulty like any camera error."""
        if self._camera_stream is None:
            raise DeviceNotConfigured("no camera stream is configured (camera_stream_url)")
        with self.use("camera"):
            with self._camera_stream() as stream:
                return consume(stream)

    def capture_ink_frames(self, session: str | None = None):
        """(lamp off, lamp on) frames; each switch of the lamp is reported to ``on_lamp(lit, session=...)``
        so its audit entry names the voter session it belongs to. Two devices take part, so a failure
        is raised as :class:`kiosk.workflow.DeviceFailed` naming the one that failed (opening it, or
        the call that raised), after :meth:`use` has marked it."""
        from hardware.ink import capture_ink_frames
        from kiosk.workflow.errors import DeviceFailed

        culprits: dict[int, str] = {}   # id(error) -> the device that raised it first
        try:
            with self._blaming("lamp", culprits) as lamp, self._blaming("camera", culprits) as camera:
                report = None if self._on_lamp is None else (lambda lit: self._on_lamp(lit, session=session))
                watched = _WatchedLamp(_Blamed(lamp, "lamp", culprits), report)
                return capture_ink_frames(watched, _Blamed(camera, "camera", culprits), settle_s=self.ink_settle_s)
        except DeviceError as exc:
            raise DeviceFailed(culprits.get(id(exc), "camera"), exc) from exc

    @contextmanager
    def _blaming(self, name: str, culprits: dict[int, str]) -> Iterator[Any]:
        """:meth:`use`, noting ``name`` as the culprit of an error no inner device has claimed (its opening)."""
        try:
            with self.use(name) as adapter:
                yield adapter
        except DeviceError as exc:
            culprits.setdefault(id(exc), name)
            raise


class _Blamed:
    """Passes calls to a device adapter and notes it as the culprit of any DeviceError they raise."""

    def __init__(self, adapter, name: str, culprits: dict[int, str]):
        self._adapter, self._name, self._culprits = adapter, name, culprits

    def __getattr__(self, attribute: str):
        value = getattr(self._adapter, attribute)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            try:
                return value(*args, **kwargs)
            except DeviceError as exc:
                self._culprits.setdefault(id(exc), self._name)
                if not hasattr(exc, "kiosk_device"):
                    exc.kiosk_device = self._name   # read by DeviceSet.use: the other device is not marked
                raise
        return call


class _WatchedLamp:
    """Passes on/off to the lamp and tells the caller (the audit log) each time it switches."""

    def __init__(self, lamp, on_switch: Callable[[bool], None] | None):
        self._lamp = lamp
        self._on_switch = on_switch

    def on(self) -> None:
        self._lamp.on()
        if self._on_switch:
            self._on_switch(True)

    def off(self) -> None:
        was_on = self._lamp.is_on
        self._lamp.off()
        if was_on and self._on_switch:
            self._on_switch(False)


def _is_device_fault(exc: DeviceError) -> bool:
    """A sensor saying "no finger" or "too wet" is the person, not the device; a card whose zone
    does not validate is the card (or how it was swiped), not the reader."""
    from hardware.fingerprint_sensor import SensorError
    from hardware.mrz import MrzError

    if isinstance(exc, (MrzError, DeviceBusy)):
        return False
    return not isinstance(exc, SensorError) or exc.code in ("wrong_password", "unknown_confirmation",
                                                           "password_not_verified", "wrong_address")


def _not_configured(name: str) -> Callable[[], Any]:
    def opener():
        raise DeviceNotConfigured(f"no {name.replace('_', ' ')} is configured")
    return opener


def _closer_for(name: str) -> Callable[[Any], None]:
    if name == "card_reader":
        return lambda reader: reader.port.close()
    if name == "fingerprint":
        return lambda sensor: sensor.port.close() if hasattr(sensor, "port") else None
    return lambda adapter: adapter.close()
