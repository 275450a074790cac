"""Scenario files parse strictly, resolve ${step.path} references, and play against real servers."""
from __future__ import annotations

import json
import pytest
from flask import Flask, jsonify, request
from hypothesis import given
from hypothesis import strategies as st

from simulators.control import ControlServer
from simulators.scenario import (Reply, ScenarioError, UnresolvedReference, contains, decode_scenario_text,
                                 load_scenario, parse_scenario, resolve, run_scenario)
from simulators.suite import SimulatorSuite

KHM_CARD = ["IDKHM1234567897<<<<<<<<<<<<<<<", "9001011M3001019KHM<<<<<<<<<<<2", "SAMPLE<<TEST<<<<<<<<<<<<<<<<<<"]


# -- parsing ----------------------------------------------------------------------------------------

def test_a_minimal_scenario_parses():
    scenario = parse_scenario({"name": "card", "steps": [{"action": "present_card", "mrz": KHM_CARD},
                                                          {"action": "wait", "seconds": 0.1}]})
    assert scenario.name == "card" and [s.action for s in scenario.steps] == ["present_card", "wait"]
    assert scenario.steps[0].params == {"mrz": KHM_CARD}


@pytest.mark.parametrize("doc, message", [
    ({"steps": [{"action": "teleport"}]}, "unknown action"),
    ({"steps": [{"action": "wait"}]}, "seconds"),
    ({"steps": [{"action": "wait", "seconds": -1}]}, "seconds"),
    ({"steps": [{"action": "inject", "device": "lamp"}]}, "fault"),
    ({"steps": [{"action": "clear_faults"}]}, "device"),
    ({"steps": [{"action": "http", "path": "/x", "bogus": 1}]}, "unknown http keys"),
    ({"steps": [{"action": "http", "method": "BREW", "path": "/x"}]}, "method"),
    ({"steps": [{"action": "http", "path": "/x", "expect_status": 999}]}, "expect_status"),
    ({"steps": [{"action": "http", "path": "/x", "bearer": "${login.body.token}"}]}, "no earlier named step"),
    ({"steps": [{"action": "state", "name": "a"}, {"action": "state", "name": "a"}]}, "used twice"),
    ({"steps": "present_card"}, "'steps' list"),
])
def test_malformed_scenarios_are_rejected_with_the_step_named(doc, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(doc)


def test_invalid_json_reports_line_and_column():
    with pytest.raises(ScenarioError, match="line 2"):
        decode_scenario_text('{"steps": [\n  oops]}')


def test_yaml_needs_pyyaml_and_says_so_when_absent():
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ScenarioError, match="PyYAML"):
            decode_scenario_text("steps: []", ".yaml")
    else:
        assert decode_scenario_text("steps: []", ".yaml") == {"steps": []}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=20)


@given(st.dictionaries(st.sampled_from(["steps", "name", "control", "kiosk"]), json_values)
       | st.builds(lambda steps: {"steps": steps}, st.lists(st.dictionaries(
           st.sampled_from(["action", "name", "seconds", "device", "fault", "path", "method", "expect_status"]),
           json_values | st.sampled_from(["wait", "http", "inject", "present_card", "/p", "GET"])), max_size=4)))
def test_parser_never_crashes_on_arbitrary_json(doc):
    try:
        scenario = parse_scenario(doc)
    except ScenarioError:
        return
    assert len(scenario.steps) == len(doc["steps"])


# -- references -------------------------------------------------------------------------------------

RESULTS = {"login": Reply(200, {"token": "abc", "roles": ["official"], "n": 3})}


def test_whole_string_reference_keeps_the_json_type():
    assert resolve("${login.body.n}", RESULTS) == 3
    assert resolve("${login.body.roles}", RESULTS) == ["official"]
    assert resolve("${login.status}", RESULTS) == 200


def test_embedded_references_become_text():
    assert resolve({"h": "Bearer ${login.body.token}", "l": ["x${login.body.roles.0}"]}, RESULTS) == \
        {"h": "Bearer abc", "l": ["xofficial"]}


def test_missing_reference_fields_are_errors():
    with pytest.raises(UnresolvedReference, match="no 'missing'"):
        resolve("${login.body.missing}", RESULTS)
    with pytest.raises(UnresolvedReference, match="has not run"):
        resolve("${later.body}", RESULTS)


@given(json_values.filter(lambda v: "${" not in json.dumps(v)))
def test_values_without_references_resolve_to_themselves(value):
    assert resolve(value, RESULTS) == value


@given(json_values)
def test_every_value_contains_itself(value):
    assert contains(value, value)


def test_contains_is_a_recursive_subset():
    assert contains({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 1}})
    assert not contains({"a": {"b": 1}}, {"a": {"b": 2}})
    assert not contains([1, 2], {"a": 1})


# -- running against real servers -------------------------------------------------------------------

@pytest.fixture
def kiosk_api():
    """A stand-in kiosk API over real HTTP: login hands out a token that /api/me requires."""
    app = Flask("stand-in-kiosk")
    calls = {"ready_after": 2}

    @app.post("/api/login")
    def login():
        body = request.get_json()
        if body != {"username": "official1", "password": "pw"}:
            return jsonify({"error": "bad credentials"}), 401
        return jsonify({"token": "t-123"})

    @app.get("/api/me")
    def me():
        if request.headers.get("Authorization") != "Bearer t-123":
            return jsonify({"error": "unauthorised"}), 401
        return jsonify({"username": "official1", "role": "official"})

    @app.get("/api/ready")
    def ready():
        calls["ready_after"] -= 1
        return (jsonify({"ready": True}), 200) if calls["ready_after"] <= 0 else (jsonify({"ready": False}), 503)

    server = ControlServer(app)  # the same waitress wrapper as the control API
    yield server.url
    server.close()


@pytest.fixture
def suite():
    sim = SimulatorSuite().start()
    yield sim
    sim.stop()


def test_scenario_drives_the_simulators_and_the_kiosk_and_reports_every_step(suite, kiosk_api):
    scenario = parse_scenario({"name": "login and look", "steps": [
        {"action": "present_card", "mrz": KHM_CARD},
        {"action": "set_ink", "inked": True},
        {"action": "inject", "device": "fingerprint", "fault": "slow", "delay_s": 0.2},
        {"action": "http", "name": "login", "method": "POST", "path": "/api/login",
         "json": {"username": "official1", "password": "pw"}},
        {"action": "http", "path": "/api/me", "bearer": "${login.body.token}",
         "expect_json": {"role": "official"}},
        {"action": "http", "path": "/api/ready", "retry": {"timeout_s": 5, "interval_s": 0.05}},
        {"action": "clear_faults", "device": "fingerprint"},
        {"action": "wait", "seconds": 0.01},
        {"action": "state", "name": "final"},
    ]})
    report = run_scenario(scenario, control=suite.describe()["control"], kiosk=kiosk_api)
    assert report["ok"] is True, report
    assert report["summary"] == {"passed": 9, "failed": 0, "skipped": 0}
    steps = report["steps"]
    assert steps[3]["response"] == {"token": "t-123"}
    assert steps[4]["response"]["username"] == "official1"
    assert steps[5]["attempts"] == 2
    assert steps[8]["response"]["state"]["inked"] is True
    assert suite.state()["card"] == {"voter_id": None, "lines": 3}


def test_a_failing_step_stops_the_scenario_and_the_rest_is_skipped(suite, kiosk_api):
    scenario = parse_scenario({"steps": [
        {"action": "http", "method": "POST", "path": "/api/login", "json": {"username": "x", "password": "y"}},
        {"action": "set_ink", "inked": True},
    ]})
    report = run_scenario(scenario, control=suite.describe()["control"], kiosk=kiosk_api)
    assert report["ok"] is False
    assert report["steps"][0]["status"] == 401 and "expected" in report["steps"][0]["error"]
    assert report["steps"][1]["skipped"] is True
    assert suite.state()["inked"] is False


def test_expected_error_statuses_from_the_control_api_pass(suite):
    scenario = parse_scenario({"continue_on_failure": True, "steps": [
        {"action": "inject", "device": "printer", "fault": "unplugged", "expect_status": 404},
        {"action": "present_card", "voter_id": "V0001", "expect_status": 409},
    ]})
    report = run_scenario(scenario, control=suite.describe()["control"], kiosk=None)
    assert report["ok"] is True
    assert report["steps"][0]["response"]["error"]["code"] == "unknown_device"
    assert report["steps"][1]["response"]["error"]["code"] == "no_demo_voters"


def test_an_unreachable_kiosk_is_a_failed_step_not_a_crash(suite):
    scenario = parse_scenario({"steps": [{"action": "http", "path": "/api/health", "timeout_s": 1}]})
    report = run_scenario(scenario, control=suite.describe()["control"], kiosk="http://127.0.0.1:9")
    assert report["ok"] is False and "connection failed" in report["steps"][0]["error"]


def test_wait_uses_the_sleep_passed_in():
    slept = []
    report = run_scenario(parse_scenario({"steps": [{"action": "wait", "seconds": 2.5}]}), control=None, kiosk=None,
                          sleep=slept.append)
    assert slept == [2.5] and report["ok"] is True


def test_load_scenario_reads_a_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "f", "kiosk": "http://127.0.0.1:8080", "steps": []}))
    scenario = load_scenario(path)
    assert scenario.name == "f" and scenario.kiosk == "http://127.0.0.1:8080"
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.json")
