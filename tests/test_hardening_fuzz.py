"""The fault campaign's API fuzzing, kept fast: schemathesis generates requests for every operation
of /openapi.json against the real app; no server error, every answer documented and matching its
schema. The long run is ``python -m bench fuzz``."""
from __future__ import annotations

import pytest

from bench.fuzz import fuzz
from kiosk import create_app
from test_e2e import PASSWORDS


@pytest.fixture
def app(demo_copy):
    application = create_app({"data_dir": demo_copy, "key_dir": demo_copy / "keys", "max_failed_signins": 1000})
    try:
        yield application
    finally:
        application.extensions["kiosk"].close()


def test_fuzzing_every_operation_finds_no_server_error_and_no_undocumented_answer(app):
    token = app.test_client().post("/api/auth/sign-in", json={"username": "official",
                                                              "password": PASSWORDS["official"]}).json["token"]
    report = fuzz(app, token, examples=5)
    assert report.requests > 80 and report.statuses[400] > 0   # invalid requests were sent too
    assert report.server_errors == 0, report.failures
    assert report.failures == []
