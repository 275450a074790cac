"""``kiosk-sim start`` prints one JSON line, serves, and exits cleanly; ``kiosk-sim run`` plays and reports."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import serial

from simulators.cli import main

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VFY_PWD = bytes.fromhex("EF01 FFFFFFFF 01 0007 13 00000000 001B")
ACK_OK = bytes.fromhex("EF01 FFFFFFFF 07 0003 00 000A")


def start_kiosk_sim(*args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "simulators", "start", *args], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise AssertionError(f"kiosk-sim printed nothing; stderr: {proc.stderr.read()}")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen, signum: int = signal.SIGTERM) -> int:
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def test_start_prints_one_json_line_with_live_ptys_and_control_api_and_exits_cleanly_on_sigterm():
    proc, described = start_kiosk_sim()
    try:
        devices = described["devices"]
        fingerprint_path = devices["fingerprint"]["path"]
        assert os.path.exists(fingerprint_path)
        for name in ("card_reader", "lamp"):
            assert devices[name]["status"] == "ok" and os.path.exists(devices[name]["path"])
        with urllib.request.urlopen(described["control"] + "/state", timeout=5) as response:
            assert json.loads(response.read())["ok"] is True
        with serial.Serial(fingerprint_path, 57600, timeout=2) as port:
            port.write(VFY_PWD)
            assert port.read(12) == ACK_OK
    finally:
        code = stop(proc)
    assert code == 0
    assert _pty_is_dead(fingerprint_path)


def _pty_is_dead(path: str) -> bool:
    """Gone, unopenable, or nobody answers on it (the PTY number may already be reused)."""
    if not os.path.exists(path):
        return True
    try:
        with serial.Serial(path, 57600, timeout=0.2) as port:
            port.write(VFY_PWD)
            return port.read(12) == b""
    except (serial.SerialException, OSError):
        return True


def test_start_exits_cleanly_on_sigint_too():
    proc, described = start_kiosk_sim("--transport", "tcp")
    assert described["devices"]["fingerprint"]["path"].startswith("socket://127.0.0.1:")
    assert stop(proc, signal.SIGINT) == 0


def test_start_takes_a_fixed_control_port():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc, described = start_kiosk_sim("--control-port", str(port))
    try:
        assert described["control"] == f"http://127.0.0.1:{port}"
    finally:
        assert stop(proc) == 0


def test_start_with_an_unreadable_voters_file_fails_with_a_message(tmp_path, capsys):
    assert main(["start", "--demo-voters", str(tmp_path / "absent.json")]) == 1
    assert "demo voters" in capsys.readouterr().err


def test_run_plays_a_scenario_on_its_own_simulators_and_prints_a_json_report(tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"name": "faults", "steps": [
        {"action": "inject", "device": "fingerprint", "fault": "sensor_error", "code": "too_wet"},
        {"action": "set_ink", "inked": True},
        {"action": "state", "name": "after"},
        {"action": "clear_faults", "device": "fingerprint"},
    ]}))
    result = subprocess.run([sys.executable, "-m", "simulators", "run", str(scenario)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["summary"]["passed"] == 4
    assert report["steps"][2]["response"]["state"]["faults"]["fingerprint"] == ["sensor_error"]
    assert "started_simulators" in report


def test_run_against_a_running_kiosk_sim_and_write_the_report(tmp_path):
    proc, described = start_kiosk_sim()
    try:
        scenario = tmp_path / "scenario.json"
        scenario.write_text(json.dumps({"steps": [{"action": "camera_scene", "scene": "finger"}]}))
        out = tmp_path / "report.json"
        assert main(["run", str(scenario), "--control", described["control"], "--output", str(out)]) == 0
        assert json.loads(out.read_text())["steps"][0]["response"]["state"]["camera_scene"] == "finger"
    finally:
        assert stop(proc) == 0


def test_run_exits_1_when_a_step_fails_and_2_for_a_bad_file(tmp_path, capsys):
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps({"steps": [{"action": "inject", "device": "printer", "fault": "unplugged"}]}))
    assert main(["run", str(failing)]) == 1
    assert json.loads(capsys.readouterr().out)["steps"][0]["response"]["error"]["code"] == "unknown_device"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["run", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "start" in text and "run" in text
