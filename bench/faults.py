"""Device fault storms through the simulators during booth sessions (the fault campaign's device part,
kept): each session gets one fault on one device, injected before a random step, and runs its steps
through the real kiosk API. No answer may be a server error (500); every refusal is a documented
status (409 step not allowed, 503 device fault); when the faults are cleared the booth works again
(a clean voter reaches the confirmation) and the day's audit bundle verifies.

    python -m bench faults [--sessions N] [--seed S]     # the test suite runs 4 sessions
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FAULTS = [  # (device, fault, parameters)
    ("card_reader", "garbage", {}), ("card_reader", "corrupt", {}), ("card_reader", "dropped", {"every": 7}),
    ("card_reader", "truncated", {}), ("card_reader", "unplugged", {}), ("card_reader", "slow", {"delay_s": 0.3}),
    ("fingerprint", "dropped", {"every": 50}), ("fingerprint", "corrupt", {}), ("fingerprint", "unplugged", {}),
    ("fingerprint", "no_finger", {}), ("fingerprint", "sensor_error", {"code": "too_wet", "stage": "genimg"}),
    ("lamp", "fails_to_light", {}), ("lamp", "unplugged", {}), ("lamp", "corrupt", {}),
    ("camera", "frozen", {}), ("camera", "black", {}), ("camera", "unplugged", {}),
]
STEPS = ("card", "finger", "face", "ink")
DOCUMENTED = {200, 201, 409, 503}


@dataclass
class StormReport:
    sessions: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    undocumented: list[str] = field(default_factory=list)     # "<fault> <step>: <status> <code>"
    recovered: bool = False
    bundle_valid: bool = False
    seconds: float = 0.0


def storm(client, suite, headers: dict, *, sessions: int, seed: int) -> StormReport:
    """Run ``sessions`` faulty booth sessions (DEMO01-03 in turn, cancelled at the end); then clear
    every fault and check that a clean session reaches the confirmation."""
    rng = random.Random(seed)
    report = StormReport()
    started = time.perf_counter()
    people = ["DEMO01", "DEMO02", "DEMO03"]
    for n in range(sessions):
        person = people[n % len(people)]
        device, fault, params = rng.choice(FAULTS)
        at = rng.randrange(len(STEPS))
        suite.present_voter_card(person)
        suite.place_voter_finger(person)
        suite.show_voter_face(person)
        sid = client.post("/api/sessions", headers=headers).json["session_id"]
        for index, step in enumerate(STEPS):
            if index == at:
                suite.inject(device, fault, **params)
            if step == "ink":
                suite.show_face(None)
                suite.set_ink(False)
            reply = client.post(f"/api/sessions/{sid}/{step}", headers=headers)
            report.requests += 1
            report.statuses[reply.status_code] += 1
            if reply.status_code not in DOCUMENTED:
                code = (reply.json or {}).get("error", {}).get("code")
                report.undocumented.append(f"{device}/{fault} {step}: {reply.status_code} {code}")
            if reply.status_code != 200 or reply.json.get("terminal"):
                break
        client.post(f"/api/sessions/{sid}/cancel", headers=headers)
        for name in ("card_reader", "fingerprint", "lamp", "camera"):
            suite.clear_faults(name)
        suite.remove_card()
        report.sessions += 1
    report.recovered = _clean_session_reaches_confirmation(client, suite, headers)
    report.seconds = time.perf_counter() - started
    return report


def _clean_session_reaches_confirmation(client, suite, headers: dict) -> bool:
    suite.present_voter_card("DEMO01")
    suite.place_voter_finger("DEMO01")
    suite.show_voter_face("DEMO01")
    sid = client.post("/api/sessions", headers=headers).json["session_id"]
    state = None
    for step in STEPS:
        if step == "ink":
            suite.show_face(None)
            suite.set_ink(False)
        for _ in range(3):   # a device re-opened after its fault may need one more try
            reply = client.post(f"/api/sessions/{sid}/{step}", headers=headers)
            if reply.status_code == 200 and reply.json.get("message_key") not in ("card.not_detected",
                                                                                   "finger.not_placed"):
                break
        state = reply.json.get("state") if reply.status_code == 200 else None
    client.post(f"/api/sessions/{sid}/cancel", headers=headers)
    return state == "awaiting_confirmation"


def run(data: Path, *, sessions: int, seed: int, passwords: dict) -> StormReport:
    """The kiosk on the demo registry in ``data`` with the simulators, as ``kiosk demo`` wires them."""
    from kiosk import create_app
    from kiosk.audit import verify_bundle
    from kiosk.audit.bundle import export_bundle
    from kiosk.cli import suite_path
    from simulators.suite import SimulatorSuite

    with SimulatorSuite(demo_voters=data / "demo" / "voters.json", control_port=None) as suite:
        devices = suite.describe()["devices"]
        app = create_app({"data_dir": data, "key_dir": data / "keys",
                          "card_reader_url": devices["card_reader"]["path"],
                          "card_reader_framing": devices["card_reader"]["framing"],
                          "fingerprint_url": devices["fingerprint"]["path"], "lamp_url": devices["lamp"]["path"],
                          "camera_source": devices["camera"]["url"], "finger_timeout_seconds": 2.0},
                         locate_device=lambda name: suite_path(suite, name))
        services = app.extensions["kiosk"]
        try:
            client = app.test_client()
            token = client.post("/api/auth/sign-in", json={"username": "official",
                                                           "password": passwords["official"]}).json["token"]
            report = storm(client, suite, {"Authorization": f"Bearer {token}"}, sessions=sessions, seed=seed)
            bundle = export_bundle(services.recorder.log, data / "storm.kab", official_id="auditor",
                                   summary=services.registry.summary(services.settings.station_id,
                                                                     kiosk_id=services.settings.kiosk_id))
        finally:
            services.close()
    report.bundle_valid = verify_bundle(bundle).ok
    return report


def main(argv: list[str]) -> int:
    import os

    from kiosk import config, logs
    from kiosk.cli import prepare_demo

    parser = argparse.ArgumentParser(prog="python -m bench faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logs.configure("ERROR")
    passwords = {"official": "official-pass", "supervisor": "supervisor-pass", "auditor": "auditor-pass"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = config.load(overrides={"data_dir": data, "key_dir": data / "keys", "create_keys": True},
                               environ={})
        prepare_demo(settings, source="packaged", passwords=passwords)
        report = run(data, sessions=args.sessions, seed=args.seed, passwords=passwords)
        shutil.rmtree(data, ignore_errors=True)
    print(f"faults: {report.sessions} faulty booth sessions, {report.requests} step requests in "
          f"{report.seconds:.0f} s on {os.cpu_count()} cores (seed {args.seed}; measured on a shared machine)")
    print("statuses: " + json.dumps(dict(sorted(report.statuses.items()))))
    print(f"undocumented answers: {len(report.undocumented)}   booth works after clearing: {report.recovered}   "
          f"bundle verifies: {report.bundle_valid}")
    for line in report.undocumented[:20]:
        print(f"  {line}")
    return 0 if not report.undocumented and report.recovered and report.bundle_valid else 1
