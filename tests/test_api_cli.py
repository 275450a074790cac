"""The ``kiosk`` command: registry subcommands are dispatched, and ``kiosk demo`` really serves the
API on 127.0.0.1 with the simulators behind it and prints how to sign in."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from kiosk import cli


def test_registry_subcommands_are_dispatched(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIOSK_KEY_DIR", str(tmp_path / "keys"))
    assert cli.main(["demo-registry", "--source", "packaged"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["source"], out["imported"]) == ("packaged", 4)
    assert (tmp_path / "demo" / "voters.json").exists()


def test_serve_without_provisioned_keys_refuses_to_start_with_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIOSK_KEY_DIR", str(tmp_path / "keys"))
    assert cli.main(["serve"]) == 2
    assert "cannot start" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as reply:
        return json.loads(reply.read())


def _wait_for_health(base: str) -> dict:
    """The banner is printed just before waitress binds; give it a moment."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return _get(base + "/health")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_demo_serves_the_api_with_simulated_devices_and_demo_officials(tmp_path):
    port = _free_port()
    env = {**os.environ, "KIOSK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--port", str(port), "--source", "packaged",
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    try:
        lines, password = [], None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            found = re.match(r"\s+official\s+role official\s+password (\S+)", line)
            password = password or (found and found.group(1))
            if line.startswith("kiosk API on"):
                break
        assert password, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        assert _wait_for_health(base)["status"] == "ok"
        request = urllib.request.Request(base + "/api/auth/sign-in", method="POST",
                                         data=json.dumps({"username": "official", "password": password}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            token = json.loads(reply.read())["token"]
        devices = _get(base + "/api/devices", token)["devices"]
        assert {d["status"] for d in devices.values()} == {"ready"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
