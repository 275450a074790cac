"""Newcomer findings on the testers' guide: the shipped polling-day scenario plays against the real
kiosk (waitress, real registry, simulators with their control API, as ``kiosk demo`` wires them), and
every control API command and scenario in docs/simulators.md works as written."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.cli import suite_path
from simulators.scenario import load_scenario, parse_scenario, run_scenario, urllib_client
from simulators.suite import SimulatorSuite
from test_booth_screen import _Server
from test_e2e import PASSWORDS

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "simulators.md"
SCENARIO = ROOT / "docs" / "scenarios" / "polling-day.json"


@pytest.fixture
def running(demo_copy):
    """The kiosk on a copy of the demo registry and the simulators with their control API."""
    suite = SimulatorSuite(demo_voters=demo_copy / "demo" / "voters.json").start()
    try:
        devices = suite.describe()["devices"]
        app = create_app({"data_dir": demo_copy, "key_dir": demo_copy / "keys",
                          "card_reader_url": devices["card_reader"]["path"],
                          "card_reader_framing": devices["card_reader"]["framing"],
                          "fingerprint_url": devices["fingerprint"]["path"], "lamp_url": devices["lamp"]["path"],
                          "camera_source": devices["camera"]["url"]},
                         locate_device=lambda name: suite_path(suite, name))
        server = _Server(app)
        try:
            yield suite, server.url, demo_copy
        finally:
            server.stop()
            app.extensions["kiosk"].close()
    finally:
        suite.stop()


def test_the_shipped_polling_day_scenario_plays_against_the_real_kiosk(running):
    suite, kiosk_url, _ = running
    report = run_scenario(load_scenario(SCENARIO), control=suite.describe()["control"], kiosk=kiosk_url,
                          variables={"official_password": PASSWORDS["official"]})
    failed = [step for step in report["steps"] if not step.get("ok")]
    assert report["ok"], json.dumps(failed[:1], indent=1)[:3000]


def _guide_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def _control_commands() -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of every ``curl ... $C/...`` line of the guide."""
    commands = []
    for block in _guide_blocks("bash"):
        for line in block.splitlines():
            code = line.split("  #")[0].strip()
            if not code.startswith("curl") or "$C" not in code:
                continue
            words = shlex.split(code.replace('"$J"', "J").replace("$J", "J"), posix=True)
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            path = next(w for w in words if w.startswith("$C")).replace("$C", "")
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            commands.append((method, path, body))
    return commands


def test_every_control_api_command_in_the_guide_works_on_the_demo(running):
    suite, _, data = running
    control = suite.describe()["control"]
    commands = _control_commands()
    assert len(commands) >= 15
    for method, path, body in commands:
        if body and any(k in body for k in ("dataset", "path", "image_b64")):
            continue   # files of the tester's own machine (the shared datasets, their own images)
        reply = urllib_client(method, control + path, body, {}, 30)
        assert reply.status == 200, (method, path, body, reply.body)


def test_the_guide_names_the_demo_voters_and_files_the_demo_really_has(running):
    _, _, data = running
    text = GUIDE.read_text(encoding="utf-8")
    demo_ids = {v["voter_id"] for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    assert set(re.findall(r'"voter_id": "(\w+)"', text)) <= demo_ids | {"NOBODY"}   # NOBODY: the 404 example
    assert "data/demo" not in text and "var/demo/voters.json" in text


def test_the_scenario_example_in_the_guide_parses_and_uses_real_kiosk_routes(running):
    from kiosk.openapi import openapi_path

    suite, kiosk_url, _ = running
    examples = [json.loads(block) for block in _guide_blocks("json") if block.startswith('{"name"')]
    assert examples
    app_routes = {openapi_path(r) for r in ["/api/auth/sign-in", "/api/sessions", "/api/sessions/<session_id>",
                                            "/api/sessions/<session_id>/card", "/api/sessions/<session_id>/finger",
                                            "/api/sessions/<session_id>/face", "/api/sessions/<session_id>/ink",
                                            "/api/sessions/<session_id>/confirm", "/api/summary"]}
    for example in examples:
        scenario = parse_scenario(example)
        for step in scenario.steps:
            if step.action == "http":
                route = re.sub(r"\$\{[^}]+\}", "{session_id}", step.params["path"])
                assert route in app_routes, route


def test_img2tz_faults_do_not_reach_the_kiosk_as_the_guide_says(running):
    """The kiosk uploads the image and extracts on the host; it never sends Img2Tz, so a fault at that
    stage is not seen (the guide says so and points to ``"stage": "genimg"``)."""
    suite, kiosk_url, _ = running
    token = urllib_client("POST", kiosk_url + "/api/auth/sign-in",
                          {"username": "official", "password": PASSWORDS["official"]}, {}, 30).body["token"]
    auth = {"Authorization": f"Bearer {token}"}
    suite.present_voter_card("DEMO01")
    suite.place_voter_finger("DEMO01")
    suite.show_voter_face("DEMO01")
    suite.inject("fingerprint", "too_few_features")          # the img2tz stage
    sid = urllib_client("POST", kiosk_url + "/api/sessions", None, auth, 30).body["session_id"]
    assert urllib_client("POST", f"{kiosk_url}/api/sessions/{sid}/card", None, auth, 30).body["state"] == \
        "capture_finger"
    finger = urllib_client("POST", f"{kiosk_url}/api/sessions/{sid}/finger", None, auth, 60).body
    assert finger["state"] == "capture_face", finger
    text = GUIDE.read_text(encoding="utf-8")
    assert "the kiosk never sends `Img2Tz`" in text
