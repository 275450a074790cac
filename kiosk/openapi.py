"""The OpenAPI 3 document of the kiosk API, served at ``/openapi.json``.

Written by hand next to the blueprints (a test checks that every registered route is described
here and that nothing described is missing from the app).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

_ERROR = {"$ref": "#/components/schemas/Error"}
_SESSION = {"$ref": "#/components/schemas/Session"}
_ID = [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, *, ok: dict | None = None, status: str = "200", body: dict | None = None,
        roles: tuple[str, ...] | None = ("official", "supervisor"), params: list | None = None,
        errors: tuple[str, ...] = ()) -> dict:
    errors = tuple(errors) + (("400", "413") if body is not None and "400" not in errors else
                              ("413",) if body is not None else ())
    op: dict[str, Any] = {"summary": summary, "responses": {status: {"description": "success",
                                                                      **(_json(ok) if ok else {})}}}
    if roles is None:
        op["security"] = []
    else:
        op["description"] = f"Roles: {', '.join(roles)}."
        for code, text in (("401", "no, invalid or expired token"), ("403", "role not allowed")):
            op["responses"][code] = {"description": text, **_json(_ERROR)}
    for code in errors:
        op["responses"][code] = {"description": _ERROR_TEXT[code], **_json(_ERROR)}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


_ERROR_TEXT = {"400": "malformed request (not a JSON object, nested too deep, a lone surrogate, a missing or "
                      "empty field)",
               "401": "wrong user name or password (invalid_credentials)",
               "403": "the approving official is not a supervisor, or is the official running the session",
               "404": "not found (e.g. session_not_found)",
               "409": "step not allowed in this state (invalid_step)",
               "413": "request body larger than the API reads",
               "429": "too many failed sign-ins, or too many registry lookups (Retry-After says when to retry)",
               "503": "a device failed (device_fault), an engine failed its boot self-test (engine_failed) or the "
                      "audit log is unavailable"}
_STEP_ERRORS = ("404", "409", "503")


def _step(summary: str, body: dict | None = None, extra_errors: tuple[str, ...] = ()) -> dict:
    return {"post": _op(summary, ok=_SESSION, params=_ID, errors=_STEP_ERRORS + extra_errors, body=body)}


def _screen_paths(app: Flask | None) -> dict:
    """The booth screen's pages and assets (HTML, JS, CSS, catalogues; no token), described from the
    app's own routes so the document stays complete as the screen grows."""
    if app is None:
        return {}
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/") or rule.rule in ("/health", "/openapi.json"):
            continue
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in sorted(rule.arguments)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {"summary": f"Booth screen: {rule.endpoint}", "security": [], "tags": ["booth screen"],
                  "responses": {"200": {"description": "page, asset or message catalogue"},
                                "302": {"description": "redirect to the booth screen"},
                                "404": {"description": "not found", **_json(_ERROR)}}}
            if params:
                op["parameters"] = params
            paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = op
    return paths


def document(app: Flask | None = None) -> dict:
    """The OpenAPI document; with ``app``, the booth screen's routes are described too."""
    string = {"type": "string"}
    given = {"type": "string", "minLength": 1}   # a required field may not be empty
    paths = {
        "/health": {"get": {**_health(string)}},
        "/openapi.json": {"get": _op("This document", roles=None, ok={"type": "object"})},
        "/api/auth/sign-in": {"post": _op(
            "Sign in with per-official credentials; returns a bearer token with an expiry", roles=None,
            body={"type": "object", "required": ["username", "password"],
                  "properties": {"username": given, "password": given}},
            ok={"type": "object", "properties": {"token": string, "token_type": string,
                                                  "expires_in": {"type": "integer"},
                                                  "official": {"$ref": "#/components/schemas/Official"}}},
            errors=("400", "401", "429"))},
        "/api/auth/sign-out": {"post": _op("Revoke this token", roles=("official", "supervisor", "auditor"))},
        "/api/auth/me": {"get": _op("The signed-in official", roles=("official", "supervisor", "auditor"),
                                    ok={"type": "object", "properties": {
                                        "official": {"$ref": "#/components/schemas/Official"}}})},
        "/api/sessions": {"post": _op("Start a voter session (state waiting_for_card)", ok=_SESSION, status="201"),
                          "get": _op("Sessions not yet ended, oldest first", ok={"type": "object", "properties": {
                              "sessions": {"type": "array", "items": _SESSION}}})},
        "/api/sessions/{session_id}": {"get": _op("The session's state, next action and message key", ok=_SESSION,
                                                  params=_ID, errors=("404",))},
        "/api/sessions/{session_id}/card": _step("Read the ID card and look the voter up (wrong station: "
                                                 "registered_station says where to go)"),
        "/api/sessions/{session_id}/no-card": _step(
            "Fallback approved by a supervisor: identify the voter by finger and face without a card",
            body=_approval(_no_card_reasons()), extra_errors=("400", "429")),  # 401/403: see _ERROR_TEXT
        "/api/sessions/{session_id}/finger": _step("Capture one finger (quality gate; retries and other fingers "
                                                   "follow Settings.max_finger_attempts/max_fingers)"),
        "/api/sessions/{session_id}/face-only": _step(
            "Fallback when fingers are unusable: a supervisor approves face-only verification",
            body=_approval(_face_only_reasons()), extra_errors=("400", "429")),
        "/api/sessions/{session_id}/ink-on-record": _step(
            "Ink was found on this person earlier (ink_on_record: when, which kiosk and station): a supervisor "
            "approves going on, with a reason", body=_approval(_ink_on_record_reasons()), extra_errors=("400", "429")),
        "/api/sessions/{session_id}/liveness": _step(
            "Liveness check on the camera's MJPEG stream (a blink, then a head turn on cue; answers within "
            "liveness_deadline_seconds); the session's liveness.instruction is the cue to show meanwhile"),
        "/api/sessions/{session_id}/liveness-override": _step(
            "After a failed liveness check: a supervisor who has seen the person approves going on to the face "
            "capture, with a reason", body=_approval(_liveness_reasons()), extra_errors=("400", "429")),
        "/api/sessions/{session_id}/face": _step(
            "Capture the face and take the round's fused decision at target_fmr / verification_rounds; not "
            "verified with rounds left: the next round starts (capture_finger, or capture_face for face only)"),
        "/api/sessions/{session_id}/ink": _step(
            "UV ink check; after repeated inconclusive checks the official may report a check by eye",
            body={"type": "object", "properties": {"checked_by_eye": {"type": "string", "enum": ["ink", "no_ink"]}}},
            extra_errors=("400",)),
        "/api/sessions/{session_id}/confirm": _step("The official confirms: the voter is marked as voted exactly once "
                                                    "(a second attempt ends in state already_voted)"),
        "/api/sessions/{session_id}/cancel": _step("Cancel the session"),
        "/api/devices": {"get": _op("Device status: ready, busy, fault or not_configured",
                                    roles=("official", "supervisor", "auditor"),
                                    ok={"type": "object", "properties": {
                                        "station_id": string, "kiosk_id": string,
                                        "devices": {"type": "object", "additionalProperties": {
                                            "type": "object", "properties": {"status": string, "error": string}}},
                                        "commission_sync": {"type": "object", "properties": {
                                            "configured": {"type": "boolean"},
                                            "last_success_at": {"type": "string", "nullable": True},
                                            "last_error": {"type": "string", "nullable": True}}},
                                        "engines": {"type": "object", "additionalProperties": string},
                                        "failed": {"type": "array", "items": string}}})},

        "/api/registry/lookup": {"post": _op(
            "Look a voter up by ID number (in the body); never returns templates",
            body={"type": "object", "required": ["id_number"], "properties": {"id_number": given}},
            ok={"type": "object", "properties": {"voter": {"$ref": "#/components/schemas/Voter"},
                                                  "at_this_station": {"type": "boolean"}}},
            errors=("400", "404", "429"))},
        "/api/summary": {"get": _op("End-of-day counts for this station", roles=("official", "supervisor", "auditor"),
                                    ok={"type": "object", "properties": {
                                        "station_id": string, "kiosk_id": string,
                                        "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}})},
        "/api/station/summary": {"get": _op(
            "The station's kiosks added up from the shared registry (votes, refusals, ink found, fallbacks, "
            "second-vote attempts per kiosk and in total)", roles=("supervisor",),
            ok={"type": "object", "properties": {
                "station_id": string, "kiosk_id": string, "registered": {"type": "integer"},
                "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
                "kiosks": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": {"type": "integer"}}}}})},
        "/api/audit/export": {"post": _op("Export the signed audit bundle", roles=("auditor",), status="201",
                                          ok={"type": "object", "properties": {
                                              "bundle": string, "bytes": {"type": "integer"}, "sha256": string,
                                              "entries": {"type": "integer"}, "download": string}})},
        "/api/audit/bundles/{name}": {"get": {
            **_op("Download an exported bundle", roles=("auditor",),
                  params=[{"name": "name", "in": "path", "required": True, "schema": string}], errors=("404",)),
            "responses": {**_op("", roles=("auditor",))["responses"],
                          "200": {"description": "the bundle file",
                                  "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
                          "404": {"description": "no such bundle", **_json(_ERROR)}}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Voter-verification kiosk API", "version": "1",
                 "description": "JSON everywhere; errors are {\"error\": {\"code\", \"message\"}} with stable codes."},
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"bearer": []}],
        "paths": {**_screen_paths(app), **paths},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": string, "message": string}}}},
                "Official": {"type": "object", "properties": {"username": string, "role": string,
                                                              "display_name": string}},
                "Voter": {"type": "object", "properties": {
                    "voter_id": string, "name": string, "birth_date": {"type": "string", "nullable": True},
                    "sex": string, "station_id": string, "id_number_masked": string,
                    "has_voted": {"type": "boolean"}, "fingers_enrolled": {"type": "array", "items": string},
                    "face_enrolled": {"type": "boolean"},
                    "not_verified_before": {"type": "integer", "minimum": 0, "description":
                                            "sessions refused as not verified before (any kiosk sharing the "
                                            "registry); each halves the next session's false match rate"}}},
                "Session": {"type": "object", "required": ["session_id", "state", "next_action", "message_key"],
                            "properties": {
                                "session_id": string,
                                "state": {"type": "string", "enum": list(_states())},
                                "next_action": string,
                                "message_key": {"type": "string", "enum": sorted(_message_keys())},
                                "terminal": {"type": "boolean"},
                                "outcome": {"type": "string", "nullable": True},
                                "reason": {"type": "string", "nullable": True},
                                "method": string,
                                "voter": {"type": "object", "nullable": True},
                                "registered_station": {"type": "string", "nullable": True},
                                "finger": {"type": "object"}, "match": {"type": "object", "nullable": True},
                                "round": {"type": "integer", "minimum": 1,
                                          "description": "the fused 1:1 decision the session is on "
                                                         "(Settings.verification_rounds)"},
                                "ink": {"type": "string", "nullable": True},
                                "liveness": {"type": "object", "properties": {
                                    "instruction": {"type": "string", "nullable": True},
                                    "outcome": {"type": "string", "nullable": True},
                                    "reason": {"type": "string", "nullable": True},
                                    "attempts": {"type": "integer"}}},
                                "fallbacks": {"type": "array", "items": string},
                                "supervisor_id": {"type": "string", "nullable": True},
                                "official_id": string, "voted_at": {"type": "string", "nullable": True},
                                "ink_on_record": {"type": "object", "nullable": True, "properties": {
                                    "found_at": string, "kiosk_id": string, "station_id": string}}}},
            },
        },
    }


def _health(string: dict) -> dict:
    """/health: 200 ok or degraded (a failed engine self-test, a faulty device); 503 degraded while the
    registry database is unreachable."""
    body = {"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]}, "kiosk_id": string, "station_id": string,
        "registry": {"type": "string", "enum": ["ok", "unavailable"]}, "registry_backend": string,
        "failed": {"type": "array", "items": string}}}
    op = _op("Liveness and what does not work (registry database, engine self-test, devices); no token needed",
             roles=None, ok=body)
    op["responses"]["503"] = {"description": "degraded: the registry database cannot be reached", **_json(body)}
    return op


def _approval(reasons: tuple[str, ...]) -> dict:
    given = {"type": "string", "minLength": 1}
    return {"type": "object", "required": ["supervisor_username", "supervisor_password", "reason_code"],
            "properties": {"supervisor_username": given, "supervisor_password": given,
                           "reason_code": {"type": "string", "enum": list(reasons)}}}


def _no_card_reasons() -> tuple[str, ...]:
    from kiosk.workflow import NO_CARD_REASONS

    return NO_CARD_REASONS


def _states() -> tuple[str, ...]:
    from kiosk import workflow

    return tuple(workflow.NEXT_ACTION) + tuple(sorted(workflow.TERMINAL))


def _message_keys() -> frozenset[str]:
    from kiosk.workflow import MESSAGE_KEYS

    return MESSAGE_KEYS


def _face_only_reasons() -> tuple[str, ...]:
    from kiosk.workflow import FACE_ONLY_REASONS

    return FACE_ONLY_REASONS


def _liveness_reasons() -> tuple[str, ...]:
    from kiosk.workflow import LIVENESS_REASONS

    return LIVENESS_REASONS


def _ink_on_record_reasons() -> tuple[str, ...]:
    from kiosk.workflow import INK_ON_RECORD_REASONS

    return INK_ON_RECORD_REASONS


def openapi_path(rule: str) -> str:
    """A Flask rule (``/api/sessions/<session_id>``) as an OpenAPI path (``/api/sessions/{session_id}``)."""
    import re

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def register_openapi(app: Flask) -> None:
    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(document(app))
