"""Exported bundles verify offline, and any tampering is rejected with a message naming what failed."""
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import AuditLog, cosign_bundle, export_bundle, pseudonym, verify_bundle
from kiosk.audit import canonical, layout
from kiosk.audit.bundle import Bundle, read_bundle, write_bundle
from kiosk.audit.errors import BundleInvalid
from kiosk.audit.merkle import MerkleTree, leaf_hash
from kiosk.audit.note import Checkpoint, Signer, sign_note
from kiosk.audit.prove import inclusion_proof_document, verify_proof_document

ORIGIN = "kiosk-audit/PS-0001/kiosk-01"
PSEUDONYM_KEY = bytes(range(32))
AREAS = ("entries.jsonl", "checkpoint", "keys.txt", "bundle", "unexpected file", "end-of-day summary")


def a_polling_day(log):
    log.append({"event": "boot", "official_id": None})
    log.append({"event": "sign_in", "official_id": "po-1"})
    voter = pseudonym("012345678", PSEUDONYM_KEY)
    log.append({"event": "match", "official_id": "po-1", "voter": voter, "outcome": "accepted",
                "score_band": "40-50"})
    log.append({"event": "vote_marked", "official_id": "po-1", "voter": voter})
    log.append({"event": "fallback", "official_id": "po-2", "reason": "fingers_unusable"})
    log.append({"event": "override", "official_id": "po-2", "reason": "supervisor_present"})
    log.append({"event": "vote_marked", "official_id": "po-2"})
    log.append({"event": "refusal", "official_id": "po-1", "reason": "already_voted"})


@pytest.fixture(scope="module")
def log_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, log_key):
    """A small real bundle (directory and single file) from a log with checkpoints and a co-signature."""
    root = tmp_path_factory.mktemp("audit")
    with AuditLog.open(root / "log", log_key, ORIGIN, kiosk_id="kiosk-01", station_id="PS-0001",
                       checkpoint_every=3) as log:
        a_polling_day(log)
        summary = {"votes_marked": 2, "fallbacks": 1, "refused": 1, "overrides": 1, "registered": 7}
        export_bundle(log, root / "bundle", official_id="po-1", summary=summary)
    cosign_bundle(root / "bundle", Signer("party-agent-A", Ed25519PrivateKey.generate()))
    write_bundle(read_bundle(root / "bundle"), root / "bundle.kab")
    return root


@pytest.fixture
def bundle_dir(exported, tmp_path):
    return shutil.copytree(exported / "bundle", tmp_path / "bundle")


def rejected(path, *needles):
    report = verify_bundle(path)
    assert not report.ok, "tampered bundle verified"
    assert report.error and any(area in report.error for area in AREAS), report.error
    for needle in needles:
        assert needle in report.error, report.error
    return report.error


def test_an_untouched_bundle_verifies_in_both_forms(exported):
    for path in (exported / "bundle", exported / "bundle.kab"):
        report = verify_bundle(path)
        assert report.ok, report.error
        assert report.entries == 9 and report.cosigned_by == ["party-agent-A"]


def test_the_report_counts_per_station_and_per_official_and_reconciles_the_summary(exported):
    report = verify_bundle(exported / "bundle")
    assert report.stations == {"PS-0001": {"votes_marked": 2, "fallbacks": 1, "overrides": 1, "refusals": 1}}
    assert report.officials["po-1"] == {"votes_marked": 1, "refusals": 1}
    assert report.officials["po-2"] == {"votes_marked": 1, "fallbacks": 1, "overrides": 1}
    assert report.reconciled == ["station PS-0001 summary at seq 8: fallbacks=1, overrides=1, refusals=1, "
                                 "votes_marked=2"]
    assert "VALID" in report.render() and "po-2" in report.render()


@pytest.mark.slow
def test_flipping_any_single_byte_of_a_bundle_directory_is_rejected(bundle_dir):
    files = [bundle_dir / layout.ENTRIES_BUNDLE, bundle_dir / layout.KEYS,
             *sorted((bundle_dir / layout.CHECKPOINTS).iterdir())]
    tried = 0
    for path in files:
        original = path.read_bytes()
        for position in range(len(original)):
            tampered = bytearray(original)
            tampered[position] ^= 1 << (position % 8)  # every bit position gets its turn
            path.write_bytes(bytes(tampered))
            rejected(bundle_dir)
            tried += 1
        path.write_bytes(original)
    assert verify_bundle(bundle_dir).ok
    assert tried > 2000


@pytest.mark.slow
def test_flipping_any_single_byte_of_a_bundle_file_is_rejected(exported, tmp_path):
    original = (exported / "bundle.kab").read_bytes()
    target = tmp_path / "b.kab"
    for position in range(len(original)):
        tampered = bytearray(original)
        tampered[position] ^= 0x80 >> (position % 8)
        target.write_bytes(bytes(tampered))
        rejected(target)


def _lines(bundle_dir):
    return (bundle_dir / layout.ENTRIES_BUNDLE).read_bytes().splitlines(keepends=True)


def test_dropping_an_entry_is_rejected(bundle_dir):
    lines = _lines(bundle_dir)
    (bundle_dir / layout.ENTRIES_BUNDLE).write_bytes(b"".join(lines[:4] + lines[5:]))
    rejected(bundle_dir, "entries.jsonl line 5 (seq 4)", "missing, repeated or out of order")


def test_dropping_the_last_entry_is_rejected(bundle_dir):
    (bundle_dir / layout.ENTRIES_BUNDLE).write_bytes(b"".join(_lines(bundle_dir)[:-1]))
    rejected(bundle_dir, "signs 9 entries but the bundle has only 8")


def test_reordering_entries_is_rejected(bundle_dir):
    lines = _lines(bundle_dir)
    lines[2], lines[3] = lines[3], lines[2]
    (bundle_dir / layout.ENTRIES_BUNDLE).write_bytes(b"".join(lines))
    rejected(bundle_dir, "seq 2", "out of order")


def test_swapping_two_checkpoints_is_rejected(bundle_dir):
    folder = bundle_dir / layout.CHECKPOINTS
    a, b = folder / "000001.note", folder / "000002.note"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    rejected(bundle_dir, "checkpoint 000001.note", "signed as checkpoint 2", "swapped")


def test_dropping_a_middle_checkpoint_and_renumbering_the_rest_is_rejected(bundle_dir):
    folder = bundle_dir / layout.CHECKPOINTS
    notes = sorted(folder.iterdir())
    for earlier, later in zip(notes[1:], notes[2:]):
        earlier.write_bytes(later.read_bytes())
    notes[-1].unlink()
    rejected(bundle_dir, "checkpoint 000001.note", "signed as checkpoint 2")


def test_replacing_a_checkpoint_with_a_copy_of_another_is_rejected(bundle_dir):
    folder = bundle_dir / layout.CHECKPOINTS
    (folder / "000002.note").write_bytes((folder / "000001.note").read_bytes())
    rejected(bundle_dir, "checkpoint 000002.note", "signed as checkpoint 1")


def test_removing_a_middle_checkpoint_is_rejected(bundle_dir):
    (bundle_dir / layout.CHECKPOINTS / "000001.note").unlink()
    rejected(bundle_dir, "not numbered")


def test_removing_the_last_checkpoint_leaves_unsigned_entries_and_is_rejected(bundle_dir):
    notes = sorted((bundle_dir / layout.CHECKPOINTS).iterdir())
    notes[-1].unlink()
    rejected(bundle_dir, "not covered by any signed checkpoint")


def test_a_checkpoint_from_another_kiosk_is_rejected(bundle_dir):
    intruder = Signer(ORIGIN, Ed25519PrivateKey.generate())
    entries = (bundle_dir / layout.ENTRIES_BUNDLE).read_bytes().splitlines()
    tree = MerkleTree([leaf_hash(e) for e in entries])
    extension = layout.checkpoint_extension(1, "2026-05-03T07:00:00.000000Z")
    forged = sign_note(Checkpoint(ORIGIN, 3, tree.root(3), (extension,)).text(), [intruder])
    (bundle_dir / layout.CHECKPOINTS / "000001.note").write_text(forged, encoding="utf-8")
    rejected(bundle_dir, "checkpoint 000001.note", "not the known key of that name")


def test_an_extra_file_in_the_bundle_is_rejected(bundle_dir):
    (bundle_dir / "notes.txt").write_text("hello")
    rejected(bundle_dir, "unexpected file in bundle: notes.txt")


def test_a_bundle_signed_by_an_untrusted_key_is_rejected_when_keys_are_pinned(exported, log_key):
    good = Signer(ORIGIN, log_key).verifier.vkey
    assert verify_bundle(exported / "bundle", trusted_keys=[good]).ok
    other = Signer(ORIGIN, Ed25519PrivateKey.generate()).verifier.vkey
    report = verify_bundle(exported / "bundle", trusted_keys=[other])
    assert not report.ok and "not one of the trusted keys" in report.error


def forge(path, values, key, sizes=None):
    """A bundle correctly signed over arbitrary entries: what a buggy or dishonest kiosk could export."""
    lines = [canonical.encode(v) for v in values]
    tree = MerkleTree([leaf_hash(line) for line in lines])
    signer = Signer(ORIGIN, key)
    last = values[-1]["time"] if values else "2026-05-03T07:00:00.000000Z"
    notes = [sign_note(Checkpoint(ORIGIN, s, tree.root(s), (layout.checkpoint_extension(i, last),)).text(),
                       [signer]).encode()
             for i, s in enumerate(sizes or [len(lines)])]
    write_bundle(Bundle(b"".join(line + b"\n" for line in lines), notes, layout.format_keys(signer.verifier, [])),
                 path)
    return path


def entry(seq, event, time="2026-05-03T07:00:00.000000Z", **fields):
    return {"seq": seq, "event": event, "time": time, "kiosk_id": "kiosk-01", "station_id": "PS-0001", **fields}


def test_a_signed_entry_holding_an_id_number_is_rejected(tmp_path, log_key):
    path = forge(tmp_path / "b", [entry(0, "card_read", reason="card 123456789")], log_key)
    error = rejected(path, "seq 0", "ID number")
    assert "123456789" not in error


def test_a_checkpoint_dated_before_the_entries_it_signs_is_rejected(tmp_path, log_key):
    signer = Signer(ORIGIN, log_key)
    line = canonical.encode(entry(0, "boot", "2026-05-03T08:00:00.000000Z"))
    text = Checkpoint(ORIGIN, 1, MerkleTree([leaf_hash(line)]).root(),
                      (layout.checkpoint_extension(0, "2026-05-03T07:00:00.000000Z"),)).text()
    write_bundle(Bundle(line + b"\n", [sign_note(text, [signer]).encode()], layout.format_keys(signer.verifier, [])),
                 tmp_path / "b")
    rejected(tmp_path / "b", "checkpoint 000000.note", "dated before the last entry it signs")


def test_time_going_backwards_is_rejected(tmp_path, log_key):
    path = forge(tmp_path / "b", [entry(0, "boot", "2026-05-03T08:00:00.000000Z"),
                                  entry(1, "shutdown", "2026-05-03T07:59:59.000000Z")], log_key)
    rejected(path, "seq 1", "time goes backwards")


def test_a_gap_in_sequence_numbers_is_rejected_even_when_signed(tmp_path, log_key):
    path = forge(tmp_path / "b", [entry(0, "boot"), entry(2, "shutdown")], log_key)
    rejected(path, "sequence number is 2, expected 1")


def test_counts_that_disagree_with_the_end_of_day_summary_are_rejected(tmp_path, log_key):
    path = forge(tmp_path / "b", [entry(0, "vote_marked", official_id="po-1"),
                                  entry(1, "shutdown", summary={"votes_marked": 2})], log_key)
    rejected(path, "votes_marked=2", "the log has 1")


def test_an_empty_log_with_a_signed_empty_checkpoint_verifies(tmp_path, log_key):
    assert verify_bundle(forge(tmp_path / "b", [], log_key, sizes=[0])).ok


def test_an_inclusion_proof_from_a_bundle_verifies_and_a_tampered_one_does_not(exported):
    document = inclusion_proof_document(exported / "bundle", 3)
    assert verify_proof_document(document)["event"] == "vote_marked"
    forged = dict(document, entry=document["entry"].replace("vote_marked", "fallback"))
    with pytest.raises(Exception, match="inclusion proof|sequence"):
        verify_proof_document(forged)


def test_co_signing_refuses_a_bundle_that_does_not_verify(bundle_dir):
    (bundle_dir / layout.ENTRIES_BUNDLE).write_bytes(b"".join(_lines(bundle_dir)[:-1]))
    with pytest.raises(BundleInvalid, match="refusing to co-sign"):
        cosign_bundle(bundle_dir, Signer("party-agent-B", Ed25519PrivateKey.generate()))


def test_exporting_a_log_directory_read_only_copies_what_is_on_disk(exported, tmp_path):
    out = export_bundle(exported / "log", tmp_path / "copy")
    assert verify_bundle(out).ok


def test_a_stray_file_among_the_checkpoints_is_rejected(bundle_dir):
    (bundle_dir / layout.CHECKPOINTS / "000009.note.tmp").write_text("x")
    rejected(bundle_dir, "unexpected file in bundle: checkpoints/000009.note.tmp")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_reading_arbitrary_bytes_as_a_bundle_file_fails_only_with_bundle_invalid(data):
    with pytest.raises(BundleInvalid):
        Bundle.from_file_bytes(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["entries.jsonl", "keys.txt", "checkpoints/000000.note"]),
                          st.binary(max_size=40)), max_size=4))
def test_well_framed_bundle_files_parse_back_or_fail_with_bundle_invalid(files):
    data = b"kiosk-audit-bundle 1\n" + b"".join(b"file %s %d\n%s\n" % (n.encode(), len(d), d) for n, d in files) \
        + b"end\n"
    try:
        bundle = Bundle.from_file_bytes(data)
    except BundleInvalid:
        return
    assert bundle.to_file_bytes() == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parsing_arbitrary_bytes_as_keys_fails_only_with_note_error(data):
    from kiosk.audit.errors import NoteError
    with pytest.raises(NoteError):
        layout.parse_keys(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_edits_to_a_bundle_file_are_rejected_and_never_crash_the_verifier(exported, data):
    original = (exported / "bundle.kab").read_bytes()
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 8)))
    replacement = data.draw(st.binary(max_size=8))
    tampered = original[:start] + replacement + original[end:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.kab"
        path.write_bytes(tampered)
        report = verify_bundle(path)  # returns a report: no exception may escape
    assert report.ok == (tampered == original), report.error
