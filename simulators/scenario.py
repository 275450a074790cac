"""Scenario files: a scripted sequence of device actions, faults, waits and kiosk API calls.

A scenario is JSON (or YAML when PyYAML happens to be installed)::

    {"name": "voter with card, then a second attempt",
     "control": "http://127.0.0.1:8765",        # the running kiosk-sim (or --control / started for you)
     "kiosk": "http://127.0.0.1:8080",          # base URL of the kiosk API (or --kiosk)
     "continue_on_failure": false,
     "steps": [
       {"action": "present_card", "voter_id": "V0001"},
       {"action": "http", "name": "login", "method": "POST", "path": "/api/login",
        "json": {"username": "official1", "password": "demo"}, "expect_status": 200},
       {"action": "http", "method": "POST", "path": "/api/sessions", "bearer": "${login.body.token}",
        "expect_status": [200, 201], "retry": {"timeout_s": 10, "interval_s": 0.5}},
       {"action": "inject", "device": "fingerprint", "fault": "sensor_error", "code": "too_wet"},
       {"action": "wait", "seconds": 0.5}
     ]}

Actions on the simulators (each is one control API call): ``present_card`` (``voter_id`` or
``mrz``), ``remove_card``, ``place_finger`` (``voter_id`` + ``finger``, ``path`` or ``dataset``),
``lift_finger``, ``set_ink`` (``inked``), ``show_face`` (``voter_id``, ``path`` or ``dataset``; optional
``performance``: ``still``, ``live``, ``printed_photo``, ``moved_photo``, ``video_loop``, ``two_way_loop``), ``cue_face``
(``instruction``), ``hide_face``, ``camera_scene`` (``scene``), ``inject`` (``device``, ``fault``, parameters),
``clear_faults`` (``device``), ``state``. Other actions: ``wait`` (``seconds``) and ``http``
(``method``, ``path``, ``json``, ``headers``, ``bearer``, ``expect_status``, ``expect_json`` (a subset
the reply must contain), ``retry``).

Variables: ``"variables": {"official_password": ""}`` declares values given when the scenario is run
(``kiosk-sim run --set official_password=...``; the declared value is the default); a step refers to
one as ``"${var.official_password}"``. ``var`` is therefore not a step name.

References: a string ``"${login.body.token}"`` anywhere in a step's parameters is replaced by the
value at that path in the reply of the earlier step named ``login`` (``status`` or ``body.<key>...``,
list indices as numbers). A reference that is the whole string keeps the value's JSON type; inside a
longer string it is formatted as text.

Parsing is pure (:func:`parse_scenario`); :func:`run_scenario` takes the HTTP client and the sleep
function, so it runs against real servers in tests and in ``kiosk-sim run``.
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REF = re.compile(r"\$\{([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)\}")

# action -> (HTTP method, control API path; "{device}" filled from the step, body built from the rest)
SIM_ACTIONS: dict[str, tuple[str, str]] = {
    "present_card": ("POST", "/card"), "remove_card": ("DELETE", "/card"),
    "place_finger": ("POST", "/finger"), "lift_finger": ("DELETE", "/finger"),
    "set_ink": ("POST", "/ink"), "show_face": ("POST", "/face"), "hide_face": ("DELETE", "/face"),
    "cue_face": ("POST", "/face/cue"),
    "camera_scene": ("POST", "/camera"), "inject": ("POST", "/faults/{device}"),
    "clear_faults": ("DELETE", "/faults/{device}"), "state": ("GET", "/state"),
}
OTHER_ACTIONS = ("wait", "http")
STEP_KEYS = {"action", "name", "expect_status"}
HTTP_KEYS = {"method", "path", "json", "headers", "bearer", "expect_json", "retry", "timeout_s"}
MAX_WAIT_S = 600.0


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the step."""


class UnresolvedReference(ScenarioError):
    """A ``${...}`` reference names a step or a field that does not exist (yet)."""


@dataclass(frozen=True)
class Step:
    index: int
    action: str
    name: str | None
    params: dict[str, Any]
    expect_status: tuple[int, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    control: str | None = None
    kiosk: str | None = None
    continue_on_failure: bool = False
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int | None
    body: Any


HttpClient = Callable[[str, str, Any, dict[str, str], float], Reply]


# -- parsing (pure) ---------------------------------------------------------------------------------

def _expect_status(value: Any, where: str, default: tuple[int, ...]) -> tuple[int, ...]:
    if value is None:
        return default
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599 for v in values):
        raise ScenarioError(f"{where}: expect_status must be an HTTP status or a list of them")
    return tuple(values)


def _parse_step(index: int, raw: Any, names: set[str], variables: dict[str, str] | None = None) -> Step:
    variables = variables or {}
    where = f"step {index + 1}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step must be an object with an 'action'")
    action = raw.get("action")
    if not isinstance(action, str) or (action not in SIM_ACTIONS and action not in OTHER_ACTIONS):
        known = ", ".join(sorted(SIM_ACTIONS) + list(OTHER_ACTIONS))
        raise ScenarioError(f"{where}: unknown action {action!r}; known: {known}")
    name = raw.get("name")
    if name is not None:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise ScenarioError(f"{where}: name must be letters, digits, '_' or '-'")
        if name in names:
            raise ScenarioError(f"{where}: the name {name!r} is used twice")
        if name == "var":
            raise ScenarioError(f"{where}: 'var' names the scenario's variables, not a step")
        names.add(name)
        where = f"step {index + 1} ({name})"
    params = {k: v for k, v in raw.items() if k not in STEP_KEYS}
    if action == "wait":
        seconds = params.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_WAIT_S:
            raise ScenarioError(f"{where}: wait needs 'seconds' between 0 and {MAX_WAIT_S:g}")
    elif action == "http":
        unknown = set(params) - HTTP_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown http keys {sorted(unknown)}; allowed: {sorted(HTTP_KEYS)}")
        if not isinstance(params.get("path"), str) or not params["path"].startswith(("/", "${", "http")):
            raise ScenarioError(f"{where}: http needs a 'path' (starting with '/')")
        method = params.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ScenarioError(f"{where}: http method must be GET, POST, PUT, PATCH or DELETE")
        retry = params.get("retry")
        if retry is not None and not (isinstance(retry, dict) and isinstance(retry.get("timeout_s"), (int, float))):
            raise ScenarioError(f"{where}: retry must be {{'timeout_s': N, 'interval_s': M}}")
    elif "{device}" in SIM_ACTIONS[action][1] and not isinstance(params.get("device"), str):
        raise ScenarioError(f"{where}: {action} needs a 'device'")
    if action == "inject" and not isinstance(params.get("fault"), str):
        raise ScenarioError(f"{where}: inject needs a 'fault'")
    for ref in _references(params):
        if ref.startswith("var."):
            if ref.split(".")[1] not in variables:
                raise ScenarioError(f"{where}: ${{{ref}}} is not declared in the scenario's 'variables'")
            continue
        if ref.split(".")[0] not in names - ({name} if name else set()):
            raise ScenarioError(f"{where}: ${{{ref}}} refers to no earlier named step")
    default = (200,) if action != "http" else (200, 201, 202, 204)
    return Step(index, action, name, params, _expect_status(raw.get("expect_status"), where, default))


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return REF.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def parse_scenario(doc: Any) -> Scenario:
    """Validate a decoded scenario document; raises :class:`ScenarioError` naming the bad step."""
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise ScenarioError("a scenario is an object with a 'steps' list")
    names: set[str] = set()
    variables = doc.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in variables.items()):
        raise ScenarioError("'variables' must be an object of names to strings (defaults)")
    steps = tuple(_parse_step(i, raw, names, variables) for i, raw in enumerate(doc["steps"]))
    for key in ("control", "kiosk"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ScenarioError(f"'{key}' must be a URL string")
    return Scenario(name=str(doc.get("name", "scenario")), steps=steps, control=doc.get("control"),
                    kiosk=doc.get("kiosk"), continue_on_failure=bool(doc.get("continue_on_failure", False)),
                    variables=dict(variables))


def decode_scenario_text(text: str, suffix: str = ".json") -> Any:
    """JSON, or YAML for ``.yaml``/``.yml`` when PyYAML is installed."""
    if suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-not-found]
        except ImportError:
            raise ScenarioError("YAML scenarios need PyYAML, which is not installed; use JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path.name}: {exc.strerror}") from exc
    return parse_scenario(decode_scenario_text(text, path.suffix))


# -- references (pure) ------------------------------------------------------------------------------

def lookup(results: dict[str, Reply], ref: str) -> Any:
    """The value at ``name.status`` / ``name.body.a.0.b`` in the replies of earlier named steps."""
    name, *path = ref.split(".")
    if name not in results:
        raise UnresolvedReference(f"${{{ref}}}: step {name!r} has not run")
    value: Any = results[name].body if name == "var" else {"status": results[name].status, "body": results[name].body}
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise UnresolvedReference(f"${{{ref}}}: no '{part}' in the reply of step {name!r}")
    return value


def resolve(value: Any, results: dict[str, Reply]) -> Any:
    """Replace every ``${...}`` reference in ``value`` (recursively)."""
    if isinstance(value, str):
        whole = REF.fullmatch(value)
        if whole:
            return lookup(results, whole.group(1))
        return REF.sub(lambda m: _as_text(lookup(results, m.group(1))), value)
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def contains(actual: Any, expected: Any) -> bool:
    """True when ``expected`` is a subset of ``actual`` (objects: keys recursively; else equality)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    return actual == expected


# -- running ----------------------------------------------------------------------------------------

def urllib_client(method: str, url: str, body: Any, headers: dict[str, str], timeout_s: float) -> Reply:
    """A real HTTP JSON client (urllib); connection failures give ``Reply(None, "<reason>")``."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Accept": "application/json", **headers}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return Reply(response.status, _decode_body(response.read()))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, _decode_body(exc.read()))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Reply(None, f"connection failed: {type(reason).__name__}: {reason}")


def _decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:2000]


def _sim_request(step: Step, params: dict) -> tuple[str, str, Any]:
    method, path = SIM_ACTIONS[step.action]
    body = dict(params)
    if "{device}" in path:
        path = path.format(device=body.pop("device"))
    return method, path, (body if method == "POST" else None)


def run_scenario(scenario: Scenario, *, control: str | None, kiosk: str | None,
                 http: HttpClient = urllib_client, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, variables: dict[str, str] | None = None) -> dict:
    """Play every step; return the report (``ok``, one entry per step with the replies). ``variables``
    override the scenario's declared defaults."""
    unknown = set(variables or {}) - set(scenario.variables)
    if unknown:
        raise ScenarioError(f"variables not declared by the scenario: {', '.join(sorted(unknown))}")
    results: dict[str, Reply] = {"var": Reply(None, {**scenario.variables, **(variables or {})})}
    entries: list[dict] = []
    failed = False
    for step in scenario.steps:
        entry: dict[str, Any] = {"index": step.index + 1, "action": step.action, "name": step.name}
        if failed and not scenario.continue_on_failure:
            entries.append({**entry, "ok": None, "skipped": True})
            continue
        started = clock()
        try:
            reply, detail = _play(step, results, control=control, kiosk=kiosk, http=http, sleep=sleep, clock=clock)
            entry.update(detail)
            if reply is not None:
                entry.update(status=reply.status, response=reply.body)
                if step.name:
                    results[step.name] = reply
            ok, why = _judge(step, reply, results)
            entry["ok"] = ok
            if why:
                entry["error"] = why
        except ScenarioError as exc:
            entry.update(ok=False, error=str(exc))
        entry["elapsed_s"] = round(clock() - started, 3)
        failed = failed or not entry["ok"]
        entries.append(entry)
    summary = {"passed": sum(1 for e in entries if e.get("ok")),
               "failed": sum(1 for e in entries if e.get("ok") is False),
               "skipped": sum(1 for e in entries if e.get("skipped"))}
    return {"scenario": scenario.name, "ok": summary["failed"] == 0, "control": control, "kiosk": kiosk,
            "summary": summary, "steps": entries}


def _judge(step: Step, reply: Reply | None, results: dict[str, Reply]) -> tuple[bool, str | None]:
    if reply is None:  # wait
        return True, None
    if reply.status is None:
        return False, str(reply.body)
    if reply.status not in step.expect_status:
        return False, f"status {reply.status}, expected {' or '.join(map(str, step.expect_status))}"
    expected = step.params.get("expect_json") if step.action == "http" else None
    if expected is not None and not contains(reply.body, resolve(expected, results)):
        return False, "the reply does not contain expect_json"
    return True, None


def _play(step: Step, results: dict[str, Reply], *, control, kiosk, http: HttpClient, sleep, clock
          ) -> tuple[Reply | None, dict]:
    if step.action == "wait":
        sleep(float(step.params["seconds"]))
        return None, {"waited_s": step.params["seconds"]}
    if step.action == "http":
        return _play_http(step, results, kiosk=kiosk, http=http, sleep=sleep, clock=clock)
    if not control:
        raise ScenarioError("no control API URL: give 'control' in the scenario or --control")
    method, path, body = _sim_request(step, resolve(step.params, results))
    return http(method, control.rstrip("/") + path, body, {}, 10.0), {"request": f"{method} {path}"}


def _play_http(step: Step, results: dict[str, Reply], *, kiosk, http: HttpClient, sleep, clock
               ) -> tuple[Reply, dict]:
    params = step.params
    path = resolve(params["path"], results)
    if not str(path).startswith("http"):
        if not kiosk:
            raise ScenarioError("no kiosk API URL: give 'kiosk' in the scenario or --kiosk")
        url = kiosk.rstrip("/") + str(path)
    else:
        url = str(path)
    method = str(params.get("method", "GET")).upper()
    headers = {str(k): str(v) for k, v in resolve(params.get("headers") or {}, results).items()}
    if params.get("bearer") is not None:
        headers["Authorization"] = f"Bearer {resolve(params['bearer'], results)}"
    body = resolve(params.get("json"), results)
    timeout_s = float(params.get("timeout_s", 30.0))
    retry = params.get("retry") or {}
    deadline = clock() + float(retry.get("timeout_s", 0))
    attempts = 0
    while True:
        attempts += 1
        reply = http(method, url, body, headers, timeout_s)
        if not retry or _judge(step, reply, results)[0] or clock() >= deadline:
            return reply, {"request": f"{method} {path}", "attempts": attempts}
        sleep(float(retry.get("interval_s", 0.5)))
