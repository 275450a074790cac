"""Serve a device model on a pseudo-terminal (or TCP), with transport-level fault injection.

A *device model* is pure protocol: an object with ``receive(data: bytes) -> bytes`` that consumes
bytes the host wrote and returns the bytes the device answers (``b""`` for none). A model that
speaks unprompted (an MRZ reader pushing a card's zone) calls ``self.emit(data)``, an attribute the
transport sets. Models never touch file descriptors, so tests can drive them directly and the same
model runs on a PTY, a TCP socket or in memory.

The transport owns the faults every serial device can show: unplugged (the port vanishes), garbage
bytes before a reply, corrupted replies (last byte flipped, which breaks a checksum/BCC), dropped
bytes, and slow replies.
"""
from __future__ import annotations

import os
import random
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import Callable, Protocol


class DeviceModel(Protocol):
    emit: Callable[[bytes], None]

    def receive(self, data: bytes) -> bytes: ...


@dataclass
class TransportFaults:
    """Faults applied to bytes the device sends. All off by default."""

    garbage_prefix: bytes = b""          # sent before every reply
    corrupt_replies: bool = False         # flip the last byte of every reply (bad checksum / BCC)
    drop_every: int = 0                   # drop every Nth byte of replies (0 = never)
    reply_delay_s: float = 0.0            # wait before answering
    _dropped: int = field(default=0, repr=False)

    def apply(self, data: bytes) -> bytes:
        if not data:
            return data
        out = bytearray(data)
        if self.corrupt_replies:
            out[-1] ^= 0xFF
        if self.drop_every > 0:
            kept = bytearray()
            for b in out:
                self._dropped += 1
                if self._dropped % self.drop_every:
                    kept.append(b)
            out = kept
        return self.garbage_prefix + bytes(out)

    def clear(self) -> None:
        self.garbage_prefix, self.corrupt_replies, self.drop_every, self.reply_delay_s = b"", False, 0, 0.0


class PtyDevice:
    """Run ``model`` on the master side of a new pseudo-terminal; the host opens :attr:`path`.

    ``unplug()`` closes the PTY so the host's next read or write fails as with a pulled USB cable;
    ``replug()`` makes a new PTY (with a new path, as a real re-enumeration would).
    """

    def __init__(self, model: DeviceModel, name: str = "device", *, rng: random.Random | None = None):
        self.model = model
        self.name = name
        self.faults = TransportFaults()
        self.rng = rng or random.Random(0)
        self._lock = threading.RLock()
        self._master = -1
        self._slave = -1
        self.path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        model.emit = self._emit  # type: ignore[attr-defined]
        self._open()

    # -- lifecycle ------------------------------------------------------------------------------
    def _open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            for fd in (self._master, self._slave):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = -1

    def unplug(self) -> None:
        self.close()

    def replug(self) -> str:
        if self._master < 0:
            self._open()
        return self.path

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    # -- I/O ------------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        data = self.faults.apply(data)
        # The master fd is non-blocking and every wait is bounded, so a host that stops reading
        # mid-reply can never wedge this thread (or close(), which takes the same lock).
        with self._lock:
            view = memoryview(data)
            while view and not self._stop.is_set():
                fd = self._master
                if fd < 0:
                    return
                try:
                    _, writable, _ = select.select([], [fd], [], 0.05)
                except (OSError, ValueError):
                    return
                if not writable:
                    continue
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                view = view[n:]

    def _emit(self, data: bytes) -> None:
        if self.plugged:
            self._write(data)

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self._master
            if fd < 0:
                return
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                # EIO: nobody has the slave open right now; wait for the host to (re)open it
                time.sleep(0.02)
                continue
            if not data:
                continue
            reply = self.model.receive(data)
            if reply:
                if self.faults.reply_delay_s:
                    time.sleep(self.faults.reply_delay_s)
                self._write(reply)


class TcpDevice:
    """Run ``model`` behind a TCP socket on 127.0.0.1 (``socket://127.0.0.1:PORT`` for pyserial)."""

    def __init__(self, model: DeviceModel, name: str = "device", port: int = 0):
        self.model = model
        self.name = name
        self.faults = TransportFaults()
        self._server = socket.create_server(("127.0.0.1", port))
        self.port = self._server.getsockname()[1]
        self.path = f"socket://127.0.0.1:{self.port}"
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        model.emit = self._emit  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._run, name=f"sim-{name}", daemon=True)
        self._thread.start()

    def _emit(self, data: bytes) -> None:
        if self._conn is not None:
            try:
                self._conn.sendall(self.faults.apply(data))
            except OSError:
                pass

    def _run(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._conn = conn
            conn.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    break
                if not data:
                    break
                reply = self.model.receive(data)
                if reply:
                    if self.faults.reply_delay_s:
                        time.sleep(self.faults.reply_delay_s)
                    self._emit(reply)
            self._conn = None
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        if self._conn is not None:
            self._conn.close()
        self._thread.join(timeout=2)
