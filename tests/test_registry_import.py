"""Importing a commission export: all or nothing, with a report naming every bad row."""
from __future__ import annotations

import base64
import json

import cv2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.registry import ImportRejected, Registry
from kiosk.registry.demo import PACKAGED
from kiosk.audit.note import Signer
from kiosk.registry.importer import import_export as _import_export
from kiosk.registry.importer import write_export as _write_export

KEY = bytes(range(32))
COMMISSION = Signer("commission-registry", Ed25519PrivateKey.generate())


def write_export(export_dir, rows, photos=None):
    return _write_export(export_dir, rows, photos, signer=COMMISSION)


def import_export(registry, export, **options):
    return _import_export(registry, export, commission_keys=[COMMISSION.verifier], **options)


@pytest.fixture(scope="module")
def templates():
    """Real templates extracted from the packaged sample images."""
    from matcher import face, fingerprint

    finger = fingerprint.extract(cv2.imread(str(PACKAGED / "finger1_1.png"), cv2.IMREAD_GRAYSCALE), dpi=500)
    photo = cv2.cvtColor(cv2.imread(str(PACKAGED / "face1_enrol.jpg")), cv2.COLOR_BGR2RGB)
    return {"iso": base64.b64encode(finger.to_iso()).decode(),
            "face": base64.b64encode(face.encode(photo).to_bytes()).decode()}


@pytest.fixture
def registry(tmp_path):
    return Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", KEY)


def _row(templates, id_number="123456789", check="7", **over):
    row = {"id_number": id_number, "id_check": check, "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001", "fingers": {"right_index": templates["iso"]},
           "face": {"encoding": templates["face"]}}
    row.update(over)
    return row


def test_good_export_is_imported_with_templates_readable(registry, templates, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates), _row(templates, "234567891", "1")])
    report = import_export(registry, export)
    assert report.imported and report.accepted == 2
    voter = registry.find_voter("123456789")
    enrolment = registry.enrolment(voter.voter_id)
    assert set(enrolment.fingers) == {"right_index"} and enrolment.face is not None


def test_bad_rows_reject_the_whole_import_and_are_reported(registry, templates, tmp_path):
    rows = [_row(templates),
            _row(templates, "234567891", "3"),                                  # wrong check digit
            _row(templates, "123456789", "7"),                                  # duplicate ID
            _row(templates, "345678912", "7", fingers={"right_index": base64.b64encode(b"FMR\x00junk").decode()})]
    export = write_export(tmp_path / "x", rows)
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export)
    codes = {p.line: p.code for p in rejected.value.report.problems}
    assert codes == {2: "id_check_digit", 3: "duplicate_id", 4: "template_unreadable"}
    assert registry.count_voters() == 0
    assert "123456789" not in json.dumps(rejected.value.report.as_dict())


def test_skip_bad_rows_imports_only_the_good_ones(registry, templates, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates), _row(templates, "234567891", "3")])
    report = import_export(registry, export, skip_bad_rows=True)
    assert (report.accepted, report.rejected, registry.count_voters()) == (1, 1, 1)


def test_tampered_export_is_refused_before_reading_rows(registry, templates, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates)])
    (export / "voters.jsonl").write_text((export / "voters.jsonl").read_text().replace("SOK", "SAK"))
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export)
    assert rejected.value.report.problems[0].code == "hash_mismatch"
    assert registry.count_voters() == 0


def test_photo_without_a_face_is_a_bad_row(registry, templates, tmp_path):
    blank = cv2.imencode(".jpg", 200 * __import__("numpy").ones((480, 640, 3), "uint8"))[1].tobytes()
    export = write_export(tmp_path / "x", [_row(templates, face={"photo": "photos/blank.jpg"})],
                          photos={"photos/blank.jpg": blank})
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export)
    assert rejected.value.report.problems[0].code == "face_unusable"
