"""Camera adapter: frames as RGB arrays from a device index, an image/video file or a URL.

Sources (``Camera(source)``):

- a device index (``0`` or ``"0"``): OpenCV ``VideoCapture`` (V4L2 on Linux). Exposure and white
  balance are fixed where the driver allows it, because the ink check compares two frames and an
  auto-exposure that reacts to the UV lamp would erase the difference it measures;
- an image file (``.jpg``, ``.png``, ``.tif`` ...): the same picture every read (a stand-in camera);
- a video file: its frames in order, rewinding at the end;
- an ``http(s)://`` URL. IP cameras (and ``kiosk-sim``'s camera) offer either a *snapshot* URL
  (every ``GET`` returns one JPEG) or an MJPEG *stream* (``multipart/x-mixed-replace``). The adapter
  asks the server once at open time and uses the matching client:

  * snapshot: one ``GET`` per :meth:`Camera.read_frame`. This is the default for the simulator
    because the frame is taken *when asked*: a stream read by OpenCV hands back frames queued in
    socket buffers, which may predate the lamp switching on and would make the ink check compare
    two "lamp off" frames;
  * stream: OpenCV's FFMPEG backend reads the MJPEG stream;
- any other URL (``rtsp://`` ...): OpenCV's FFMPEG backend.

Camera faults become typed errors: :class:`CameraUnavailable` (also a ``DeviceUnavailable``) when
the source cannot be opened or vanishes, :class:`CameraTimeout` when it stops answering,
:class:`BlankFrame` for an all-black frame (lens covered, sensor dead) and :class:`FrozenFrame`
when a live source returns a frame bit-identical to the previous one (a real sensor always adds
noise, so identical frames mean a stuck pipeline). Error messages carry the kind of source, never
frames.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})

# A frame whose brightest pixel is at most this is "black": JPEG ringing on a black frame stays
# within a few levels, while even a dark shrouded cradle shows the finger well above it.
BLANK_MAX_LEVEL = 12


class CameraError(DeviceError):
    """Base class for camera failures."""

    code = "camera_error"


class CameraUnavailable(CameraError, DeviceUnavailable):
    """The camera could not be opened, refused the connection or went away."""

    code = "camera_unavailable"


class CameraTimeout(CameraError, DeviceTimeout):
    """The camera did not deliver a frame in time."""

    code = "camera_timeout"


class BadFrame(CameraError):
    """The camera answered with something that is not a decodable image."""

    code = "camera_bad_frame"


class BlankFrame(CameraError):
    """The frame is black: lens covered, sensor dead or a broken pipeline."""

    code = "camera_blank_frame"


class FrozenFrame(CameraError):
    """A live camera returned exactly the previous frame again: the picture is stuck."""

    code = "camera_frozen_frame"


@dataclass(frozen=True)
class SettingsReport:
    """Which fixed capture settings the backend accepted (None = not applicable to this source)."""

    manual_exposure: bool | None
    manual_white_balance: bool | None
    note: str


# -- pure helpers ---------------------------------------------------------------------------------

def is_blank(frame: np.ndarray, max_level: int = BLANK_MAX_LEVEL) -> bool:
    """True when no pixel is brighter than ``max_level`` (a black frame, give or take JPEG noise)."""
    return frame.size == 0 or int(frame.max()) <= max_level


def frame_digest(frame: np.ndarray) -> bytes:
    """A short fingerprint of the pixels, to spot a frame repeated bit for bit."""
    return hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=16).digest()


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes into an RGB uint8 HxWx3 array; raises :class:`BadFrame`."""
    buf = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if bgr is None:
        raise BadFrame(f"camera sent {len(data)} bytes that are not a decodable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def classify_source(source: int | str | Path) -> str:
    """``"device"``, ``"image"``, ``"video"``, ``"http"`` or ``"url"`` for a camera source."""
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        return "device"
    text = str(source)
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return "http"
    if scheme and len(scheme) > 1:  # "rtsp", "udp"...; a one-letter scheme is a Windows drive
        return "url"
    return "image" if Path(text).suffix.lower() in IMAGE_SUFFIXES else "video"


# -- frame sources (one per kind of source) -------------------------------------------------------

class _ImageFile:
    description = "image file"

    def __init__(self, path: str):
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise CameraUnavailable("camera image file is missing or not a readable image")
        self._frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def read(self) -> np.ndarray:
        return self._frame.copy()

    def close(self) -> None:
        pass


class _OpenCvCapture:
    """A ``cv2.VideoCapture`` (device, video file or stream URL) giving RGB frames."""

    def __init__(self, target: int | str, *, api: int, description: str, timeout_s: float,
                 rewind_at_end: bool = False):
        self.description = description
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(timeout_s * 1000)]
        try:
            self._cap = cv2.VideoCapture(target, api, params)
        except cv2.error:
            self._cap = cv2.VideoCapture(target, api)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraUnavailable(f"could not open the {description}")
        self._rewind_at_end = rewind_at_end

    def fix_settings(self, exposure_value: float | None, white_balance_k: float | None) -> SettingsReport:
        # V4L2 convention: CAP_PROP_AUTO_EXPOSURE 1 = manual, 3 = aperture priority (auto). Without
        # explicit values the camera keeps the exposure/white balance it had when auto was switched off.
        exposure = bool(self._cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1))
        if exposure and exposure_value is not None:
            exposure = bool(self._cap.set(cv2.CAP_PROP_EXPOSURE, float(exposure_value)))
        white_balance = bool(self._cap.set(cv2.CAP_PROP_AUTO_WB, 0))
        if white_balance and white_balance_k is not None:
            white_balance = bool(self._cap.set(cv2.CAP_PROP_WB_TEMPERATURE, float(white_balance_k)))
        missing = [name for name, ok in (("exposure", exposure), ("white balance", white_balance)) if not ok]
        note = ("exposure and white balance fixed" if not missing
                else f"the {self._cap.getBackendName()} backend did not accept manual {' and '.join(missing)}")
        return SettingsReport(exposure, white_balance, note)

    def read(self) -> np.ndarray:
        ok, bgr = self._cap.read()
        if (not ok or bgr is None) and self._rewind_at_end:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise CameraUnavailable(f"the {self.description} stopped delivering frames")
        if bgr.ndim == 2:
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()


class _HttpSnapshot:
    """Snapshot client: every read is one ``GET`` that returns one image."""

    description = "HTTP snapshot camera"

    def __init__(self, url: str, timeout_s: float, opener: Callable[..., object]):
        self._url = url
        self._timeout_s = timeout_s
        self._open = opener

    def read(self) -> np.ndarray:
        return decode_image(self.fetch())

    def fetch(self) -> bytes:
        try:
            with self._open(self._url, timeout=self._timeout_s) as response:  # type: ignore[attr-defined]
                return response.read()
        except (TimeoutError, socket.timeout) as exc:
            raise CameraTimeout(f"the {self.description} did not answer within {self._timeout_s:g} s") from exc
        except urllib.error.HTTPError as exc:
            raise CameraUnavailable(f"the {self.description} answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise CameraTimeout(f"the {self.description} did not answer within {self._timeout_s:g} s") from exc
            raise CameraUnavailable(f"the {self.description} is unreachable ({type(exc.reason).__name__})") from exc
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise CameraUnavailable(f"the {self.description} closed the connection ({type(exc).__name__})") from exc

    def close(self) -> None:
        pass


def _http_content_type(url: str, timeout_s: float, opener: Callable[..., object]) -> str:
    """Ask an HTTP camera what it serves at ``url`` (reads only the headers)."""
    try:
        with opener(url, timeout=timeout_s) as response:  # type: ignore[attr-defined]
            return response.headers.get_content_type()
    except (TimeoutError, socket.timeout) as exc:
        raise CameraTimeout(f"the HTTP camera did not answer within {timeout_s:g} s") from exc
    except urllib.error.HTTPError as exc:
        raise CameraUnavailable(f"the HTTP camera answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise CameraUnavailable(f"the HTTP camera is unreachable ({type(exc).__name__})") from exc


# -- the adapter ------------------------------------------------------------------------------------

class Camera:
    """One camera. ``read_frame()`` returns RGB uint8 HxWx3; ``close()`` releases it.

    For a device, auto exposure and auto white balance are switched off, and ``exposure`` (driver
    units; V4L2: 100 us steps) and ``white_balance_k`` (kelvin) are set when given; ``settings``
    reports what the driver accepted, and a refusal is logged as a warning.

    ``http_mode`` is ``"auto"`` (ask the server), ``"snapshot"`` or ``"stream"``. ``check_blank``
    and ``check_frozen`` turn the black-frame and stuck-frame checks on or off; the frozen check
    defaults to on for live sources only (a still image file repeats by design).
    """

    def __init__(self, source: int | str | Path, *, timeout_s: float = 5.0, http_mode: str = "auto",
                 check_blank: bool = True, check_frozen: bool | None = None,
                 exposure: float | None = None, white_balance_k: float | None = None,
                 opener: Callable[..., object] = urllib.request.urlopen):
        if http_mode not in ("auto", "snapshot", "stream"):
            raise ValueError(f"http_mode must be auto, snapshot or stream, not {http_mode!r}")
        self.kind = classify_source(source)
        self._source = self._open_source(source, timeout_s, http_mode, opener)
        self.settings = self._fix_settings(exposure, white_balance_k)
        if self.settings.manual_exposure is False or self.settings.manual_white_balance is False:
            log.warning("camera settings not fixed: %s", self.settings.note)
        self._check_blank = check_blank
        self._check_frozen = (self.kind != "image") if check_frozen is None else check_frozen
        self._last_digest: bytes | None = None
        self._closed = False

    def _open_source(self, source, timeout_s: float, http_mode: str, opener):
        if self.kind == "device":
            return _OpenCvCapture(int(source), api=cv2.CAP_ANY, description="camera device", timeout_s=timeout_s)
        if self.kind == "image":
            return _ImageFile(str(source))
        if self.kind == "video":
            if not Path(str(source)).is_file():
                raise CameraUnavailable("camera video file is missing")
            return _OpenCvCapture(str(source), api=cv2.CAP_FFMPEG, description="video file",
                                  timeout_s=timeout_s, rewind_at_end=True)
        if self.kind == "http":
            mode = http_mode
            if mode == "auto":
                content_type = _http_content_type(str(source), timeout_s, opener)
                mode = "stream" if content_type.startswith("multipart/") else "snapshot"
            if mode == "snapshot":
                self.kind = "http-snapshot"
                return _HttpSnapshot(str(source), timeout_s, opener)
            self.kind = "http-stream"
            return _OpenCvCapture(str(source), api=cv2.CAP_FFMPEG, description="HTTP MJPEG camera stream",
                                  timeout_s=timeout_s)
        return _OpenCvCapture(str(source), api=cv2.CAP_FFMPEG, description="camera stream", timeout_s=timeout_s)

    def _fix_settings(self, exposure: float | None, white_balance_k: float | None) -> SettingsReport:
        if isinstance(self._source, _OpenCvCapture) and self.kind == "device":
            return self._source.fix_settings(exposure, white_balance_k)
        if self.kind in ("image", "video"):
            return SettingsReport(None, None, "a file has no capture settings")
        return SettingsReport(None, None, "a network camera's exposure is set on the camera itself, not over this protocol")

    def read_frame(self) -> np.ndarray:
        """The current frame as RGB uint8 HxWx3. Raises :class:`CameraError` subclasses."""
        if self._closed:
            raise CameraUnavailable("camera is closed")
        frame = self._source.read()
        if self._check_blank and is_blank(frame):
            raise BlankFrame(f"the {self._source.description} sent a black frame")
        if self._check_frozen:
            digest = frame_digest(frame)
            if digest == self._last_digest:
                raise FrozenFrame(f"the {self._source.description} sent the same frame twice: the picture is stuck")
            self._last_digest = digest
        return frame

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._source.close()

    def __enter__(self) -> "Camera":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
