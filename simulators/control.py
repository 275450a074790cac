"""HTTP JSON control API for a running :class:`~simulators.suite.SimulatorSuite` (127.0.0.1 only).

Routes (bodies are JSON; every success answers ``{"ok": true, "state": {...}}``, every failure
``{"ok": false, "error": {"code": "...", "message": "..."}}`` with a 4xx status):

==========================  =========================================================================
``GET /state``              what each device is shown, faults, camera scene, lamp
``GET /describe``           the same JSON ``kiosk-sim start`` printed (paths change after an unplug)
``POST /card``              ``{"voter_id": "V0001"}`` or ``{"mrz": ["line1", "line2", "line3"]}``
``DELETE /card``            take the card off the reader
``POST /finger``            ``{"voter_id": "V0001", "finger": "right_index"}``, ``{"path": "/abs/x.tif"}``,
                            ``{"dataset": "fingerprints/fvc2002/DB1_B/101_2.tif"}`` or ``{"image_b64": ...}``;
                            optional ``"dpi"`` when the image is not at the sensor's resolution
``DELETE /finger``          lift the finger
``POST /ink``               ``{"inked": true}``
``POST /face``              ``{"voter_id": ...}``, ``{"path": ...}``, ``{"dataset": ...}`` or ``{"image_b64": ...}``;
                            optional ``"performance"``: ``still`` (default), ``live``, ``printed_photo``,
                            ``moved_photo``, ``video_loop`` or ``two_way_loop`` (what the camera sees the face do)
``POST /face/cue``          ``{"instruction": "blink"}``: what the booth screen asks now (a live voter reacts)
``DELETE /face``            nobody in front of the camera
``POST /camera``            ``{"scene": "face" | "finger" | null}``
``POST /faults/<device>``   ``{"fault": "slow", "delay_s": 2}`` (see docs/simulators.md for every fault)
``DELETE /faults/<device>`` clear the device's faults (an unplugged device comes back)
==========================  =========================================================================
"""
from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from flask import Flask, jsonify, request
from waitress.server import create_server
from werkzeug.exceptions import HTTPException

from simulators.demo import read_gray_image, read_rgb_image
from simulators.errors import BadImage, BadRequest, SimulatorError
from simulators.face_motion import KINDS
from simulators.suite import SimulatorSuite

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_MRZ_LINES, MAX_MRZ_LINE = 4, 100


def datasets_dir() -> Path | None:
    """The shared datasets folder (``KIOSK_DATASETS`` or ``../shared/datasets``), or None."""
    candidates = [Path(os.environ["KIOSK_DATASETS"])] if os.environ.get("KIOSK_DATASETS") else []
    candidates += [_PROJECT_ROOT.parent / "shared" / "datasets", Path.cwd().parent / "shared" / "datasets"]
    return next((c.resolve() for c in candidates if c.is_dir()), None)


def _dataset_file(relative: str) -> Path:
    root = datasets_dir()
    if root is None:
        raise BadRequest("the shared datasets folder is not on this machine (set KIOSK_DATASETS)")
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise BadRequest(f"no dataset file {relative!r}")
    return path


def _decode_b64_image(text: Any, flags: int) -> np.ndarray:
    if not isinstance(text, str):
        raise BadImage("image_b64 must be a base64 string of an image file (PNG, JPEG, TIFF...)")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadImage("image_b64 is not valid base64") from exc
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), flags) if raw else None
    if image is None:
        raise BadImage("image_b64 does not decode to an image")
    return image


def _dpi(body: dict) -> float | None:
    value = body.get("dpi")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest("dpi must be a number (the image's resolution, e.g. 569 for FVC2002 DB2)")
    return float(value)


def _body() -> dict:
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        raise BadRequest("the body must be a JSON object")
    body = body or {}
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def create_app(suite: SimulatorSuite) -> Flask:
    app = Flask("kiosk-sim-control")

    def done():
        return jsonify({"ok": True, "state": suite.state()})

    @app.errorhandler(SimulatorError)
    def simulator_error(exc: SimulatorError):
        return jsonify({"ok": False, "error": {"code": exc.code, "message": str(exc)}}), exc.status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return jsonify({"ok": False, "error": {"code": "http_error", "message": exc.description}}), exc.code
        app.logger.error("control API request failed: %s", type(exc).__name__)
        return jsonify({"ok": False, "error": {"code": "internal_error",
                                               "message": f"the simulator failed ({type(exc).__name__})"}}), 500

    @app.errorhandler(404)
    def not_found(_exc):
        return jsonify({"ok": False, "error": {"code": "no_such_route", "message": "no such route"}}), 404

    @app.errorhandler(405)
    def wrong_method(_exc):
        return jsonify({"ok": False, "error": {"code": "method_not_allowed",
                                               "message": f"{request.method} is not allowed on {request.path}"}}), 405

    @app.get("/state")
    def state():
        return jsonify({"ok": True, "state": suite.state()})

    @app.get("/describe")
    def describe():
        return jsonify(suite.describe())

    @app.post("/card")
    def present_card():
        body = _body()
        if "voter_id" in body:
            suite.present_voter_card(str(body["voter_id"]))
        elif isinstance(body.get("mrz"), list):
            lines = body["mrz"]
            if len(lines) > MAX_MRZ_LINES or any(not isinstance(x, str) or len(x) > MAX_MRZ_LINE for x in lines):
                # a real card holds at most 3 lines of 44; a 100 KB line filled the PTY and held the suite
                raise BadRequest(f"'mrz' takes at most {MAX_MRZ_LINES} strings of at most {MAX_MRZ_LINE} "
                                 "characters (malformed zones are fine, huge ones are not a card)")
            suite.present_card(lines)
        else:
            raise BadRequest("POST /card needs 'voter_id' or 'mrz' (a list of lines)")
        return done()

    @app.delete("/card")
    def remove_card():
        suite.remove_card()
        return done()

    @app.post("/finger")
    def place_finger():
        body = _body()
        if "voter_id" in body:
            suite.place_voter_finger(str(body["voter_id"]), str(body.get("finger", "right_index")))
        elif "path" in body:
            suite.place_finger_file(str(body["path"]), dpi=_dpi(body))
        elif "dataset" in body:
            path = _dataset_file(str(body["dataset"]))
            suite.place_finger(read_gray_image(path), dpi=_dpi(body), source={"dataset": str(body["dataset"])})
        elif "image_b64" in body:
            suite.place_finger(_decode_b64_image(body["image_b64"], cv2.IMREAD_GRAYSCALE), dpi=_dpi(body),
                               source={"upload": True})
        else:
            raise BadRequest("POST /finger needs 'voter_id' (+ 'finger'), 'path', 'dataset' or 'image_b64'")
        return done()

    @app.delete("/finger")
    def lift_finger():
        suite.lift_finger()
        return done()

    @app.post("/ink")
    def set_ink():
        inked = _body().get("inked")
        if not isinstance(inked, bool):
            raise BadRequest("POST /ink needs {'inked': true|false}")
        suite.set_ink(inked)
        return done()

    @app.post("/face")
    def show_face():
        body = _body()
        performance = body.get("performance", "still")
        if not isinstance(performance, str):
            raise BadRequest(f"performance must be a string ({', '.join(('still',) + KINDS)})")
        if "voter_id" in body:
            suite.show_voter_face(str(body["voter_id"]), performance=performance)
        elif "path" in body:
            suite.show_face_file(str(body["path"]), performance=performance)
        elif "dataset" in body:
            path = _dataset_file(str(body["dataset"]))
            suite.show_face(read_rgb_image(path), source={"dataset": str(body["dataset"])}, performance=performance)
        elif "image_b64" in body:
            bgr = _decode_b64_image(body["image_b64"], cv2.IMREAD_COLOR)
            suite.show_face(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), source={"upload": True}, performance=performance)
        else:
            raise BadRequest("POST /face needs 'voter_id', 'path', 'dataset' or 'image_b64'")
        return done()

    @app.post("/face/cue")
    def cue_face():
        body = _body()
        if "instruction" not in body:
            raise BadRequest("POST /face/cue needs {'instruction': 'blink' | 'turn_left' | 'turn_right' | null}")
        suite.cue_face(body["instruction"])
        return done()

    @app.delete("/face")
    def hide_face():
        suite.show_face(None)
        return done()

    @app.post("/camera")
    def camera_scene():
        body = _body()
        if "scene" not in body:
            raise BadRequest("POST /camera needs {'scene': 'face' | 'finger' | null}")
        suite.set_camera_scene(body["scene"])
        return done()

    @app.post("/faults/<device>")
    def inject(device: str):
        body = dict(_body())
        fault = body.pop("fault", None)
        if not isinstance(fault, str):
            raise BadRequest("POST /faults/<device> needs {'fault': name, ...parameters}")
        suite.inject(device, fault, **body)
        return done()

    @app.delete("/faults/<device>")
    def clear_faults(device: str):
        suite.clear_faults(device)
        return done()

    return app


class ControlServer:
    """Serve a WSGI app (the control API from :func:`create_app`) with waitress on 127.0.0.1, in a
    background thread, until :meth:`close`."""

    def __init__(self, app: Flask, port: int = 0, *, threads: int = 4):
        self._server = create_server(app, host="127.0.0.1", port=port, threads=threads,
                                     clear_untrusted_proxy_headers=True,
                                     # whole seconds (waitress reads it as an int: 0.1 became 0, a busy
                                     # loop burning a core while idle); close() wakes the loop itself
                                     asyncore_loop_timeout=1)
        self.port = int(self._server.effective_port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, name="sim-control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            pass  # closed under run() by close(): the normal way out

    def close(self) -> None:
        # waitress's loop runs while its socket map has entries: close the listener, the open
        # keep-alive connections and the worker threads, so nothing is left running.
        self._server.close()
        try:
            self._server.trigger.pull_trigger()   # wake the loop now rather than at its next timeout
        except (AttributeError, OSError):
            pass
        for channel in list(self._server._map.values()):
            try:
                channel.close()
            except OSError:
                pass
        self._server.task_dispatcher.shutdown(timeout=2)
        self._thread.join(timeout=3)
