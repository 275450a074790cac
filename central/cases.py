"""The national adjudication cases (``national.web``), mounted under /national behind central's sign-in.

Officials sign in as for every other page (bearer token, or the page cookie); ``monitor`` reads the
cases and their CSV, ``admin`` records decisions. Each decision goes to central's audit table first
(``case_decisions``: case id, outcome, official, the case's digest; no record ids, see national.cases),
then to the case book written by ``kiosk dedup`` / the national run (``cases_path``).
"""
from __future__ import annotations

import json

from flask import abort, current_app, jsonify, redirect, url_for

from central.auth import official_of_request
from central.store import ROLES

URL_PREFIX = "/national"


def blueprint(settings):
    from national.cases import CaseBook, CaseError
    from national.web import cases_blueprint

    def reviewer_of(request) -> str:
        official = official_of_request()
        if official is None:
            if request.method == "GET" and not request.path.endswith(".csv"):
                abort(redirect(url_for("pages.login", next=request.path)))
            abort(401)
        username, role = official
        if request.method != "GET" and ROLES.index(role) < ROLES.index("admin"):
            refused = jsonify(error="forbidden", message="deciding a case needs the admin role")
            refused.status_code = 403
            abort(refused)
        return username

    def record(event: dict) -> None:
        services = current_app.extensions["central"]
        try:
            services.store.record_case_decision(event, services.clock())
        except ValueError as exc:          # decided already (the audit table outlived a case book)
            raise CaseError(str(exc)) from exc

    return cases_blueprint(lambda: CaseBook.load(settings.cases_path), reviewer_of, record)


def audit_rows(store) -> list[dict]:
    return [{**json.loads(detail), "recorded_at": at} for at, detail in store.case_decisions()]
