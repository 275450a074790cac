"""The commission server serves the same audit report as ``kiosk-audit report``, from verified pushes."""
from __future__ import annotations

import pytest
from central_kit import VOTER, Kiosk, enrol, make_app, send, token


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'central.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_database"))
    app = make_app(url)
    yield app
    app.extensions["central"].close()


def _polling(kiosk: Kiosk, voters: int) -> None:
    for n in range(voters):
        kiosk.log.append_many([
            {"event": "session_started", "official_id": "po-1"},
            {"event": "match", "official_id": "po-1", "modality": "fused", "outcome": "accepted", "score_band": "60-70"},
            {"event": "vote_marked", "official_id": "po-1", "voter": f"{n:064x}"},
            {"event": "session_ended", "official_id": "po-1", "outcome": "verified"}])
    kiosk.log.checkpoint()


def test_the_report_counts_what_each_kiosk_pushed(app, tmp_path):
    kiosks = [Kiosk(tmp_path / name, station=station, kiosk=name)
              for station, name in (("PS-0001", "kiosk-01"), ("PS-0002", "kiosk-02"))]
    client = app.test_client()
    for n, kiosk in enumerate(kiosks):
        enrol(app, kiosk)
        _polling(kiosk, 3 + n)
        assert send(client, kiosk.push(0)).status_code == 200
    reply = client.get("/audit-report", headers=token(client))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and reply.content_type.startswith("text/html")
    assert "2 of 2 bundle(s) are counted" in html
    assert "Station PS-0001" in html and "Station PS-0002" in html
    assert "Votes marked per hour" in html
    assert VOTER not in html and f"{1:064x}" not in html            # pseudonyms never reach the page
    for kiosk in kiosks:
        kiosk.close()


def test_the_report_needs_a_signed_in_official(app):
    reply = app.test_client().get("/audit-report")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def test_the_report_can_be_downloaded_as_one_file(app, tmp_path):
    kiosk = Kiosk(tmp_path / "k", station="PS-0003", kiosk="kiosk-09")
    enrol(app, kiosk)
    _polling(kiosk, 2)
    client = app.test_client()
    send(client, kiosk.push(0))
    reply = client.get("/audit-report?download=1&utc_offset_hours=7", headers=token(client))
    assert reply.headers["Content-Disposition"] == 'attachment; filename="audit-report.html"'
    assert "UTC+7 (station time)" in reply.get_data(as_text=True)
    kiosk.close()


def test_a_malformed_option_is_a_clear_400(app):
    client = app.test_client()
    reply = client.get("/audit-report?gap_minutes=soon", headers=token(client))
    assert reply.status_code == 400 and b"whole numbers" in reply.data
