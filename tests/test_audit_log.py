"""The writer: durable numbered appends, checkpoints when promised, one writer, threads, torn-tail repair."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit import AuditLog, export_bundle, verify_bundle
from kiosk.audit import canonical, layout, records
from kiosk.audit.errors import AuditError, EventRejected, LogClosed, LogCorrupt, LogLocked
from kiosk.audit.note import Checkpoint, Signer, open_note

ORIGIN = "kiosk-audit/PS-0001/kiosk-01"


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 5, 3, 7, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock():
    return FakeClock()


def open_log(directory, key, clock, **options):
    return AuditLog.open(directory, key, ORIGIN, kiosk_id="kiosk-01", station_id="PS-0001", clock=clock,
                         **options)


def entries_on_disk(directory):
    return [canonical.decode(e) for e in records.scan((directory / layout.ENTRIES_LOG).read_bytes()).entries]


def checkpoints_on_disk(directory, key):
    from kiosk.audit.log import read_checkpoints
    verifier = Signer(ORIGIN, key).verifier
    return [Checkpoint.parse(open_note(n, [verifier])[0].text) for n in read_checkpoints(directory)]


def test_append_returns_consecutive_sequence_numbers_and_fills_in_the_log_fields(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        assert log.append({"event": "boot"}) == 0
        assert log.append({"event": "self_test", "outcome": "ok"}) == 1
    first, second = entries_on_disk(tmp_path)
    assert first == {"event": "boot", "seq": 0, "time": "2026-05-03T07:00:00.000000Z",
                     "kiosk_id": "kiosk-01", "station_id": "PS-0001"}
    assert second["seq"] == 1 and second["outcome"] == "ok"


def test_each_entry_line_is_its_canonical_json_with_a_checksum(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append({"event": "lamp_on", "official_id": "po-1"})
    line = (tmp_path / layout.ENTRIES_LOG).read_bytes()
    entry, crc = line[:-1].split(b"\t")
    assert entry == canonical.encode(entries_on_disk(tmp_path)[0]) and len(crc) == 8 and line.endswith(b"\n")


def test_a_rejected_event_writes_nothing(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        with pytest.raises(EventRejected):
            log.append({"event": "capture", "template": "..."})
        with pytest.raises(EventRejected):
            log.append_many([{"event": "boot"}, {"event": "capture", "score": 0.5}])
        assert log.size == 0
    assert entries_on_disk(tmp_path) == []


def test_a_checkpoint_is_signed_at_open_every_n_entries_and_at_close(tmp_path, key, clock):
    log = open_log(tmp_path, key, clock, checkpoint_every=3)
    assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0]
    for _ in range(7):
        log.append({"event": "capture"})
    assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0, 3, 6]
    log.close()
    assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0, 3, 6, 7]
    assert all(c.origin == ORIGIN for c in checkpoints_on_disk(tmp_path, key))


def test_a_checkpoint_is_signed_when_the_interval_passes_on_the_given_clock(tmp_path, key, clock):
    with open_log(tmp_path, key, clock, checkpoint_every=1000, checkpoint_interval_s=60) as log:
        log.append({"event": "capture"})
        clock.advance(seconds=59)
        log.tick()
        assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0]
        clock.advance(seconds=2)
        log.tick()
        assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0, 1]
        clock.advance(minutes=5)
        log.tick()  # nothing new to sign
        assert [c.size for c in checkpoints_on_disk(tmp_path, key)] == [0, 1]


def test_checkpoint_roots_are_the_roots_of_the_entries_they_cover(tmp_path, key, clock):
    from kiosk.audit.merkle import root_of
    with open_log(tmp_path, key, clock, checkpoint_every=2) as log:
        log.append_many([{"event": "capture"}] * 5)
    lines = records.scan((tmp_path / layout.ENTRIES_LOG).read_bytes()).entries
    for checkpoint in checkpoints_on_disk(tmp_path, key):
        assert checkpoint.root_hash == root_of(lines[:checkpoint.size])


def test_a_second_writer_on_the_same_directory_is_refused(tmp_path, key, clock):
    with open_log(tmp_path, key, clock):
        with pytest.raises(LogLocked, match="already open"):
            open_log(tmp_path, key, clock)
    open_log(tmp_path, key, clock).close()  # the lock is released on close


def test_the_log_cannot_be_opened_with_another_signing_key(tmp_path, key, clock):
    open_log(tmp_path, key, clock).close()
    with pytest.raises(AuditError, match="another signing key"):
        open_log(tmp_path, Ed25519PrivateKey.generate(), clock)


def test_appending_after_close_is_an_error(tmp_path, key, clock):
    log = open_log(tmp_path, key, clock)
    log.close()
    log.close()
    with pytest.raises(LogClosed):
        log.append({"event": "boot"})


def test_concurrent_appenders_get_unique_contiguous_numbers_and_the_log_verifies(tmp_path, key, clock):
    log = open_log(tmp_path, key, clock, checkpoint_every=25)
    got, errors = [], []

    def worker(name):
        try:
            for i in range(40):
                got.append((log.append({"event": "capture", "official_id": name}), name))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"po-{t}",)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(seq for seq, _ in got) == list(range(240))
    on_disk = {e["seq"]: e["official_id"] for e in entries_on_disk(tmp_path)}
    assert all(on_disk[seq] == name for seq, name in got)
    report = verify_bundle(export_bundle(log, tmp_path / "bundle"))
    log.close()
    assert report.ok, report.error


def test_reopening_continues_the_numbering_and_keeps_checkpoints_consistent(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append_many([{"event": "boot"}, {"event": "self_test"}])
    with open_log(tmp_path, key, clock) as log:
        assert log.append({"event": "shutdown"}) == 2
        report = verify_bundle(export_bundle(log, tmp_path / "b"))
    assert report.ok, report.error


def test_a_torn_tail_is_cut_off_on_open_and_the_repair_is_logged(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append_many([{"event": "boot"}, {"event": "self_test"}])
    intact = (tmp_path / layout.ENTRIES_LOG).read_bytes()
    with open(tmp_path / layout.ENTRIES_LOG, "ab") as fh:
        fh.write(torn := b'{"event":"capture","kiosk_id":"kio')  # a crash mid-write
    with open_log(tmp_path, key, clock) as log:
        assert log.torn_bytes_removed == len(torn) == 34
        assert log.size == 3
    data = (tmp_path / layout.ENTRIES_LOG).read_bytes()
    assert data.startswith(intact)  # acknowledged bytes untouched
    assert entries_on_disk(tmp_path)[2] == {"event": "log_recovered", "reason": "torn_tail", "bytes_removed": 34,
                                            "seq": 2, "time": "2026-05-03T07:00:00.000000Z",
                                            "kiosk_id": "kiosk-01", "station_id": "PS-0001"}


def test_damage_inside_the_log_is_refused_and_left_as_it_is(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append_many([{"event": "boot"}, {"event": "self_test"}, {"event": "shutdown"}])
    path = tmp_path / layout.ENTRIES_LOG
    data = bytearray(path.read_bytes())
    data[5] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(LogCorrupt, match="not a torn tail"):
        open_log(tmp_path, key, clock)
    assert path.read_bytes() == bytes(data)


def test_entries_that_a_checkpoint_signed_cannot_silently_disappear(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append_many([{"event": "boot"}, {"event": "self_test"}])
    path = tmp_path / layout.ENTRIES_LOG
    path.write_bytes(path.read_bytes()[:-5])  # the last signed record cut short
    with pytest.raises(LogCorrupt, match="signed entries were lost"):
        open_log(tmp_path, key, clock)


def test_time_never_goes_backwards_in_the_log_even_if_the_clock_does(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append({"event": "boot"})
        clock.advance(minutes=-10)
        log.append({"event": "self_test"})
    first, second = entries_on_disk(tmp_path)
    assert second["time"] == first["time"]


def test_kiosk_and_station_come_from_the_log_and_must_agree(tmp_path, key, clock):
    with open_log(tmp_path, key, clock) as log:
        log.append({"event": "boot", "station_id": "PS-0001"})
        with pytest.raises(AuditError, match="station_id differs"):
            log.append({"event": "boot", "station_id": "PS-0002"})
    with AuditLog.open(tmp_path / "other", key, ORIGIN, clock=clock) as bare:
        with pytest.raises(AuditError, match="no kiosk_id"):
            bare.append({"event": "boot"})


def test_a_presiding_officer_can_co_sign_the_latest_checkpoint(tmp_path, key, clock):
    officer = Signer("presiding-officer-PS-0001", Ed25519PrivateKey.generate())
    with open_log(tmp_path, key, clock) as log:
        log.append({"event": "shutdown"})
        note = log.cosign(officer)
        report = verify_bundle(export_bundle(log, tmp_path / "b"))
    _, good = open_note(note, [log.verifier, officer.verifier])
    assert officer.verifier in good
    assert layout.parse_keys((tmp_path / layout.KEYS).read_bytes())[1] == [officer.verifier]
    assert report.ok, report.error
