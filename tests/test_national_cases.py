"""Adjudication cases: grouping, decisions audited, CSV export and the page."""
from __future__ import annotations

import csv
import io
import math

import pytest
from flask import Flask

from national.cases import AUDIT_EVENT, CaseBook, CaseError, open_cases
from national.search import Candidate
from national.web import cases_blueprint


def cand(record: int, fmr: float, fingers=(120.0, 95.5)) -> Candidate:
    return Candidate(record, -10 * math.log10(fmr), fmr, 80.0, tuple(fingers))


SUSPECTS = {3: [cand(17, 1e-20), cand(40, 1e-12)], 17: [cand(3, 1e-20)], 40: [cand(3, 1e-12)],
            8: [cand(9, 1e-15, (130.0, None))]}


def test_a_pair_found_from_both_sides_is_one_case():
    cases = open_cases(SUSPECTS)
    assert [(c.probe, [k.record for k in c.candidates]) for c in cases] == [("3", ["17", "40"]), ("8", ["9"])]
    assert [c.case_id for c in cases] == ["case-00001", "case-00002"]
    assert cases[0].candidates[0].rank == 1 and cases[0].candidates[1].finger_scores == [120.0, 95.5]


@pytest.fixture
def book(tmp_path) -> CaseBook:
    book = CaseBook.load(tmp_path / "cases.json")
    assert book.add(open_cases(SUSPECTS)) == 2
    book.save()
    return book


def test_a_decision_is_audited_without_record_ids_and_kept(book):
    audited = []
    book.decide("case-00001", "confirmed", "reviewer7", "2026-11-29T11:00:00Z", audited.append)
    assert audited == [{"event": AUDIT_EVENT, "case": "case-00001", "outcome": "confirmed",
                        "official_id": "reviewer7", "candidates": 2, "case_sha256": book.get("case-00001").digest()}]
    again = CaseBook.load(book.path)
    assert again.get("case-00001").status == "confirmed" and again.get("case-00002").status == "open"
    with pytest.raises(CaseError, match="already confirmed"):
        again.decide("case-00001", "dismissed", "reviewer8", "t", audited.append)
    with pytest.raises(CaseError, match="decision must be"):
        again.decide("case-00002", "maybe", "reviewer8", "t", audited.append)
    assert len(audited) == 1


def test_adding_a_rerun_does_not_reopen_known_groups(book):
    assert book.add(open_cases({17: [cand(3, 1e-20)], 50: [cand(51, 1e-14)]})) == 1
    assert [c.probe for c in book.cases] == ["3", "8", "50"]


def test_cases_export_as_csv_one_row_per_candidate(book):
    rows = list(csv.DictReader(io.StringIO(book.to_csv())))
    assert [(r["case_id"], r["rank"], r["candidate"]) for r in rows] == [
        ("case-00001", "1", "17"), ("case-00001", "2", "40"), ("case-00002", "1", "9")]
    assert rows[2]["finger_scores"] == "130.0 -" and rows[0]["status"] == "open"


def test_the_page_lists_cases_and_takes_decisions_with_credentials(book):
    audited = []
    app = Flask(__name__)
    reviewer = lambda request: "reviewer7" if request.headers.get("Authorization") == "Bearer ok" else None
    app.register_blueprint(cases_blueprint(lambda: CaseBook.load(book.path), reviewer, audited.append),
                           url_prefix="/national")
    web = app.test_client()
    assert web.get("/national/cases").status_code == 401
    auth = {"Authorization": "Bearer ok"}
    page = web.get("/national/cases", headers=auth).get_data(as_text=True)
    assert "case-00001" in page and "2 open" in page and "Download CSV" in page
    assert web.get("/national/cases.csv", headers=auth).get_data(as_text=True).startswith("case_id,status")
    answer = web.post("/national/cases/case-00002/decision", json={"decision": "dismissed"}, headers=auth)
    assert answer.status_code == 200 and answer.get_json()["status"] == "dismissed"
    assert audited[0]["outcome"] == "dismissed"
    assert web.post("/national/cases/case-00002/decision", json={"decision": "confirmed"},
                    headers=auth).status_code == 409
    assert web.post("/national/cases/case-09999/decision", json={"decision": "confirmed"},
                    headers=auth).status_code == 404
    assert "dismissed" in web.get("/national/cases", headers=auth).get_data(as_text=True)
