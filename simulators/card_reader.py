"""Device model of a serial MRZ reader: pushes a card's zone, framed like the chosen vendor.

Pure protocol object: :meth:`present_card` hands the framed bytes to ``emit`` (set by
:class:`simulators.transport.PtyDevice` / ``TcpDevice``), exactly once per card, as a real reader
does when a card is swiped. Host bytes are ignored (these readers take no commands).

Device faults (transport faults such as garbage or dropped bytes live in the transport):

* ``bad_bcc``: 3M framing only; the BCC byte of every frame is wrong.
* ``truncated``: the frame is cut after ``keep`` bytes (default: half), as when a card is pulled
  out mid-read; the reader sees a frame start that never ends.
"""
from __future__ import annotations

from typing import Callable, Sequence

from hardware import mrz
from hardware.idcard import ENCODERS, encode_desko

DEVICE_FAULTS = ("bad_bcc", "truncated")


class CardReaderModel:
    def __init__(self, framing: str = "desko", *, soh: bool = False):
        if framing not in ENCODERS:
            raise ValueError(f"unknown framing {framing!r}; expected one of {sorted(ENCODERS)}")
        self.framing = framing
        self.soh = soh                      # DESKO readers optionally start frames with SOH
        self.emit: Callable[[bytes], None] = lambda data: None
        self.faults: dict[str, dict] = {}
        self.card: tuple[str, ...] | None = None
        self.sent = bytearray()             # every byte emitted, for tests and the control API

    # -- protocol ---------------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        return b""

    def frame(self, lines: Sequence[str]) -> bytes:
        """The bytes this reader sends for ``lines`` (after device faults)."""
        if self.framing == "desko":
            data = encode_desko(lines, soh=self.soh)
        else:
            data = ENCODERS[self.framing](lines)
        if "bad_bcc" in self.faults:
            data = data[:-1] + bytes([data[-1] ^ 0x55])
        if "truncated" in self.faults:
            keep = self.faults["truncated"].get("keep")
            data = data[: len(data) // 2 if keep is None else int(keep)]
        return data

    # -- card handling ----------------------------------------------------------------------------
    def present_card(self, lines: Sequence[str]) -> bytes:
        """Swipe a card: normalise its zone and emit it once. Returns the bytes sent."""
        zone = tuple(mrz.normalise(lines))
        if not zone:
            raise ValueError("a card needs at least one MRZ line")
        self.card = zone
        data = self.frame(zone)
        self.sent += data
        self.emit(data)
        return data

    def remove_card(self) -> None:
        self.card = None

    @property
    def card_present(self) -> bool:
        return self.card is not None

    # -- faults -----------------------------------------------------------------------------------
    def inject(self, fault: str, **params) -> None:
        if fault not in DEVICE_FAULTS:
            raise ValueError(f"unknown card reader fault {fault!r}; expected one of {DEVICE_FAULTS}")
        if fault == "bad_bcc" and self.framing != "3m":
            raise ValueError("only the 3m framing carries a BCC")
        self.faults[fault] = params

    def clear_faults(self) -> None:
        self.faults.clear()
