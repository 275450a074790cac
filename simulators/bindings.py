"""How the suite drives each simulated device: one binding class per device, found by name in
:data:`BINDINGS` (as pyserial finds its URL handlers), so the suite never branches on device names.

A binding owns its device's model and how it is served (a PTY or TCP socket for the serial devices,
an HTTP server for the camera), the faults the device accepts and what it reports in
:meth:`~simulators.suite.SimulatorSuite.describe` and ``state()``. Device-specific operations
(presenting a card, placing a finger, reading the lamp) are methods of that device's binding.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from simulators.camera import CAMERA_FAULTS, CameraServer, CameraSimulator
from simulators.card_reader import DEVICE_FAULTS as CARD_READER_FAULTS
from simulators.card_reader import CardReaderModel
from simulators.errors import BadRequest, DeviceNotAvailable, UnknownFault
from simulators.fingerprint_sensor import FingerprintModule, serve_on_pty
from simulators.lamp import DEVICE_FAULTS as LAMP_FAULTS
from simulators.lamp import LcusBoardModel, NumatoRelayModel
from simulators.transport import PtyDevice, TcpDevice

TRANSPORT_FAULTS = ("unplugged", "garbage", "corrupt", "dropped", "slow")
DEFAULT_GARBAGE = bytes.fromhex("a55a00ff")


@dataclass(frozen=True)
class SuiteOptions:
    """What the suite was asked for, and the one thing a binding reads from another device."""

    transport: str = "pty"                 # "pty" | "tcp", for the serial devices
    seed: int = 0
    card_framing: str = "desko"
    lamp_kind: str = "lcus"
    camera_port: int = 0
    lamp_lit: Callable[[], bool] = lambda: False   # what the camera sees of the UV lamp


class DeviceBinding:
    """One simulated device as the suite drives it."""

    name: ClassVar[str]

    def __init__(self, options: SuiteOptions) -> None:
        self.options = options

    def faults(self) -> tuple[str, ...]:
        """Every fault name :meth:`inject` accepts."""
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError

    def inject(self, fault: str, params: dict) -> None:
        raise NotImplementedError

    def clear_faults(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SerialBinding(DeviceBinding):
    """A protocol model served on a PTY or TCP socket, with transport faults on top of its own."""

    device_faults: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: SuiteOptions) -> None:
        super().__init__(options)
        self.model, self.info = self.make_model()
        self.transport: PtyDevice | TcpDevice | None = None
        self.port = 0                     # TCP port, kept across unplug/replug
        self.unplugged = False
        self.plug()

    def make_model(self) -> tuple[Any, dict]:
        """The protocol model and what describe() says about it beyond its path."""
        raise NotImplementedError

    def serve_pty(self) -> PtyDevice:
        return PtyDevice(self.model, self.name, rng=random.Random(self.options.seed))

    def plug(self) -> None:
        if self.options.transport == "pty":
            self.transport = self.serve_pty()
        else:
            self.transport = TcpDevice(self.model, self.name, port=self.port)
            self.port = self.transport.port
        self.unplugged = False

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def describe(self) -> dict:
        path = "" if self.unplugged or self.transport is None else self.transport.path
        return {"path": path, **self.info, "status": "unplugged" if self.unplugged else "ok"}

    def faults(self) -> tuple[str, ...]:
        return TRANSPORT_FAULTS + self.device_faults

    def inject(self, fault: str, params: dict) -> None:
        if fault in TRANSPORT_FAULTS:
            try:
                self._inject_transport(fault, params)
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"bad parameters for the {fault} fault: {exc}") from exc
            return
        if fault not in self.device_faults:
            raise UnknownFault(f"unknown {self.name} fault {fault!r}; known: {', '.join(self.faults())}")
        try:
            self.inject_device(fault, params)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"bad parameters for {self.name} fault {fault}: {exc}") from exc

    def inject_device(self, fault: str, params: dict) -> None:
        self.model.inject(fault, **params)

    def _inject_transport(self, fault: str, params: dict) -> None:
        if fault == "unplugged":
            self.close()
            self.unplugged = True
            return
        if self.transport is None:
            raise DeviceNotAvailable(f"the {self.name} is unplugged; clear its faults first")
        faults = self.transport.faults
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

    def clear_faults(self) -> None:
        """Clear every fault; an unplugged device comes back (on a new PTY path)."""
        if self.unplugged:
            self.plug()
        elif self.transport is not None:
            self.transport.faults.clear()
        self.model.clear_faults()


class CardReaderBinding(SerialBinding):
    name = "card_reader"
    device_faults = tuple(CARD_READER_FAULTS)

    def make_model(self) -> tuple[Any, dict]:
        model = CardReaderModel(self.options.card_framing)
        return model, {"framing": model.framing}

    def present_card(self, lines: list[str]) -> None:
        try:
            self.model.present_card(lines)
        except ValueError as exc:
            raise BadRequest(f"the card reader refused the card: {exc}") from exc

    def remove_card(self) -> None:
        self.model.remove_card()


class FingerprintBinding(SerialBinding):
    name = "fingerprint"
    # Aliases name the faults ("messy image", "too few features") on top of the module's own.
    ALIASES: ClassVar[dict[str, tuple[str, dict]]] = {
        "messy_image": ("sensor_error", {"code": "image_messy"}),
        "too_few_features": ("sensor_error", {"code": "too_few_features"})}
    device_faults = ("wrong_password", "sensor_error", "no_finger", "upload_stall") + tuple(ALIASES)

    def make_model(self) -> tuple[Any, dict]:
        model = FingerprintModule("r307")
        return model, {"baud": model.baud, "variant": "r307"}

    def serve_pty(self) -> PtyDevice:
        # serve_on_pty lets the module see the host's baud setting, so baud probing works as on hardware
        return serve_on_pty(self.model, self.name)

    def inject_device(self, fault: str, params: dict) -> None:
        if fault in self.ALIASES:
            fault, extra = self.ALIASES[fault]
            params = {**params, **extra}
        self.model.inject(fault, **params)

    def place_finger(self, image: np.ndarray, dpi: float | None) -> None:
        self.model.place_finger(image, source_dpi=dpi)

    def lift_finger(self) -> None:
        self.model.lift_finger()

    def state(self) -> dict:
        return self.model.state()


class LampBinding(SerialBinding):
    name = "lamp"
    device_faults = tuple(LAMP_FAULTS)

    def make_model(self) -> tuple[Any, dict]:
        kind = self.options.lamp_kind
        if kind == "lcus":
            # a 2-channel board answers the FF status query, so the driver can see a dead lamp relay
            return LcusBoardModel(channels=2, lamp_channel=1), {"kind": "lcus", "channel": 1}
        if kind == "numato":
            return NumatoRelayModel(relays=1, lamp_relay=0), {"kind": "numato", "channel": 0}
        raise BadRequest(f"lamp kind must be 'lcus' or 'numato', not {kind!r}")

    def lit(self) -> bool:
        return bool(self.model.lit)

    def state(self) -> dict:
        return {"lit": bool(self.model.lit), "faults": sorted(self.model.faults)}


class CameraBinding(DeviceBinding):
    """The HTTP camera: what is in front of it (:class:`CameraSimulator`) and its server."""

    name = "camera"

    def __init__(self, options: SuiteOptions) -> None:
        super().__init__(options)
        self.camera = CameraSimulator(lamp_lit=options.lamp_lit, rng=np.random.default_rng(options.seed))
        self.server = CameraServer(self.camera, options.camera_port)

    def faults(self) -> tuple[str, ...]:
        return ("unplugged",) + CAMERA_FAULTS

    def describe(self) -> dict:
        return {"url": self.server.snapshot_url, "stream_url": self.server.stream_url,
                "status": "ok" if self.server.plugged else "unplugged"}

    def inject(self, fault: str, params: dict) -> None:
        if fault == "unplugged":
            self.server.unplug()
        elif fault in CAMERA_FAULTS:
            self.camera.inject(fault)
        else:
            raise UnknownFault(f"unknown camera fault {fault!r}; known: {', '.join(self.faults())}")

    def clear_faults(self) -> None:
        self.camera.clear_faults()
        self.server.replug()

    def state(self) -> dict:
        return self.camera.state()

    def close(self) -> None:
        self.server.close()


# Every device the suite runs, by name, in the order they start (and describe() lists them).
BINDINGS: dict[str, type[DeviceBinding]] = {
    binding.name: binding for binding in (CardReaderBinding, FingerprintBinding, LampBinding, CameraBinding)}
DEVICE_NAMES = tuple(BINDINGS)
SERIAL_DEVICES = tuple(name for name, binding in BINDINGS.items() if issubclass(binding, SerialBinding))
