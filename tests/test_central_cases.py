"""The commission server shows national duplicate cases behind its own sign-in and audits decisions."""
from __future__ import annotations

import json

import numpy as np
import pytest
from central_kit import make_app, token

from matcher.face import codes as face_codes
from national.cases import CaseBook, open_cases
from national.search import Probes, face_first
from national.shards import build_shard
from national.synthetic.registry import SyntheticRegistry

REGISTRY = SyntheticRegistry(size=40, duplicates=2, seed=5)


def _real_cases() -> list:
    """Cases from a real search of a small synthetic registry (two planted duplicates)."""
    records = np.arange(REGISTRY.size)
    faces = REGISTRY.faces(records)
    centre = face_codes.fit_centre(faces)
    shard = build_shard(records, faces, [REGISTRY.finger_templates(int(r)) for r in records], centre)
    rows = REGISTRY.planted[:, 0]
    probes = Probes(rows, faces[rows], [[shard.finger(int(r), f) for f in range(2)] for r in rows], centre)
    found = face_first(shard, probes, shortlist=8, keep=3)
    return open_cases({int(r): [c for c in cands if c.fused_fmr <= 1e-6] for r, cands in zip(rows, found)},
                      label=lambda record: f"voter-{record}")


@pytest.fixture
def app(tmp_path):
    book = CaseBook(tmp_path / "cases.json")
    book.add(_real_cases())
    book.save()
    app = make_app(f"sqlite:///{tmp_path / 'central.sqlite3'}", cases_path=str(book.path))
    yield app
    app.extensions["central"].close()


def test_cases_need_central_credentials(app):
    client = app.test_client()
    page = client.get("/national/cases")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/national/cases.csv").status_code == 401
    assert client.post("/national/cases/case-00001/decision", json={"decision": "confirmed"}).status_code == 401


def test_a_monitor_reads_the_cases_and_their_csv_but_cannot_decide(app):
    client = app.test_client()
    monitor = token(client, "monitor")
    page = client.get("/national/cases", headers=monitor)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 open" in html
    duplicate, original = (int(v) for v in REGISTRY.planted[0])
    assert f"voter-{min(duplicate, original)}" in html and f"voter-{max(duplicate, original)}" in html
    csv = client.get("/national/cases.csv", headers=monitor).get_data(as_text=True)
    assert csv.splitlines()[0].startswith("case_id,status,probe") and "case-00002" in csv
    refused = client.post("/national/cases/case-00001/decision", json={"decision": "confirmed"}, headers=monitor)
    assert refused.status_code == 403
    assert app.extensions["central"].store.case_decisions() == []


def test_an_admin_decision_is_audited_without_record_ids_and_only_once(app):
    client = app.test_client()
    admin = token(client, "admin")
    reply = client.post("/national/cases/case-00001/decision", json={"decision": "confirmed", "note": "same person"},
                        headers=admin)
    assert reply.status_code == 200 and reply.get_json() == {"case_id": "case-00001", "status": "confirmed",
                                                             "reviewer": "admin"}
    (recorded_at, detail), = app.extensions["central"].store.case_decisions()
    event = json.loads(detail)
    book = CaseBook.load(app.extensions["central"].settings.cases_path)
    case = book.get("case-00001")
    assert event == {"event": "case_decided", "case": "case-00001", "outcome": "confirmed", "official_id": "admin",
                     "candidates": len(case.candidates), "case_sha256": case.digest()}
    assert "voter-" not in detail and case.status == "confirmed" and case.reviewer == "admin"
    again = client.post("/national/cases/case-00001/decision", json={"decision": "dismissed"}, headers=admin)
    assert again.status_code == 409
    assert client.post("/national/cases/case-09999/decision", json={"decision": "dismissed"},
                       headers=admin).status_code == 404
    assert "1 confirmed" in client.get("/national/cases", headers=admin).get_data(as_text=True)
