"""The simulator suite in its own process: ``kiosk-sim start`` run as a child, driven over its control API.

A real booth's camera, card reader and sensor are other machines: what the kiosk's CPU does never
delays them. A :class:`~simulators.suite.SimulatorSuite` started in the kiosk's own process shares its
interpreter lock instead. (Measured at the booth bench, 2026-11-29, that made no difference: live
voters failed liveness as often either way, and the cause was in the check; the layout stays
available for benches that want the devices apart.) :class:`SimulatorProcess` runs the suite as
``python -m simulators start`` and offers the operations a bench or a test needs, each one a request
to the control API (:mod:`simulators.control`), with the same names and the same typed errors as the
in-process suite.

Start-up: the child prints where its devices are as one JSON line on stdout (the PTY paths, the
camera's URLs, the control API). Shutdown: SIGTERM, then the child closes its PTYs, camera and
control API and exits; SIGKILL only if it does not within a few seconds. The child also stops when
its stdin closes (``--stop-on-stdin-close``), so a parent that dies without stopping it (killed, or a
crash) leaves no orphan behind.
"""
from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from simulators.errors import (BadImage, BadRequest, DeviceNotAvailable, NoDemoVoters, NotRunning, SimulatorError,
                               UnknownDevice, UnknownFault, UnknownVoter)
from simulators.scenario import Reply, urllib_client

START_TIMEOUT_S = 60.0          # the child imports OpenCV and numpy and opens four devices
STOP_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 30.0        # showing a live face runs the landmark model on the photo in the child
# the control API's error codes, back to the suite's typed errors
_ERRORS = {cls.code: cls for cls in (BadImage, BadRequest, DeviceNotAvailable, NoDemoVoters, NotRunning,
                                     UnknownDevice, UnknownFault, UnknownVoter)}


class SimulatorProcessError(SimulatorError):
    """The simulator process could not be started, died, or its control API did not answer."""

    code = "simulator_process"
    status = 502


class SimulatorProcess:
    """``kiosk-sim start`` as a child process; the operations of :class:`SimulatorSuite` over HTTP."""

    def __init__(self, demo_voters: str | Path | None = None, *, seed: int = 0, card_framing: str = "desko",
                 lamp_kind: str = "lcus", python: str = sys.executable):
        self._command = [python, "-m", "simulators", "start", "--stop-on-stdin-close", "--seed", str(seed),
                         "--card-framing", card_framing, "--lamp-kind", lamp_kind]
        if demo_voters is not None:
            self._command += ["--demo-voters", str(demo_voters)]
        self._child: subprocess.Popen | None = None
        self._control: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "SimulatorProcess":
        if self._child is not None:
            return self
        child = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 start_new_session=True)   # a Ctrl-C at the terminal reaches the parent only
        self._child = child
        try:
            line = _first_line(child, START_TIMEOUT_S)
            try:
                self._control = json.loads(line)["control"].rstrip("/")
            except (ValueError, KeyError, TypeError, AttributeError):
                raise SimulatorProcessError(f"kiosk-sim start printed {line[:200]!r}, not its devices") from None
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM and wait (the child closes its devices); SIGKILL if it hangs. Safe to call twice."""
        child, self._child = self._child, None
        self._control = None
        if child is None:
            return
        try:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(STOP_TIMEOUT_S)
        finally:
            try:
                child.stdin.close()      # stdout is closed by its reader, at the child's end of output
            except OSError:
                pass

    def __enter__(self) -> "SimulatorProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    # -- the suite's operations -----------------------------------------------------------------
    def describe(self) -> dict:
        """Where each device is now (a replugged serial device comes back on a new PTY path)."""
        return self._call("GET", "/describe")

    def state(self) -> dict:
        return self._call("GET", "/state")["state"]

    def present_voter_card(self, voter_id: str) -> None:
        self._call("POST", "/card", {"voter_id": voter_id})

    def present_card(self, mrz_lines: list[str]) -> None:
        self._call("POST", "/card", {"mrz": list(mrz_lines)})

    def remove_card(self) -> None:
        self._call("DELETE", "/card")

    def place_voter_finger(self, voter_id: str, finger: str = "right_index") -> None:
        self._call("POST", "/finger", {"voter_id": voter_id, "finger": finger})

    def place_finger_file(self, path: str | Path, dpi: float | None = None) -> None:
        self._call("POST", "/finger", {"path": str(Path(path).resolve()), **({"dpi": dpi} if dpi else {})})

    def lift_finger(self) -> None:
        self._call("DELETE", "/finger")

    def set_ink(self, inked: bool) -> None:
        self._call("POST", "/ink", {"inked": bool(inked)})

    def show_voter_face(self, voter_id: str, performance: str = "still") -> None:
        self._call("POST", "/face", {"voter_id": voter_id, "performance": performance})

    def show_face_file(self, path: str | Path, performance: str = "still") -> None:
        self._call("POST", "/face", {"path": str(Path(path).resolve()), "performance": performance})

    def hide_face(self) -> None:
        self._call("DELETE", "/face")

    def cue_face(self, instruction: str | None) -> None:
        self._call("POST", "/face/cue", {"instruction": instruction})

    def set_camera_scene(self, scene: str | None) -> None:
        self._call("POST", "/camera", {"scene": scene})

    def inject(self, device: str, fault: str, **params: Any) -> None:
        self._call("POST", f"/faults/{device}", {"fault": fault, **params})

    def clear_faults(self, device: str) -> None:
        self._call("DELETE", f"/faults/{device}")

    # -- the wire -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        if self._control is None or self._child is None:
            raise NotRunning("the simulator process is not running (call start())")
        reply = urllib_client(method, self._control + path, body, {}, REQUEST_TIMEOUT_S)
        if reply.status is None:
            exited = self._child.poll()
            why = f"exited with status {exited}" if exited is not None else f"did not answer ({reply.body})"
            raise SimulatorProcessError(f"the simulator process {why}: {method} {path}")
        if reply.status >= 400:
            raise _error_of(reply)
        if not isinstance(reply.body, dict):
            raise SimulatorProcessError(f"the control API answered HTTP {reply.status} without a JSON object: "
                                        f"{method} {path}")
        return reply.body


def _error_of(reply: Reply) -> SimulatorError:
    try:
        error = reply.body["error"]
        return _ERRORS.get(error["code"], SimulatorError)(error["message"])
    except (KeyError, TypeError):
        return SimulatorProcessError(f"the control API answered HTTP {reply.status}")


def _first_line(child: subprocess.Popen, timeout_s: float) -> str:
    """The child's first line on stdout, or SimulatorProcessError when it exits or takes too long. The
    reader then keeps draining stdout onto this process's stderr, so a chatty child never blocks on a
    full pipe."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        first = True
        try:
            with child.stdout:
                for line in child.stdout:
                    if first:
                        lines.put(line)
                        first = False
                    else:
                        sys.stderr.write(line)
        except (OSError, ValueError):
            pass
        if first:
            lines.put("")                   # the child closed stdout (exited) before a line

    threading.Thread(target=read, name="kiosk-sim-stdout", daemon=True).start()
    try:
        line = lines.get(timeout=timeout_s)
    except queue.Empty:
        raise SimulatorProcessError(f"kiosk-sim start did not describe its devices within {timeout_s:g} s") from None
    if not line.strip():
        raise SimulatorProcessError(f"kiosk-sim start exited (status {child.wait()}) before describing its devices")
    return line
