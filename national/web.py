"""The adjudication page: a Flask blueprint listing cases, exporting CSV and taking decisions.

The host application (the commission server, or a kiosk run by the commission) supplies the case book,
how a request's reviewer is authenticated and where decisions are audited:

    app.register_blueprint(cases_blueprint(load_book, reviewer_of, record), url_prefix="/national")

``reviewer_of(request)`` returns the reviewer's official id or None (then the answer is 401): every
route needs credentials. Pages are rendered with Jinja's autoescaping.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from flask import Blueprint, Response, abort, jsonify, render_template_string, request

from .cases import CaseBook, CaseError

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Suspected duplicates</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left}tr.case td{border-top:2px solid #333}
.open{color:#a60}.confirmed{color:#b00}.dismissed{color:#070}</style></head>
<body><h1>Suspected duplicate registrations</h1>
<p>{{ open }} open, {{ confirmed }} confirmed, {{ dismissed }} dismissed.
<a href="{{ csv_url }}">Download CSV</a></p>
<table><thead><tr><th>case</th><th>status</th><th>record</th><th>rank</th><th>candidate</th>
<th>fused score</th><th>fused FMR</th><th>face</th><th>fingers</th></tr></thead><tbody>
{% for case in cases %}{% for c in case.candidates %}
<tr class="{{ 'case' if loop.first else '' }}">
{% if loop.first %}<td rowspan="{{ case.candidates|length }}">{{ case.case_id }}</td>
<td rowspan="{{ case.candidates|length }}" class="{{ case.status }}">{{ case.status }}
{% if case.reviewer %}<br>by {{ case.reviewer }}{% endif %}</td>
<td rowspan="{{ case.candidates|length }}">{{ case.probe }}</td>{% endif %}
<td>{{ c.rank }}</td><td>{{ c.record }}</td><td>{{ '%.1f'|format(c.fused_score) }}</td>
<td>{{ '%.2g'|format(c.fused_fmr) }}</td>
<td>{{ '-' if c.face_score is none else '%.1f'|format(c.face_score) }}</td>
<td>{% for s in c.finger_scores %}{{ '-' if s is none else '%.1f'|format(s) }} {% endfor %}</td></tr>
{% endfor %}{% endfor %}</tbody></table></body></html>"""


def cases_blueprint(load_book: Callable[[], CaseBook], reviewer_of: Callable[[object], str | None],
                    record: Callable[[dict], object], *, clock: Callable[[], datetime] | None = None) -> Blueprint:
    bp = Blueprint("national_cases", __name__)
    now = clock or (lambda: datetime.now(timezone.utc))

    def reviewer() -> str:
        who = reviewer_of(request)
        if not who:
            abort(401)
        return who

    @bp.get("/cases")
    def page():
        reviewer()
        book = load_book()
        counts = {s: sum(1 for c in book.cases if c.status == s) for s in ("open", "confirmed", "dismissed")}
        return render_template_string(PAGE, cases=book.cases, csv_url=request.path + ".csv", **counts)

    @bp.get("/cases.csv")
    def export():
        reviewer()
        return Response(load_book().to_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=cases.csv"})

    @bp.post("/cases/<case_id>/decision")
    def decide(case_id: str):
        who = reviewer()
        body = request.get_json(silent=True) or {}
        book = load_book()
        try:
            case = book.decide(case_id, str(body.get("decision", "")), who, now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                               record, note=str(body.get("note", ""))[:500])
        except CaseError as exc:
            return jsonify({"error": str(exc)}), 404 if "no case" in str(exc) else 409
        return jsonify({"case_id": case.case_id, "status": case.status, "reviewer": case.reviewer})

    return bp
