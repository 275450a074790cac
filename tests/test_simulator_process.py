"""The simulator suite in its own process (``kiosk-sim start`` as a child): it serves the devices on real
PTYs and a real camera, obeys its control API, reports bad requests with the suite's typed errors,
and stops without leaving a process behind, even when its parent dies without stopping it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest
import serial

from simulators.errors import NotRunning, UnknownVoter
from simulators.process import SimulatorProcess, SimulatorProcessError


def gone(pid: int, within_s: float) -> bool:
    """True once process ``pid`` has exited (an orphan's zombie, left for init to reap, has exited)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_serves_a_card_and_a_camera_frame_and_stops_cleanly(voters_file):
    from hardware.idcard import IdCardReader

    sim = SimulatorProcess(voters_file).start()
    try:
        assert sim.running and sim.pid != os.getpid()
        devices = sim.describe()["devices"]
        with serial.Serial(devices["card_reader"]["path"], 9600, timeout=0.05) as port:
            reader = IdCardReader(port)
            sim.present_voter_card("V0001")
            document = reader.read_document(timeout=3)
        assert document is not None and document.document_number == "123456789"
        sim.show_voter_face("V0001")
        with urllib.request.urlopen(devices["camera"]["url"], timeout=5) as reply:
            frame = cv2.imdecode(np.frombuffer(reply.read(), np.uint8), cv2.IMREAD_COLOR)
        assert frame is not None and frame.ndim == 3
        assert sim.state()["face"]["voter_id"] == "V0001"
        with pytest.raises(UnknownVoter, match="V9999"):      # the suite's typed error, across the process
            sim.present_voter_card("V9999")
        pid, tty = sim.pid, devices["fingerprint"]["path"]
    finally:
        sim.stop()
    assert not sim.running and gone(pid, within_s=1.0)     # stop() waited for the child and reaped it
    assert not os.path.exists(tty) or not _pty_open(tty)
    with pytest.raises(NotRunning):
        sim.present_voter_card("V0001")
    sim.stop()                                             # twice is harmless


def _pty_open(path: str) -> bool:
    try:
        with serial.Serial(path, 9600, timeout=0.05):
            return True
    except (serial.SerialException, OSError):
        return False


def test_a_parent_killed_without_stopping_its_simulators_leaves_no_process_behind(voters_file, tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from simulators.process import SimulatorProcess, SimulatorProcessError;"
         f"sim = SimulatorProcess({str(voters_file)!r}).start(); print(sim.pid, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert not gone(child, within_s=0.1)
    finally:
        parent.send_signal(signal.SIGKILL)     # no finally, no atexit: only the closed stdin tells the child
        parent.wait()
        parent.stdout.close()
    assert gone(child, within_s=5.0)


def test_a_child_that_cannot_start_is_a_clear_error_and_leaves_nothing_running(tmp_path):
    sim = SimulatorProcess(tmp_path / "no-such-voters.json")
    with pytest.raises(SimulatorProcessError, match=r"exited \(status 1\) before describing its devices"):
        sim.start()
    assert not sim.running and sim.pid is None
