"""Camera simulator: an IP camera on 127.0.0.1 serving what the booth camera would see.

It serves, as IP cameras do,

- ``GET /snapshot.jpg``: one JPEG of the current scene, taken when asked;
- ``GET /stream.mjpg``: an MJPEG stream (``multipart/x-mixed-replace``), ``?fps=N`` (default 10).

What the camera sees (``CameraSimulator.frame()``):

- the *face* scene: the face image the tester showed, a moving face played by a performer of
  :mod:`simulators.face_motion` (a live voter who blinks and turns on cue, or a presentation attack),
  or the empty booth background;
- the *finger* scene: the finger in the shrouded UV cradle, drawn by
  ``simulators.scenes.render_finger``; the ink glows only when the lamp model reports the lamp lit
  AND the finger is inked (``lamp_lit`` is a callable the suite wires to the lamp simulator).

``scene`` picks one explicitly (``"face"`` or ``"finger"``); ``None`` (the default) shows the face
when one is shown and the finger otherwise. Every frame gets a little sensor noise, because a real
sensor never repeats a frame bit for bit (the adapter relies on that to spot a frozen picture); the
finger renderer adds its own.

Faults: ``unplugged`` (the server stops listening: connection refused, open streams closed),
``frozen`` (the same JPEG again and again) and ``black`` (all-black frames).
"""
from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import cv2
import numpy as np

from simulators import scenes

SCENES = ("face", "finger")
# picture faults; "unplugged" belongs to the server (CameraServer.unplug), like a pulled cable
CAMERA_FAULTS = ("frozen", "black")
JPEG_QUALITY = 90
BACKGROUND_SIZE = (480, 640)  # height, width
STREAM_BOUNDARY = "kiosksimframe"


class CameraFaultError(ValueError):
    """An unknown camera fault or scene name."""


def booth_background(height: int = BACKGROUND_SIZE[0], width: int = BACKGROUND_SIZE[1]) -> np.ndarray:
    """The empty booth: a grey-beige wall lit from above, with a darker curtain band at the bottom."""
    rows = np.linspace(200, 150, height, dtype=np.float32)[:, None]
    wall = np.repeat(rows, width, axis=1)
    frame = np.stack([wall, wall * 0.96, wall * 0.88], axis=-1)
    frame[int(height * 0.8):] *= 0.55
    return frame.astype(np.uint8)


def empty_cradle(lamp_lit: bool, height: int = 240, width: int = 320) -> np.ndarray:
    """The shrouded cradle with no finger: near-dark, with the lamp's violet reflection when lit."""
    frame = np.full((height, width, 3), (24, 22, 26), dtype=np.uint8)
    if lamp_lit:
        frame[:] = (70, 30, 110)
    return frame


def add_sensor_noise(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """+1 level on about an eighth of the pixels: invisible, but never a repeated frame."""
    bump = (rng.random(frame.shape[:2], dtype=np.float32) < 0.125).astype(np.uint8)
    return cv2.add(np.ascontiguousarray(frame), cv2.merge([bump, bump, bump]))  # saturating at 255


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the frame as JPEG")
    return buf.tobytes()


class CameraSimulator:
    """The camera's state and picture. Thread-safe; the HTTP side only calls :meth:`jpeg`."""

    def __init__(self, *, lamp_lit: Callable[[], bool] = lambda: False, rng: np.random.Generator | None = None,
                 render_finger: Callable[..., np.ndarray] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._lock = threading.RLock()
        self._lamp_lit = lamp_lit
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self._render_finger = render_finger if render_finger is not None else scenes.render_finger
        self._face: np.ndarray | None = None
        self._clock = clock
        self._performer = None            # simulators.face_motion performer, or None
        self._performer_start = 0.0
        self._finger_present = False
        self._inked = False
        self._scene: str | None = None
        self._faults: set[str] = set()
        self._last_jpeg: bytes | None = None
        self._background = booth_background()

    # -- what is in front of the camera ---------------------------------------------------------
    def show_face(self, rgb: np.ndarray | None) -> None:
        if rgb is not None and (rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3):
            raise ValueError("a face image must be RGB uint8 HxWx3")
        with self._lock:
            self._face = None if rgb is None else rgb.copy()
            self._performer = None

    def play(self, performer) -> None:
        """Show a moving face: ``performer.frame(t)`` renders it ``t`` seconds after this call."""
        with self._lock:
            self._performer, self._performer_start = performer, self._clock()
            self._face = performer.frame(0.0)

    def cue(self, instruction: str | None) -> None:
        """What the booth screen asks now (a live performer reacts to it; photos and replays do not)."""
        with self._lock:
            if self._performer is not None:
                self._performer.cue(self._clock() - self._performer_start, instruction)

    def set_finger(self, present: bool) -> None:
        with self._lock:
            self._finger_present = bool(present)

    def set_ink(self, inked: bool) -> None:
        with self._lock:
            self._inked = bool(inked)

    def set_scene(self, scene: str | None) -> None:
        if scene is not None and scene not in SCENES:
            raise CameraFaultError(f"camera scene must be one of {', '.join(SCENES)} or null, not {scene!r}")
        with self._lock:
            self._scene = scene

    # -- faults ---------------------------------------------------------------------------------
    def inject(self, fault: str) -> None:
        if fault not in CAMERA_FAULTS:
            raise CameraFaultError(f"unknown camera fault {fault!r}; known: {', '.join(CAMERA_FAULTS)}")
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._faults)

    # -- the picture ----------------------------------------------------------------------------
    def effective_scene(self) -> str:
        with self._lock:
            if self._scene is not None:
                return self._scene
            return "face" if self._face is not None or not self._finger_present else "finger"

    def state(self) -> dict:
        with self._lock:
            return {"scene": self._scene, "showing": self.effective_scene(),
                    "face_shown": self._face is not None, "finger_in_cradle": self._finger_present,
                    "inked": self._inked, "faults": sorted(self._faults)}

    def frame(self) -> np.ndarray:
        """The RGB frame the sensor sees right now (camera faults other than ``black`` ignored)."""
        with self._lock:
            if "black" in self._faults:
                shape = self._face.shape if self._face is not None else self._background.shape
                return np.zeros(shape, dtype=np.uint8)
            scene = self.effective_scene()
            if scene == "face" and self._performer is not None:
                base = self._performer.frame(self._clock() - self._performer_start)
            elif scene == "face":
                base = self._face if self._face is not None else self._background
            else:
                lit = bool(self._lamp_lit())
                if not self._finger_present:
                    base = empty_cradle(lit)
                else:  # the renderer adds its own sensor noise
                    return self._render_finger(lamp_on=lit, inked=self._inked, rng=self._rng)
            return add_sensor_noise(base, self._rng)

    def jpeg(self) -> bytes:
        """The JPEG the camera sends now: a new exposure, or the stuck one when ``frozen``."""
        with self._lock:
            if "frozen" in self._faults and self._last_jpeg is not None:
                return self._last_jpeg
            data = encode_jpeg(self.frame())
            self._last_jpeg = data
            return data


class _Handler(BaseHTTPRequestHandler):
    server: "_CameraHttpServer"
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep http.server quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/snapshot.jpg", "/snapshot"):
            self._snapshot()
        elif url.path in ("/stream.mjpg", "/stream"):
            fps = urllib.parse.parse_qs(url.query).get("fps", ["10"])[0]
            try:
                interval = 1.0 / max(0.5, min(60.0, float(fps)))
            except ValueError:
                interval = 0.1
            self._stream(interval)
        else:
            self.send_error(404, "camera serves /snapshot.jpg and /stream.mjpg")

    def _snapshot(self) -> None:
        try:
            data = self.server.camera.jpeg()
        except CameraFaultError as exc:
            self.send_error(503, str(exc))
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, interval: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={STREAM_BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        stop = self.server.stopping
        while not stop.is_set():
            try:
                data = self.server.camera.jpeg()
            except CameraFaultError:
                return
            try:
                self.wfile.write(f"--{STREAM_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            except OSError:
                return
            stop.wait(interval)


class _CameraHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, camera: CameraSimulator):
        self.camera = camera
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every open connection, as pulling the camera's cable would."""
        with self._conn_lock:
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class CameraServer:
    """Serve a :class:`CameraSimulator` over HTTP on 127.0.0.1; ``unplug()``/``replug()`` keep the port."""

    def __init__(self, camera: CameraSimulator, port: int = 0):
        self.camera = camera
        self._server: _CameraHttpServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self._listen()

    def _listen(self) -> None:
        # SO_REUSEADDR lets a replugged camera take its port back at once; a port held by another
        # program fails after a few short retries.
        for attempt in range(5):
            try:
                self._server = _CameraHttpServer(("127.0.0.1", self.port), self.camera)
                break
            except OSError:
                if attempt == 4 or self.port == 0:
                    raise
                time.sleep(0.05)
        assert self._server is not None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-camera", daemon=True)
        self._thread.start()

    @property
    def snapshot_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/snapshot.jpg"

    @property
    def stream_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    @property
    def plugged(self) -> bool:
        return self._server is not None

    def unplug(self) -> None:
        """Stop listening and cut open streams: clients see connection refused / closed."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def replug(self) -> None:
        if self._server is None:
            self._listen()

    def close(self) -> None:
        self.unplug()
