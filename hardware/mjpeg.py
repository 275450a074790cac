"""An MJPEG stream client that stays close to real time: a short backlog in order, older frames dropped.

An IP camera's MJPEG stream (``multipart/x-mixed-replace``) sends frames at the camera's rate
whether the reader keeps up or not. A liveness check that spends ~80 ms on a frame while the camera
sends one every 67 ms would fall further and further behind real time if it read the stream in
order (OpenCV's reader does), answering a voter's blink seconds after it happened. So a background
thread reads the socket all the time and keeps the last :data:`BACKLOG_FRAMES` complete JPEGs with
the time each arrived (on the caller's clock). :meth:`MjpegStream.next_frame` hands them over in
order and counts the frames that fell out of the backlog unseen as dropped. Keeping only the newest
frame was tried first: one slow frame (a face re-detection) can then skip the two or three frames a
blink is visible in. At the booth, live voters failed the check more often than in the simulated-
clock scenarios (bench booth, idle: 2 of 51 live checks with the newest frame only, 1 of 101 with
this backlog; too few to prove the cause).

The wire format is parsed by :class:`MultipartParser`, a pure function of the bytes fed to it: each
part is ``--BOUNDARY`` CRLF, headers, CRLF CRLF, ``Content-Length`` bytes of JPEG. Parts without a
``Content-Length`` are cut at the next boundary line.

Faults are the camera adapter's typed errors: :class:`hardware.camera.CameraUnavailable` when the
stream cannot be opened or closes (the cable pulled), :class:`hardware.camera.CameraTimeout` when no
frame comes in time, :class:`hardware.camera.BadFrame` for bytes that are not a JPEG.
"""
from __future__ import annotations

import collections
import http.client
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable

import numpy as np

from hardware.camera import BadFrame, CameraTimeout, CameraUnavailable, decode_image

MAX_PART_BYTES = 8 * 1024 * 1024    # no booth camera frame is larger; a stream sending more is broken
READ_CHUNK = 64 * 1024
# Frames kept for a reader that fell behind: at 15 frames/s, 0.2 s. Long enough to ride out one slow
# frame, short enough that the reader is never more than this far behind the camera.
BACKLOG_FRAMES = 3


class MultipartParser:
    """Splits a ``multipart/x-mixed-replace`` body into its parts' payloads, fed in arbitrary chunks."""

    def __init__(self, boundary: str):
        if not boundary:
            raise ValueError("a multipart stream needs a boundary")
        self._delimiter = b"--" + boundary.encode("latin-1")
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads of every part completed by ``data``; raises BadFrame for a part that is too large."""
        self._buffer += data
        parts: list[bytes] = []
        while True:
            start = self._buffer.find(self._delimiter)
            if start < 0:
                # keep a tail that may be the start of a delimiter split across two chunks
                del self._buffer[:max(0, len(self._buffer) - len(self._delimiter))]
                return parts
            header_end = self._buffer.find(b"\r\n\r\n", start)
            if header_end < 0:
                if len(self._buffer) - start > 16 * 1024:
                    raise BadFrame("the MJPEG stream sent a part header longer than 16 KB")
                del self._buffer[:start]
                return parts
            length = _content_length(bytes(self._buffer[start + len(self._delimiter):header_end]))
            body_start = header_end + 4
            if length is not None:
                if length > MAX_PART_BYTES:
                    raise BadFrame(f"the MJPEG stream announced a {length}-byte frame")
                if len(self._buffer) < body_start + length:
                    del self._buffer[:start]
                    return parts
                parts.append(bytes(self._buffer[body_start:body_start + length]))
                del self._buffer[:body_start + length]
            else:
                end = self._buffer.find(self._delimiter, body_start)
                if end < 0:
                    if len(self._buffer) - body_start > MAX_PART_BYTES:
                        raise BadFrame("the MJPEG stream sent a frame larger than 8 MB")
                    del self._buffer[:start]
                    return parts
                parts.append(bytes(self._buffer[body_start:end]).rstrip(b"\r\n"))
                del self._buffer[:end]


def _content_length(headers: bytes) -> int | None:
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                raise BadFrame("the MJPEG stream sent a Content-Length that is not a number") from None
    return None


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a ``multipart/x-mixed-replace; boundary=...`` header."""
    kind, _, params = content_type.partition(";")
    if not kind.strip().lower().startswith("multipart/"):
        raise CameraUnavailable(f"the camera URL serves {kind.strip() or 'nothing'}, not an MJPEG stream")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value.strip():
            boundary = value.strip().strip('"')
            return boundary[2:] if boundary.startswith("--") else boundary
    raise CameraUnavailable("the camera's MJPEG stream names no multipart boundary")


@dataclass(frozen=True)
class StreamFrame:
    seq: int            # 1, 2, ... in arrival order (gaps are the frames dropped)
    t: float            # arrival time on the stream's clock
    rgb: np.ndarray


class MjpegStream:
    """The recent frames of an HTTP MJPEG stream, in order. ``clock`` stamps each frame as it arrives."""

    def __init__(self, url: str, *, timeout_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CameraUnavailable("the camera stream URL must be http(s)://host[:port]/path")
        self.clock = clock
        self._clock = clock
        self._timeout_s = timeout_s
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(parts.hostname, parts.port, timeout=timeout_s)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            self._conn.request("GET", path)
            self._response = self._conn.getresponse()
        except (TimeoutError, socket.timeout) as exc:
            self._conn.close()
            raise CameraTimeout(f"the camera stream did not answer within {timeout_s:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise CameraUnavailable(f"the camera stream is unreachable ({type(exc).__name__})") from exc
        if self._response.status != 200:
            self._conn.close()
            raise CameraUnavailable(f"the camera stream answered HTTP {self._response.status}")
        try:
            self._parser = MultipartParser(boundary_of(self._response.getheader("Content-Type", "")))
        except CameraUnavailable:
            self._conn.close()
            raise
        self._cond = threading.Condition()
        self._backlog: collections.deque[tuple[int, float, bytes]] = collections.deque(maxlen=BACKLOG_FRAMES)
        self._received = 0
        self._error: Exception | None = None
        self._closed = False
        self.dropped = 0
        self._taken = 0
        self._thread = threading.Thread(target=self._read_loop, name="mjpeg-reader", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        try:
            while not self._closed:
                chunk = self._response.read1(READ_CHUNK)
                if not chunk:
                    raise CameraUnavailable("the camera stream closed (unplugged?)")
                arrived = self._clock()
                for jpeg in self._parser.feed(chunk):
                    with self._cond:
                        self._received += 1
                        self._backlog.append((self._received, arrived, jpeg))
                        self._cond.notify_all()
        except (TimeoutError, socket.timeout):
            self._fail(CameraTimeout(f"the camera stream sent nothing for {self._timeout_s:g} s"))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._fail(CameraUnavailable(f"the camera stream broke off ({type(exc).__name__})"))
        except (CameraUnavailable, BadFrame) as exc:
            self._fail(exc)

    def _fail(self, error: Exception) -> None:
        with self._cond:
            if not self._closed:
                self._error = error
            self._cond.notify_all()

    def next_frame(self, after: int = 0, timeout_s: float | None = None) -> StreamFrame:
        """The oldest kept frame newer than frame number ``after``, waiting for one if needed; the frames
        that arrived between the last one taken and this one (fallen out of the backlog) are counted in
        :attr:`dropped`."""
        wait = self._timeout_s if timeout_s is None else timeout_s
        with self._cond:
            ready = self._cond.wait_for(
                lambda: self._error is not None or self._closed or (self._backlog and self._backlog[-1][0] > after),
                timeout=wait)
            if self._closed:
                raise CameraUnavailable("the camera stream is closed")
            if self._backlog and self._backlog[-1][0] > after:
                seq, arrived, jpeg = next(frame for frame in self._backlog if frame[0] > after)
            elif self._error is not None:
                raise self._error
            else:
                assert not ready
                raise CameraTimeout(f"the camera stream sent no frame for {wait:g} s")
            if self._taken:
                self.dropped += max(0, seq - self._taken - 1)
            self._taken = seq
        return StreamFrame(seq, arrived, decode_image(jpeg))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        try:
            self._conn.sock and self._conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._conn.close()
        self._thread.join(timeout=2)

    def __enter__(self) -> "MjpegStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
