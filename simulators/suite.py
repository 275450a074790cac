"""All four simulated devices in one object: what ``kiosk-sim`` runs and the kiosk's end-to-end tests use.

The serial devices (ID card reader, fingerprint sensor, UV lamp relay) are pure protocol models
served on pseudo-terminals (``transport="pty"``, default) or TCP sockets (``"tcp"``); the camera is an
HTTP camera on 127.0.0.1. A control API (:mod:`simulators.control`) exposes the same operations
over HTTP JSON. Each device is driven through its binding (:mod:`simulators.bindings`).

What the camera shows: ``camera_scene`` is ``"face"``, ``"finger"`` or ``None`` (default). ``None``
shows the face when one is shown and the finger otherwise; a finger placed with
:meth:`place_finger` is on the sensor and, for the camera, in the UV cradle.

Every public method takes the suite's lock, so the control API, scenarios and tests may call it
from any thread.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from simulators.bindings import (BINDINGS, DEFAULT_GARBAGE, DEVICE_NAMES, SERIAL_DEVICES, TRANSPORT_FAULTS,
                                 CameraBinding, CardReaderBinding, DeviceBinding, FingerprintBinding, LampBinding,
                                 SuiteOptions)
from simulators.camera import CameraFaultError
from simulators.demo import DemoVoter, load_demo_voters, read_gray_image, read_rgb_image
from simulators.errors import (BadImage, BadRequest, DeviceNotAvailable, NoDemoVoters, NotRunning, SimulatorError,
                               UnknownDevice, UnknownFault, UnknownVoter)

__all__ = ["SimulatorSuite", "DEVICE_NAMES", "SERIAL_DEVICES", "TRANSPORT_FAULTS", "DEFAULT_GARBAGE",
           "DemoVoter", "load_demo_voters", "read_gray_image", "read_rgb_image", "SimulatorError", "UnknownDevice",
           "UnknownFault", "DeviceNotAvailable", "UnknownVoter", "NoDemoVoters", "BadImage", "BadRequest",
           "NotRunning"]

Binding = TypeVar("Binding", bound=DeviceBinding)


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
        self._options = SuiteOptions(transport=transport, seed=seed, card_framing=card_framing, lamp_kind=lamp_kind,
                                     camera_port=camera_port, lamp_lit=self._lamp_lit)
        self._lock = threading.RLock()
        self._devices: dict[str, DeviceBinding] = {}
        self._control = None
        self._running = False
        self._card: dict | None = None
        self._finger: dict | None = None
        self._face: dict | None = None
        self._inked = False
        self._camera_scene: str | None = None
        self._performances = 0
        self._device_faults: dict[str, dict[str, dict]] = {name: {} for name in DEVICE_NAMES}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "SimulatorSuite":
        with self._lock:
            if self._running:
                return self
            self._card = self._finger = self._face = None
            self._inked, self._camera_scene = False, None
            self._device_faults = {name: {} for name in DEVICE_NAMES}
            try:
                for name, binding in BINDINGS.items():
                    self._devices[name] = binding(self._options)
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
            for device in self._devices.values():
                device.close()
            self._devices.clear()

    def __enter__(self) -> "SimulatorSuite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _require_running(self) -> None:
        if not self._running:
            raise NotRunning("the simulator suite is not running (call start())")

    def _device(self, name: str) -> DeviceBinding:
        self._require_running()
        if name not in self._devices:
            raise UnknownDevice(f"unknown device {name!r}; devices: {', '.join(DEVICE_NAMES)}")
        return self._devices[name]

    def _binding(self, kind: type[Binding]) -> Binding:
        """The running device of binding class ``kind`` (for its device-specific operations)."""
        device = self._device(kind.name)
        assert isinstance(device, kind)
        return device

    # -- description and state ------------------------------------------------------------------
    def describe(self) -> dict:
        """Where each device is: serial paths (or socket:// URLs), the camera URL, the control API."""
        with self._lock:
            self._require_running()
            out = {name: device.describe() for name, device in self._devices.items()}
            described: dict[str, Any] = {"devices": out, "transport": self.transport}
            described["control"] = self._control.url if self._control is not None else None
            return described

    def state(self) -> dict:
        """What is presented to each device right now, and the faults set (no raw MRZ or images)."""
        with self._lock:
            self._require_running()
            return {
                "card": self._card, "finger": self._finger, "face": self._face, "inked": self._inked,
                "camera_scene": self._camera_scene, "camera": self._binding(CameraBinding).state(),
                "lamp": self._binding(LampBinding).state(),
                "fingerprint_module": self._binding(FingerprintBinding).state(),
                "faults": {name: sorted(faults) for name, faults in self._device_faults.items()},
                "voters": sorted(self.voters),
            }

    # -- ID card --------------------------------------------------------------------------------
    def present_card(self, mrz_lines: list[str] | tuple[str, ...], *, voter_id: str | None = None) -> None:
        lines = [str(line) for line in mrz_lines]
        if not lines or not all(lines):
            raise BadRequest("a card needs its MRZ lines (a list of non-empty strings)")
        with self._lock:
            self._binding(CardReaderBinding).present_card(lines)
            self._card = {"voter_id": voter_id, "lines": len(lines)}

    def present_voter_card(self, voter_id: str) -> None:
        voter = self._voter(voter_id)
        if not voter.mrz:
            raise BadRequest(f"demo voter {voter_id} has no card (no MRZ in the demo voters file)")
        self.present_card(list(voter.mrz), voter_id=voter_id)

    def remove_card(self) -> None:
        with self._lock:
            self._binding(CardReaderBinding).remove_card()
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
            self._binding(FingerprintBinding).place_finger(image, dpi)
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
            self._binding(FingerprintBinding).lift_finger()
            self._finger = None
            self._update_camera()

    def set_ink(self, inked: bool) -> None:
        with self._lock:
            self._require_running()
            self._inked = bool(inked)
            self._update_camera()

    # -- face and camera ------------------------------------------------------------------------
    def show_face(self, rgb: np.ndarray | None, *, source: dict | None = None, performance: str = "still") -> None:
        """Put a face in front of the camera. ``performance`` says what the camera sees it do next:
        ``still`` (the photo itself, unchanging), ``live`` (a voter who blinks and turns when the booth
        screen asks), or a presentation attack made from the photo: ``printed_photo`` held still,
        ``moved_photo`` moved about, ``video_loop`` (a recording of the voter replayed), ``two_way_loop`` (one that
        turns both ways)."""
        from simulators.face_motion import KINDS

        if performance not in ("still", *KINDS):
            raise BadRequest(f"performance must be one of: still, {', '.join(KINDS)}")
        if rgb is not None and (not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8
                                or rgb.ndim != 3 or rgb.shape[2] != 3):
            raise BadImage("a face image must be an RGB uint8 HxWx3 array (or None for nobody)")
        with self._lock:
            camera = self._binding(CameraBinding).camera
            if rgb is None or performance == "still":
                camera.show_face(rgb)
            else:
                from simulators.face_motion import face_from_photo, performer

                self._performances += 1
                face = face_from_photo(rgb)
                if face is None:
                    raise BadImage("no face found in the photo: it cannot be performed")
                rng = np.random.default_rng([self._options.seed, self._performances])
                camera.play(performer(performance, face, rng))
            self._face = None if rgb is None else {"height": int(rgb.shape[0]), "width": int(rgb.shape[1]),
                                                   **(source or {}), "performance": performance}

    def cue_face(self, instruction: str | None) -> None:
        """What the booth screen asks of the voter now (``blink``, ``turn_left``, ``turn_right``...): a
        ``live`` performance reacts to it after a human reaction time; photos and replays do not."""
        if instruction is not None and not isinstance(instruction, str):
            raise BadRequest("a cue is a string (blink, turn_left, turn_right, look_at_camera) or null")
        with self._lock:
            self._binding(CameraBinding).camera.cue(instruction)

    def show_face_file(self, path: str | Path, performance: str = "still") -> None:
        self.show_face(read_rgb_image(path), source={"file": Path(path).name}, performance=performance)

    def show_voter_face(self, voter_id: str, performance: str = "still") -> None:
        voter = self._voter(voter_id)
        if not voter.probe_face:
            raise BadRequest(f"demo voter {voter_id} has no probe face photo")
        self.show_face(read_rgb_image(voter.probe_face), source={"voter_id": voter_id}, performance=performance)

    def set_camera_scene(self, scene: str | None) -> None:
        with self._lock:
            try:
                self._binding(CameraBinding).camera.set_scene(scene)
            except CameraFaultError as exc:
                raise BadRequest(str(exc)) from exc
            self._camera_scene = scene

    def _update_camera(self) -> None:
        camera = self._binding(CameraBinding).camera
        camera.set_finger(self._finger is not None)
        camera.set_ink(self._inked)

    def _lamp_lit(self) -> bool:
        # Called by the camera under its own lock (not the suite's); the lamp model guards its own state.
        lamp = self._devices.get("lamp")
        return isinstance(lamp, LampBinding) and lamp.lit()

    # -- faults ---------------------------------------------------------------------------------
    def inject(self, device: str, fault: str, **params: Any) -> None:
        """Set a fault: transport faults on any serial device, device faults on the model, camera faults."""
        with self._lock:
            self._device(device).inject(fault, params)
            self._device_faults[device][fault] = {k: v for k, v in params.items() if k != "data"}

    def clear_faults(self, device: str) -> None:
        """Clear every fault on ``device``; an unplugged serial device comes back (on a new PTY path)."""
        with self._lock:
            self._device(device).clear_faults()
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
