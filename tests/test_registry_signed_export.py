"""Signed registry distribution: a kiosk imports only exports its commission signed, byte for byte."""
from __future__ import annotations

import base64
import hashlib
import json

import cv2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.note import Signer
from kiosk.registry import ImportRejected, Registry
from kiosk.registry.commission import Commission, trust_key
from kiosk.registry.demo import PACKAGED
from kiosk.registry.importer import import_export, write_export

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def templates():
    from matcher import face, fingerprint

    finger = fingerprint.extract(cv2.imread(str(PACKAGED / "finger1_1.png"), cv2.IMREAD_GRAYSCALE), dpi=500)
    photo = cv2.cvtColor(cv2.imread(str(PACKAGED / "face1_enrol.jpg")), cv2.COLOR_BGR2RGB)
    return {"iso": base64.b64encode(finger.to_iso()).decode(),
            "face": base64.b64encode(face.encode(photo).to_bytes()).decode()}


@pytest.fixture(scope="module")
def commission(tmp_path_factory):
    return Commission.load(tmp_path_factory.mktemp("commission"), create=True)


@pytest.fixture
def registry(tmp_path):
    return Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", KEY)


def _row(templates, commission, id_number="123456789", check="7", **over):
    row = {"id_number": id_number, "id_check": check, "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
           "station_id": "PS-0001", "fingers": {"right_index": templates["iso"]},
           "face": {"encoding": templates["face"]}, "pseudonym": commission.pseudonym(id_number)}
    row.update(over)
    return row


def _refused(registry, export, keys) -> str:
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export, commission_keys=keys)
    assert registry.count_voters() == 0
    return rejected.value.report.problems[0].code


def test_a_signed_export_is_imported_with_the_commission_pseudonyms(registry, templates, commission, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates, commission)], signer=commission.signer)
    report = import_export(registry, export, commission_keys=[commission.signer.verifier])
    assert report.imported and registry.count_voters() == 1
    assert registry.pseudonym_of("123456789") == commission.pseudonym("123456789")


def test_an_unsigned_export_is_refused(registry, templates, commission, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates, commission)])
    assert _refused(registry, export, [commission.signer.verifier]) == "unsigned"


def test_an_edited_export_with_recomputed_hashes_is_refused(registry, templates, commission, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates, commission)], signer=commission.signer)
    body = (export / "voters.jsonl").read_bytes().replace(b"SOK DARA", b"SAK DARA")
    (export / "voters.jsonl").write_bytes(body)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"]["voters.jsonl"]["sha256"] = hashlib.sha256(body).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert _refused(registry, export, [commission.signer.verifier]) == "bad_signature"


def test_an_export_signed_by_another_key_is_refused(registry, templates, commission, tmp_path):
    forger = Signer("commission-registry", Ed25519PrivateKey.generate())
    export = write_export(tmp_path / "x", [_row(templates, commission)], signer=forger)
    assert _refused(registry, export, [commission.signer.verifier]) == "untrusted_signer"


def test_a_kiosk_that_trusts_no_commission_key_imports_nothing(registry, templates, commission, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates, commission)], signer=commission.signer)
    assert _refused(registry, export, []) == "no_trusted_key"


def test_a_photo_the_manifest_does_not_hash_is_a_bad_row(registry, templates, commission, tmp_path):
    export = write_export(tmp_path / "x", [_row(templates, commission, face={"photo": "photos/extra.jpg"})],
                          signer=commission.signer)
    (export / "photos" / "extra.jpg").write_bytes((PACKAGED / "face1_enrol.jpg").read_bytes())
    assert _refused(registry, export, [commission.signer.verifier]) == "face_unusable"


def test_kiosk_import_command_refuses_a_tampered_export(templates, commission, tmp_path, capsys, monkeypatch):
    from kiosk.cli import main

    key_dir = tmp_path / "kiosk" / "keys"
    trust_key(key_dir, commission.signer.verifier)
    Registry.open(type("S", (), {"key_dir": key_dir, "effective_database_url":
                                 f"sqlite:///{tmp_path / 'kiosk' / 'registry.sqlite3'}"}), create_keys=True).close()
    export = write_export(tmp_path / "x", [_row(templates, commission)], signer=commission.signer)
    (export / "manifest.json").write_bytes((export / "manifest.json").read_bytes().replace(b'"voters": 1', b'"voters": 2'))
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "kiosk"))
    monkeypatch.setenv("KIOSK_KEY_DIR", str(key_dir))
    code = main(["import", str(export), "--no-dedup"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["imported"] is False and out["problems"][0]["code"] == "bad_signature"
