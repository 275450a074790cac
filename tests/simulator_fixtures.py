"""Fixtures of the simulator tests (a pytest plugin, see conftest.py): one registered voter with a real
ID card, fingerprint and face, as the simulator suite's voters file holds them."""
from __future__ import annotations

import json

import pytest

KHM_CARD = ["IDKHM1234567897<<<<<<<<<<<<<<<", "9001011M3001019KHM<<<<<<<<<<<2", "SAMPLE<<TEST<<<<<<<<<<<<<<<<<<"]


@pytest.fixture(scope="session")
def voters_file(tmp_path_factory, tests_data):
    """A voters file the simulators read (never written to by a test, so one serves the session)."""
    data = tests_data / "simulators"
    doc = {"version": 1, "station_id": "PS-0001", "voters": [
        {"voter_id": "V0001", "name": "SAMPLE TEST", "id_number": "123456789", "station_id": "PS-0001",
         "mrz": KHM_CARD, "fingers": {"right_index": str(data / "fvc2002_db1_101_2.png")},
         "probe_fingers": {"right_index": str(data / "fvc2002_db1_101_2.png")},
         "face": str(data / "obama-240p.jpg"), "probe_face": str(data / "obama-240p.jpg"), "role": "registered"}]}
    path = tmp_path_factory.mktemp("simulators") / "voters.json"
    path.write_text(json.dumps(doc))
    return path
