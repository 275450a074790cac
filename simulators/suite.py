"""All four simulated devices in one object: what ``kiosk-sim`` runs and the kiosk's end-to-end tests use.

The serial devices (ID card reader, fingerprint sensor, UV lamp relay) are pure protocol models
served on pseudo-terminals (``transport="pty"``, default) or TCP sockets (``"tcp"``); the camera is an
HTTP camera on 127.0.0.1. A control API (:mod:`simulators.control`) exposes the same operations
over HTTP JSON.

A device whose simulator module is missing from this checkout is reported by :meth:`describe` as
``{"status": "not available", "reason": ...}`` and refuses operations with
:class:`DeviceNotAvailable`; it is never faked.

What the camera shows: ``camera_scene`` is ``"face"``, ``"finger"`` or ``None`` (default). ``None``
shows the face when one is shown and the finger otherwise; a finger placed with
:meth:`place_finger` is on the sensor and, for the camera, in the UV cradle.

Every public method takes the suite's lock, so the control API, scenarios and tests may call it
from any thread.
"""
from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from simulators.camera import CAMERA_FAULTS, CameraFaultError, CameraServer, CameraSimulator
from simulators.transport import PtyDevice, TcpDevice

DEVICE_NAMES = ("card_reader", "fingerprint", "lamp", "camera")
SERIAL_DEVICES = ("card_reader", "fingerprint", "lamp")
TRANSPORT_FAULTS = ("unplugged", "garbage", "corrupt", "dropped", "slow")
DEFAULT_GARBAGE = bytes.fromhex("a55a00ff")


class SimulatorError(Exception):
    """Base class for suite errors; ``code`` is stable (the control API returns it)."""

    code = "simulator_error"
    status = 400


class UnknownDevice(SimulatorError):
    code = "unknown_device"
    status = 404


class UnknownFault(SimulatorError):
    code = "unknown_fault"


class DeviceNotAvailable(SimulatorError):
    code = "device_not_available"
    status = 409


class UnknownVoter(SimulatorError):
    code = "unknown_voter"
    status = 404


class NoDemoVoters(SimulatorError):
    code = "no_demo_voters"
    status = 409


class BadImage(SimulatorError):
    code = "bad_image"


class BadRequest(SimulatorError):
    code = "bad_request"


class NotRunning(SimulatorError):
    code = "not_running"
    status = 409


# -- demo voters ------------------------------------------------------------------------------------

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


# -- serial devices ---------------------------------------------------------------------------------

@dataclass
class _SerialSlot:
    """One serial device: its model, its transport and the transport faults set on it."""

    name: str
    model: Any
    transport: PtyDevice | TcpDevice | None = None
    port: int = 0                     # TCP port, kept across unplug/replug
    unplugged: bool = False
    info: dict = field(default_factory=dict)


class SimulatorSuite:
    """Start, drive and stop the four simulated devices (and the control API)."""

    def __init__(self, demo_voters: str | Path | None = None, transport: str = "pty", *,
                 control_port: int | None = 0, camera_port: int = 0, seed: int = 0,
                 card_framing: str = "desko", lamp_kind: str = "lcus"):
        if transport not in ("pty", "tcp"):
            raise BadRequest(f"transport must be 'pty' or 'tcp', not {transport!r}")
        self.transport = transport
        self.voters: dict[str, DemoVoter] = load_demo_voters(demo_voters) if demo_voters else {}
        self._control_port = control_port
        self._camera_port = camera_port
        self._seed = seed
        self._options = {"card_framing": card_framing, "lamp_kind": lamp_kind}
        self._lock = threading.RLock()
        self._slots: dict[str, _SerialSlot] = {}
        self._missing: dict[str, str] = {}
        self._camera: CameraSimulator | None = None
        self._camera_server: CameraServer | None = None
        self._control = None
        self._running = False
        self._card: dict | None = None
        self._finger: dict | None = None
        self._face: dict | None = None
        self._inked = False
        self._camera_scene: str | None = None
        self._device_faults: dict[str, dict[str, dict]] = {name: {} for name in DEVICE_NAMES}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "SimulatorSuite":
        with self._lock:
            if self._running:
                return self
            self._missing.clear()
            self._card = self._finger = self._face = None
            self._inked, self._camera_scene = False, None
            self._device_faults = {name: {} for name in DEVICE_NAMES}
            try:
                for name in SERIAL_DEVICES:
                    try:
                        model, info = _bind_make_model(name, self._options)
                    except ModelUnavailable as exc:
                        self._missing[name] = str(exc)
                        continue
                    slot = _SerialSlot(name, model, info=info)
                    self._slots[name] = slot
                    self._plug(slot)
                self._camera = CameraSimulator(lamp_lit=self._lamp_lit, rng=np.random.default_rng(self._seed))
                self._camera_server = CameraServer(self._camera, self._camera_port)
                self._running = True
                if self._control_port is not None:
                    from simulators.control import ControlServer, create_app
                    self._control = ControlServer(create_app(self), port=self._control_port)
            except BaseException:
                self.stop()  # a port in use must not leave PTYs and threads behind
                raise
            return self

    def stop(self) -> None:
        """Close the control API, every PTY/socket and the camera. Safe to call twice."""
        # The control API's workers may be waiting for the suite lock: close it without holding the lock.
        with self._lock:
            control, self._control = self._control, None
            self._running = False
        if control is not None:
            control.close()
        with self._lock:
            for slot in self._slots.values():
                if slot.transport is not None:
                    slot.transport.close()
                    slot.transport = None
            self._slots.clear()
            if self._camera_server is not None:
                self._camera_server.close()
                self._camera_server = None

    def __enter__(self) -> "SimulatorSuite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _plug(self, slot: _SerialSlot) -> None:
        if self.transport == "pty":
            slot.transport = _bind_serve_pty(slot.name, slot.model, random.Random(self._seed))
        else:
            slot.transport = TcpDevice(slot.model, slot.name, port=slot.port)
            slot.port = slot.transport.port
        slot.unplugged = False

    def _require_running(self) -> None:
        if not self._running:
            raise NotRunning("the simulator suite is not running (call start())")

    def _slot(self, name: str) -> _SerialSlot:
        self._require_running()
        if name not in SERIAL_DEVICES:
            raise UnknownDevice(f"unknown device {name!r}; devices: {', '.join(DEVICE_NAMES)}")
        if name in self._missing:
            raise DeviceNotAvailable(f"the {name} simulator is not available: {self._missing[name]}")
        return self._slots[name]

    # -- description and state ------------------------------------------------------------------
    def describe(self) -> dict:
        """Where each device is: serial paths (or socket:// URLs), the camera URL, the control API."""
        with self._lock:
            self._require_running()
            out: dict[str, dict] = {}
            for name in SERIAL_DEVICES:
                if name in self._missing:
                    out[name] = {"status": "not available", "reason": self._missing[name]}
                    continue
                slot = self._slots[name]
                path = "" if slot.unplugged or slot.transport is None else slot.transport.path
                out[name] = {"path": path, **slot.info, "status": "unplugged" if slot.unplugged else "ok"}
            assert self._camera_server is not None
            out["camera"] = {"url": self._camera_server.snapshot_url, "stream_url": self._camera_server.stream_url,
                             "status": "ok" if self._camera_server.plugged else "unplugged"}
            described: dict[str, Any] = {"devices": out, "transport": self.transport}
            described["control"] = self._control.url if self._control is not None else None
            return described

    def state(self) -> dict:
        """What is presented to each device right now, and the faults set (no raw MRZ or images)."""
        with self._lock:
            self._require_running()
            assert self._camera is not None
            lamp = self._slots.get("lamp")
            fingerprint = self._slots.get("fingerprint")
            return {
                "card": self._card, "finger": self._finger, "face": self._face, "inked": self._inked,
                "camera_scene": self._camera_scene, "camera": self._camera.state(),
                "lamp": None if lamp is None else _bind_lamp_state(lamp.model),
                "fingerprint_module": None if fingerprint is None else fingerprint.model.state(),
                "faults": {name: sorted(faults) for name, faults in self._device_faults.items()},
                "voters": sorted(self.voters),
            }

    # -- ID card --------------------------------------------------------------------------------
    def present_card(self, mrz_lines: list[str] | tuple[str, ...], *, voter_id: str | None = None) -> None:
        lines = [str(line) for line in mrz_lines]
        if not lines or not all(lines):
            raise BadRequest("a card needs its MRZ lines (a list of non-empty strings)")
        with self._lock:
            slot = self._slot("card_reader")
            _bind_present_card(slot.model, lines)
            self._card = {"voter_id": voter_id, "lines": len(lines)}

    def present_voter_card(self, voter_id: str) -> None:
        voter = self._voter(voter_id)
        if not voter.mrz:
            raise BadRequest(f"demo voter {voter_id} has no card (no MRZ in the demo voters file)")
        self.present_card(list(voter.mrz), voter_id=voter_id)

    def remove_card(self) -> None:
        with self._lock:
            _bind_remove_card(self._slot("card_reader").model)
            self._card = None

    # -- finger ---------------------------------------------------------------------------------
    def place_finger(self, image: np.ndarray, *, dpi: float | None = None, source: dict | None = None) -> None:
        """Put a finger on the sensor (and in the UV cradle). ``dpi``: the image's resolution when it
        is not the sensor's, so the simulator can scale it as the real sensor would see the finger."""
        if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
            raise BadImage("a finger image must be a 2-D uint8 (greyscale) array")
        if dpi is not None and not 100 <= float(dpi) <= 2000:
            raise BadRequest("dpi must be between 100 and 2000")
        with self._lock:
            _bind_place_finger(self._slot("fingerprint").model, image, dpi)
            self._finger = {"height": int(image.shape[0]), "width": int(image.shape[1]), **(source or {})}
            self._update_camera()

    def place_finger_file(self, path: str | Path, dpi: float | None = None) -> None:
        self.place_finger(read_gray_image(path), dpi=dpi, source={"file": Path(path).name})

    def place_voter_finger(self, voter_id: str, finger: str = "right_index") -> None:
        voter = self._voter(voter_id)
        if finger not in voter.probe_fingers:
            raise BadRequest(f"demo voter {voter_id} has no probe image of {finger}; "
                             f"has: {', '.join(sorted(voter.probe_fingers)) or 'none'}")
        self.place_finger(read_gray_image(voter.probe_fingers[finger]),
                          source={"voter_id": voter_id, "finger": finger})

    def lift_finger(self) -> None:
        with self._lock:
            _bind_lift_finger(self._slot("fingerprint").model)
            self._finger = None
            self._update_camera()

    def set_ink(self, inked: bool) -> None:
        with self._lock:
            self._require_running()
            self._inked = bool(inked)
            self._update_camera()

    # -- face and camera ------------------------------------------------------------------------
    def show_face(self, rgb: np.ndarray | None, *, source: dict | None = None) -> None:
        if rgb is not None and (not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8
                                or rgb.ndim != 3 or rgb.shape[2] != 3):
            raise BadImage("a face image must be an RGB uint8 HxWx3 array (or None for nobody)")
        with self._lock:
            self._require_running()
            assert self._camera is not None
            self._camera.show_face(rgb)
            self._face = None if rgb is None else {"height": int(rgb.shape[0]), "width": int(rgb.shape[1]),
                                                   **(source or {})}

    def show_face_file(self, path: str | Path) -> None:
        self.show_face(read_rgb_image(path), source={"file": Path(path).name})

    def show_voter_face(self, voter_id: str) -> None:
        voter = self._voter(voter_id)
        if not voter.probe_face:
            raise BadRequest(f"demo voter {voter_id} has no probe face photo")
        self.show_face(read_rgb_image(voter.probe_face), source={"voter_id": voter_id})

    def set_camera_scene(self, scene: str | None) -> None:
        with self._lock:
            self._require_running()
            assert self._camera is not None
            try:
                self._camera.set_scene(scene)
            except CameraFaultError as exc:
                raise BadRequest(str(exc)) from exc
            self._camera_scene = scene

    def _update_camera(self) -> None:
        if self._camera is not None:
            self._camera.set_finger(self._finger is not None)
            self._camera.set_ink(self._inked)

    def _lamp_lit(self) -> bool:
        # Called by the camera under its own lock; the lamp model guards its own state.
        slot = self._slots.get("lamp")
        return slot is not None and _bind_lamp_lit(slot.model)

    # -- faults ---------------------------------------------------------------------------------
    def inject(self, device: str, fault: str, **params: Any) -> None:
        """Set a fault: transport faults on any serial device, device faults on the model, camera faults."""
        with self._lock:
            self._require_running()
            if device not in DEVICE_NAMES:
                raise UnknownDevice(f"unknown device {device!r}; devices: {', '.join(DEVICE_NAMES)}")
            if device == "camera":
                self._inject_camera(fault)
            elif fault in TRANSPORT_FAULTS:
                try:
                    self._inject_transport(self._slot(device), fault, params)
                except (TypeError, ValueError) as exc:
                    raise BadRequest(f"bad parameters for the {fault} fault: {exc}") from exc
            else:
                slot = self._slot(device)
                known = _bind_device_faults(device)
                if fault not in known:
                    raise UnknownFault(f"unknown {device} fault {fault!r}; known: "
                                       f"{', '.join(TRANSPORT_FAULTS + tuple(known))}")
                try:
                    _bind_inject(device, slot.model, fault, params)
                except (TypeError, ValueError) as exc:
                    raise BadRequest(f"bad parameters for {device} fault {fault}: {exc}") from exc
            self._device_faults[device][fault] = {k: v for k, v in params.items() if k != "data"}

    def _inject_camera(self, fault: str) -> None:
        assert self._camera is not None and self._camera_server is not None
        if fault == "unplugged":
            self._camera_server.unplug()
        elif fault in CAMERA_FAULTS:
            self._camera.inject(fault)
        else:
            raise UnknownFault(f"unknown camera fault {fault!r}; known: unplugged, {', '.join(CAMERA_FAULTS)}")

    def _inject_transport(self, slot: _SerialSlot, fault: str, params: dict) -> None:
        if fault == "unplugged":
            if slot.transport is not None:
                slot.transport.close()
                slot.transport = None
            slot.unplugged = True
            return
        if slot.transport is None:
            raise DeviceNotAvailable(f"the {slot.name} is unplugged; clear its faults first")
        faults = slot.transport.faults
        if fault == "garbage":
            data = params.get("data")
            faults.garbage_prefix = bytes.fromhex(data) if isinstance(data, str) else DEFAULT_GARBAGE
        elif fault == "corrupt":
            faults.corrupt_replies = True
        elif fault == "dropped":
            every = int(params.get("every", 5))
            if every < 1:
                raise BadRequest("dropped: 'every' must be at least 1")
            faults.drop_every = every
        elif fault == "slow":
            delay = float(params.get("delay_s", 1.0))
            if not 0 <= delay <= 60:
                raise BadRequest("slow: 'delay_s' must be between 0 and 60 seconds")
            faults.reply_delay_s = delay

    def clear_faults(self, device: str) -> None:
        """Clear every fault on ``device``; an unplugged serial device comes back (on a new PTY path)."""
        with self._lock:
            self._require_running()
            if device not in DEVICE_NAMES:
                raise UnknownDevice(f"unknown device {device!r}; devices: {', '.join(DEVICE_NAMES)}")
            if device == "camera":
                assert self._camera is not None and self._camera_server is not None
                self._camera.clear_faults()
                self._camera_server.replug()
            else:
                slot = self._slot(device)
                if slot.unplugged:
                    self._plug(slot)
                elif slot.transport is not None:
                    slot.transport.faults.clear()
                _bind_clear_faults(device, slot.model)
            self._device_faults[device].clear()

    # -- helpers --------------------------------------------------------------------------------
    def _voter(self, voter_id: str) -> DemoVoter:
        if not self.voters:
            raise NoDemoVoters("no demo voters loaded (start with --demo-voters FILE)")
        try:
            return self.voters[voter_id]
        except KeyError:
            raise UnknownVoter(f"no demo voter {voter_id!r}") from None

    @property
    def running(self) -> bool:
        return self._running


# -- device bindings ----------------------------------------------------------------------------------
# The one place that knows each simulator module's names. A module missing from the checkout makes
# its device "not available" (ModelUnavailable), never a fake.

class ModelUnavailable(Exception):
    """The simulator module for a device cannot be imported in this checkout."""


def _import(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelUnavailable(f"{module} cannot be imported ({exc.name or exc})") from exc


# Device faults the suite accepts per serial device, beyond the transport faults. Aliases name the
# issue's faults ("messy image", "too few features") on top of the models' own fault names.
_FINGERPRINT_ALIASES = {"messy_image": ("sensor_error", {"code": "image_messy"}),
                        "too_few_features": ("sensor_error", {"code": "too_few_features"})}


def _bind_make_model(name: str, options: dict) -> tuple[Any, dict]:
    if name == "fingerprint":
        module = _import("simulators.fingerprint_sensor")
        model = module.FingerprintModule("r307")
        return model, {"baud": model.baud, "variant": "r307"}
    if name == "card_reader":
        module = _import("simulators.card_reader")
        model = module.CardReaderModel(options.get("card_framing", "desko"))
        return model, {"framing": model.framing}
    if name == "lamp":
        module = _import("simulators.lamp")
        kind = options.get("lamp_kind", "lcus")
        if kind == "lcus":
            # a 2-channel board answers the FF status query, so the driver can see a dead lamp relay
            return module.LcusBoardModel(channels=2, lamp_channel=1), {"kind": "lcus", "channel": 1}
        if kind == "numato":
            return module.NumatoRelayModel(relays=1, lamp_relay=0), {"kind": "numato", "channel": 0}
        raise BadRequest(f"lamp kind must be 'lcus' or 'numato', not {kind!r}")
    raise ModelUnavailable(f"no simulator for {name}")


def _bind_serve_pty(name: str, model: Any, rng: random.Random) -> PtyDevice:
    if name == "fingerprint":
        # serve_on_pty lets the module see the host's baud setting, so baud probing works as on hardware
        return _import("simulators.fingerprint_sensor").serve_on_pty(model, name)
    return PtyDevice(model, name, rng=rng)


def _bind_device_faults(device: str) -> tuple[str, ...]:
    if device == "fingerprint":
        return ("wrong_password", "sensor_error", "no_finger", "upload_stall") + tuple(_FINGERPRINT_ALIASES)
    if device == "lamp":
        return tuple(_import("simulators.lamp").DEVICE_FAULTS)
    if device == "card_reader":
        return tuple(_import("simulators.card_reader").DEVICE_FAULTS)
    return ()


def _bind_inject(device: str, model: Any, fault: str, params: dict) -> None:
    if device == "fingerprint" and fault in _FINGERPRINT_ALIASES:
        fault, extra = _FINGERPRINT_ALIASES[fault]
        params = {**params, **extra}
    model.inject(fault, **params)


def _bind_clear_faults(device: str, model: Any) -> None:
    model.clear_faults()


def _bind_present_card(model: Any, lines: list[str]) -> None:
    try:
        model.present_card(lines)
    except ValueError as exc:
        raise BadRequest(f"the card reader refused the card: {exc}") from exc


def _bind_remove_card(model: Any) -> None:
    model.remove_card()


def _bind_place_finger(model: Any, image: np.ndarray, dpi: float | None) -> None:
    model.place_finger(image, source_dpi=dpi)


def _bind_lift_finger(model: Any) -> None:
    model.lift_finger()


def _bind_lamp_lit(model: Any) -> bool:
    return bool(model.lit)


def _bind_lamp_state(model: Any) -> dict:
    return {"lit": bool(model.lit), "faults": sorted(model.faults)}
