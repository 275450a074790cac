"""The registry keeps voters, sealed templates and a vote that can be cast exactly once.

Every test runs on both backends (SQLite and a real PostgreSQL cluster: ``registry_url`` in
tests/pg_fixtures.py)."""
from __future__ import annotations

import multiprocessing
import secrets
from datetime import date

import pytest

from kiosk.registry import AlreadyVoted, DuplicateVoter, Registry, VoterNotFound
from kiosk.registry.crypto import DecryptionError
from pg_fixtures import raw_sql

KEY = bytes(range(32))
ISO_LIKE = b"FMR\x00 20\x00" + b"\x00" * 40   # storage treats templates as opaque bytes


@pytest.fixture
def registry(registry_url):
    reg = Registry(registry_url, KEY)
    yield reg
    reg.close()


def _add(reg, id_number="123456789", station="PS-0001", **kw):
    return reg.add_voter(id_number=id_number, name="SOK DARA", birth_date=date(1990, 1, 1), sex="M",
                         station_id=station, fingers={"right_index": ISO_LIKE}, face=b"\x01" * 520, **kw)


def test_voter_found_by_id_number_without_templates(registry):
    vid = _add(registry)
    voter = registry.find_voter("123456789")
    assert voter.voter_id == vid and voter.fingers_enrolled == ("right_index",) and voter.face_enrolled
    assert "template" not in str(voter.public_dict()) and "123456789" not in str(voter.public_dict())


def test_unknown_voter(registry):
    assert registry.find_voter("000000000") is None
    with pytest.raises(VoterNotFound):
        registry.get_voter("V-NOPE")


def test_duplicate_id_number_is_refused_and_nothing_half_written(registry):
    _add(registry)
    with pytest.raises(DuplicateVoter):
        _add(registry)
    assert registry.count_voters() == 1


def test_templates_are_encrypted_at_rest(registry, registry_url):
    vid = _add(registry)
    raw = bytes(raw_sql(registry_url, "SELECT sealed FROM finger_templates")[0][0])
    assert ISO_LIKE not in raw and b"FMR" not in raw
    assert registry.enrolment_bytes(vid)[0]["right_index"] == ISO_LIKE


def test_template_moved_to_another_voter_fails_to_decrypt(registry, registry_url):
    a, b = _add(registry, "111111111"), _add(registry, "222222222")
    sealed_a = raw_sql(registry_url, "SELECT sealed FROM finger_templates WHERE voter_id = ?", (a,))[0][0]
    raw_sql(registry_url, "UPDATE finger_templates SET sealed = ? WHERE voter_id = ?", (sealed_a, b))
    with pytest.raises(DecryptionError):
        registry.enrolment_bytes(b)


def test_wrong_key_cannot_read_templates(registry, registry_url):
    vid = _add(registry)
    other = Registry(registry_url, bytes(32))
    with pytest.raises(DecryptionError):
        other.enrolment_bytes(vid)
    other.close()


def test_second_vote_is_refused_and_recorded(registry):
    vid = _add(registry)
    first = registry.mark_voted(vid, kiosk_id="k1", station_id="PS-0001", official_id="o1", method="biometric")
    with pytest.raises(AlreadyVoted) as refused:
        registry.mark_voted(vid, kiosk_id="k2", station_id="PS-0001", official_id="o2", method="biometric")
    assert refused.value.existing == first
    assert registry.get_voter(vid).has_voted
    assert registry.summary("PS-0001")["second_vote_attempts"] == 1


def _mark(args):
    url, vid, n = args
    reg = Registry(url, KEY)
    try:
        reg.mark_voted(vid, kiosk_id=f"kiosk-{n}", station_id="PS-0001", official_id="o", method="biometric")
        return "marked"
    except AlreadyVoted:
        return "refused"
    finally:
        reg.close()


def test_many_kiosks_marking_the_same_voter_at_once_exactly_one_succeeds(registry, registry_url):
    vid = _add(registry)
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.map(_mark, [(registry_url, vid, n) for n in range(24)])
    assert results.count("marked") == 1 and results.count("refused") == 23
    first = registry.get_voter(vid).vote
    refusals = registry.vote_refusals(vid)
    assert len(refusals) == 23 and {r["kiosk_id"] for r in refusals} | {first.kiosk_id} == \
        {f"kiosk-{n}" for n in range(24)}
    assert {(r["first_kiosk_id"], r["first_station_id"]) for r in refusals} == {(first.kiosk_id, "PS-0001")}


def test_summary_counts_decisions_and_votes(registry):
    vid = _add(registry)
    registry.mark_voted(vid, kiosk_id="k", station_id="PS-0001", official_id="o", method="biometric")
    registry.record_decision(session_id="s1", voter_id=vid, station_id="PS-0001", kiosk_id="k",
                             official_id="o", outcome="refused", method="biometric", reason="no_match")
    registry.record_decision(session_id="s2", voter_id=None, station_id="PS-0001", kiosk_id="k",
                             official_id="o", outcome="wrong_station", method="card")
    s = registry.summary("PS-0001")
    assert (s["registered"], s["votes_marked"], s["verified_biometric"], s["refused"], s["wrong_station"]) == \
        (1, 1, 1, 1, 1)


def test_officials(registry):
    registry.add_official("dara", "scrypt$...", "supervisor", "Dara")
    assert registry.get_official("dara").role == "supervisor"
    assert registry.get_official("nobody") is None


def test_summary_for_one_kiosk_counts_only_what_it_did(registry):
    a, b = _add(registry, "111111111"), _add(registry, "222222222")
    registry.mark_voted(a, kiosk_id="k1", station_id="PS-0001", official_id="o", method="biometric")
    registry.mark_voted(b, kiosk_id="k2", station_id="PS-0001", official_id="o", method="fallback_face_only")
    registry.record_decision(session_id="s", voter_id=None, station_id="PS-0001", kiosk_id="k2",
                             official_id="o", outcome="refused", method="fallback_face_only")
    k1, station = registry.summary("PS-0001", kiosk_id="k1"), registry.summary("PS-0001")
    assert (k1["votes_marked"], k1["refused"], k1["fallbacks"], k1["registered"]) == (1, 0, 0, 2)
    assert (station["votes_marked"], station["refused"], station["fallbacks"]) == (2, 1, 1)


def test_enrolment_generation_changes_with_every_voter_added_by_any_connection(registry_url):
    url, key = registry_url, secrets.token_bytes(32)
    kiosk_side, import_side = Registry(url, key), Registry(url, key)
    before = kiosk_side.enrolment_generation()
    import_side.add_voter(id_number="123456789", name="A", birth_date=None, sex="F", station_id="PS-0001")
    after_one = kiosk_side.enrolment_generation()
    import_side.add_voter(id_number="987654321", name="B", birth_date=None, sex="M", station_id="PS-0001")
    assert before != after_one != kiosk_side.enrolment_generation()
    kiosk_side.close()
    import_side.close()


def test_a_retry_by_the_session_that_voted_gets_the_same_vote_and_no_second_vote_attempt(registry):
    vid = _add(registry)
    first = registry.mark_voted(vid, kiosk_id="k1", station_id="PS-0001", official_id="o1", method="biometric",
                                session_id="S-1")
    again = registry.mark_voted(vid, kiosk_id="k1", station_id="PS-0001", official_id="o1", method="biometric",
                                session_id="S-1")
    assert again == first and first.session_id == "S-1"
    assert registry.vote_refusals(vid) == [] and registry.summary("PS-0001")["second_vote_attempts"] == 0


def test_a_second_attempt_from_another_kiosk_is_recorded_naming_the_first_votes_kiosk_and_station(registry):
    vid = _add(registry)
    registry.mark_voted(vid, kiosk_id="k1", station_id="PS-0001", official_id="o1", method="biometric",
                        session_id="S-1")
    with pytest.raises(AlreadyVoted) as refused:
        registry.mark_voted(vid, kiosk_id="k2", station_id="PS-0001", official_id="o2", method="fallback_face_only",
                            session_id="S-2")
    assert (refused.value.existing.kiosk_id, refused.value.existing.station_id) == ("k1", "PS-0001")
    [attempt] = registry.vote_refusals(vid)
    assert (attempt["kiosk_id"], attempt["session_id"], attempt["first_kiosk_id"], attempt["first_station_id"]) == \
        ("k2", "S-2", "k1", "PS-0001")


def test_schema_migrations_are_applied_once_and_recorded(registry, registry_url):
    from kiosk.registry.migrations import current_version, latest_version

    again = Registry(registry_url, KEY)      # a second kiosk opening the same database migrates nothing
    rows = raw_sql(registry_url, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, latest_version() + 1)) and rows[0][1] == "initial"
    assert current_version(again._db) == latest_version()
    again.close()


def test_a_database_newer_than_the_code_is_refused(registry, registry_url):
    from kiosk.registry import RegistryError

    raw_sql(registry_url, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
            (999, "from_the_future", "2030-01-01T00:00:00Z"))
    with pytest.raises(RegistryError, match="schema version 999.*upgrade the kiosk"):
        Registry(registry_url, KEY)


def test_a_refused_session_that_retries_is_recorded_once(registry):
    vid = _add(registry)
    registry.mark_voted(vid, kiosk_id="k1", station_id="PS-0001", official_id="o1", method="biometric",
                        session_id="S-1")
    for _ in range(3):
        with pytest.raises(AlreadyVoted):
            registry.mark_voted(vid, kiosk_id="k2", station_id="PS-0001", official_id="o2", method="biometric",
                                session_id="S-2")
    assert len(registry.vote_refusals(vid)) == 1


def test_marking_an_unknown_record_id_is_voter_not_found_and_marks_nothing(registry):
    with pytest.raises(VoterNotFound):
        registry.mark_voted("V-NOPE", kiosk_id="k1", station_id="PS-0001", official_id="o", method="biometric")
    assert registry.summary("PS-0001")["votes_marked"] == 0


def test_an_ink_finding_is_seen_by_every_later_lookup_with_kiosk_station_and_time(registry):
    vid = _add(registry)
    assert registry.find_voter("123456789").ink_found is None
    registry.record_ink_found(vid, station_id="PS-0001", kiosk_id="k1", official_id="o1", session_id="S-1")
    registry.record_ink_found(vid, station_id="PS-0001", kiosk_id="k1", official_id="o1", session_id="S-1")
    registry.record_ink_found(vid, station_id="PS-0001", kiosk_id="k2", official_id="o2", session_id="S-2")
    found = registry.find_voter("123456789").ink_found
    assert (found.kiosk_id, found.station_id) == ("k1", "PS-0001") and found.found_at.endswith("Z")
    assert registry.get_voter(vid).public_dict()["ink_found"]["kiosk_id"] == "k1"


def test_every_lookup_counts_the_voter_s_sessions_refused_as_not_verified(registry):
    vid = _add(registry)
    assert registry.find_voter("123456789").not_verified_before == 0
    for session, kiosk, reason in (("S-1", "k1", "not_verified"), ("S-2", "k2", "not_verified"),
                                   ("S-3", "k1", "ink_detected")):
        registry.record_decision(session_id=session, voter_id=vid, station_id="PS-0001", kiosk_id=kiosk,
                                 official_id="o", outcome="refused", method="biometric", reason=reason)
    assert registry.find_voter("123456789").not_verified_before == 2          # ink is counted apart
    assert registry.get_voter(vid).public_dict()["not_verified_before"] == 2


def test_station_summary_adds_up_every_kiosk_sharing_the_registry(registry):
    a, b, c = _add(registry, "111111111"), _add(registry, "222222222"), _add(registry, "333333333")
    registry.mark_voted(a, kiosk_id="k1", station_id="PS-0001", official_id="o", method="biometric")
    registry.mark_voted(b, kiosk_id="k2", station_id="PS-0001", official_id="o", method="fallback_face_only")
    with pytest.raises(AlreadyVoted):
        registry.mark_voted(a, kiosk_id="k2", station_id="PS-0001", official_id="o", method="biometric")
    registry.record_ink_found(c, station_id="PS-0001", kiosk_id="k1", official_id="o", session_id="s")
    registry.record_decision(session_id="s", voter_id=c, station_id="PS-0001", kiosk_id="k1", official_id="o",
                             outcome="refused", method="biometric", reason="ink_detected")
    registry.record_decision(session_id="t", voter_id=b, station_id="PS-0001", kiosk_id="k2", official_id="o",
                             outcome="verified", method="fallback_face_only")
    station = registry.station_summary("PS-0001")
    assert station["kiosks"]["k1"] == {"votes_marked": 1, "refused": 1, "ink_found": 1, "fallbacks": 0,
                                       "second_vote_attempts": 0}
    assert station["kiosks"]["k2"] == {"votes_marked": 1, "refused": 0, "ink_found": 0, "fallbacks": 1,
                                       "second_vote_attempts": 1}
    assert station["totals"]["votes_marked"] == 2 and station["registered"] == 3
