"""End to end on the shared datasets (FVC2002 DB1_B fingers, deepface-13 faces; skipped when absent):
every registered person is verified at the booth, the impostor is refused and the voter registered
elsewhere is redirected, through the real API, simulators over PTYs and the real matcher."""
from __future__ import annotations

import json
import shutil

import pytest

from kiosk import config, create_app
from kiosk.cli import prepare_demo
from simulators.suite import SimulatorSuite
from test_e2e import PASSWORDS, Booth

pytestmark = pytest.mark.dataset


@pytest.fixture(scope="module")
def dataset_booth(datasets, tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-datasets")
    settings = config.load(overrides={"data_dir": data, "key_dir": data / "keys", "create_keys": True}, environ={})
    prepare_demo(settings, source="datasets", passwords=PASSWORDS)
    voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json", control_port=None).start()
    d = suite.describe()["devices"]
    app = create_app({"data_dir": data, "key_dir": data / "keys", "card_reader_url": d["card_reader"]["path"],
                      "card_reader_framing": d["card_reader"]["framing"], "fingerprint_url": d["fingerprint"]["path"],
                      "lamp_url": d["lamp"]["path"], "camera_source": d["camera"]["url"],
                      "card_timeout_seconds": 1.0, "finger_timeout_seconds": 1.0})
    try:
        yield Booth(app, app.test_client(), suite, data, voters)
    finally:
        app.extensions["kiosk"].close()
        suite.stop()
        shutil.rmtree(data, ignore_errors=True)


def decide(booth: Booth, h, person: str) -> dict:
    booth.present(person)
    sid = booth.start(h)
    reply = {}
    for step in ("card", "finger", "face"):
        reply = booth.step(h, sid, step).json
        if reply["terminal"]:
            break
    while reply["state"] == "capture_finger":      # not verified: the rounds left
        for step in ("finger", "face"):
            reply = booth.step(h, sid, step).json
    if not reply["terminal"]:
        booth.step(h, sid, "cancel")
    booth.suite.remove_card()
    booth.suite.lift_finger()
    return reply


def test_every_person_gets_the_right_decision(dataset_booth):
    booth = dataset_booth
    h = booth.headers()
    outcomes = {person: decide(booth, h, person) for person in booth.voters}
    for person, voter in booth.voters.items():
        reply = outcomes[person]
        if voter["role"] == "registered":
            assert reply["state"] == "check_ink", (person, reply["state"], reply["match"])
        elif voter["role"] == "impostor":
            assert (reply["state"], reply["reason"]) == ("refused", "not_verified"), person
        else:
            assert (reply["state"], reply["registered_station"]) == ("wrong_station", voter["station_id"])
    assert sum(v["role"] == "registered" for v in booth.voters.values()) >= 5
