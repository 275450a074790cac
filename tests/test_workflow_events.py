"""kiosk.events: the one audit function writes durable entries to the real audit log, with voters
only as pseudonyms, and refuses (loudly) anything the audit log's privacy rules reject."""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk import events
from kiosk.audit import AuditLog, layout, records
from kiosk.pseudonyms import PseudonymSource


@pytest.fixture
def recorder(tmp_path):
    log = AuditLog.open(tmp_path / "audit", Ed25519PrivateKey.generate(), "kiosk-audit/PS-0001/kiosk-01",
                        kiosk_id="kiosk-01", station_id="PS-0001")
    rec = events.EventRecorder(log, PseudonymSource(lambda id_number: None))
    yield rec
    rec.close()


def entries(tmp_path) -> list[dict]:
    data = (tmp_path / "audit" / layout.ENTRIES_LOG).read_bytes()
    return [json.loads(e) for e in records.scan(data).entries]


def test_record_appends_a_durable_entry_and_drops_empty_fields(recorder, tmp_path):
    seq = recorder.record("card_read", outcome="read", voter=recorder.pseudonym("123456789"), reason=None)
    last = entries(tmp_path)[-1]
    assert last["seq"] == seq
    assert (last["event"], last["outcome"], last["station_id"]) == ("card_read", "read", "PS-0001")
    assert "reason" not in last and len(last["voter"]) == 64


def test_the_same_id_number_gives_the_same_pseudonym_and_never_appears(recorder, tmp_path):
    assert recorder.pseudonym("123456789") == recorder.pseudonym(" 123456789 ")
    recorder.record("card_read", outcome="read", voter=recorder.pseudonym("123456789"))
    assert b"123456789" not in (tmp_path / "audit" / layout.ENTRIES_LOG).read_bytes()


def test_an_event_carrying_an_id_number_is_refused_loudly(recorder):
    with pytest.raises(events.AuditUnavailable):
        recorder.record("card_read", outcome="read", note="holder 123456789")


def test_module_record_writes_through_the_installed_recorder(recorder, tmp_path):
    previous = events.install(recorder)
    try:
        events.record("self_test", outcome="ok")
    finally:
        events.install(previous)
    assert entries(tmp_path)[-1]["event"] == "self_test"


def test_module_record_without_an_open_log_refuses():
    previous = events.install(None)
    try:
        with pytest.raises(events.AuditUnavailable):
            events.record("boot")
    finally:
        events.install(previous)
