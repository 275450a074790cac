"""Pseudonym keying (docs/threat-model.md): comparable across kiosks, irreversible from a stolen kiosk.

The commission computes per-election pseudonyms and ships them in the signed export; a kiosk logs the
value it was given. The property tested: everything on a kiosk's disk (registry, audit log, every key
file) does not map an enumerated ID number that the kiosk does not list to that voter's pseudonym,
although the same enumeration with the commission's key finds it at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import cv2
import pytest

from kiosk import keys
from kiosk.audit import AuditLog, layout, records
from kiosk.config import load
from kiosk.events import EventRecorder
from kiosk.pseudonyms import PseudonymSource
from kiosk.registry import Registry
from kiosk.registry.commission import Commission, election_key, trust_key, trusted_keys
from kiosk.registry.demo import PACKAGED
from kiosk.registry.importer import import_export, write_export

HERE, ELSEWHERE = "123456789", "234567891"   # check digits 7 and 1
ENUMERATED = range(234_566_891, 234_568_891)  # 2,000 nine-digit numbers around the other station's voter


@pytest.fixture(scope="module")
def row_template():
    from matcher import face, fingerprint

    finger = fingerprint.extract(cv2.imread(str(PACKAGED / "finger1_1.png"), cv2.IMREAD_GRAYSCALE), dpi=500)
    photo = cv2.cvtColor(cv2.imread(str(PACKAGED / "face1_enrol.jpg")), cv2.COLOR_BGR2RGB)
    return {"name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M",
            "fingers": {"right_index": base64.b64encode(finger.to_iso()).decode()},
            "face": {"encoding": base64.b64encode(face.encode(photo).to_bytes()).decode()}}


@pytest.fixture(scope="module")
def commission(tmp_path_factory):
    return Commission.load(tmp_path_factory.mktemp("commission-office"), election="2026-general", create=True)


def _kiosk(root: Path, commission: Commission, row_template: dict, station: str, id_number: str, check: str):
    """A kiosk provisioned like a real one: its own keys, its station's signed export, one logged vote."""
    settings = load(environ={}, overrides={"data_dir": str(root), "key_dir": str(root / "keys"),
                                           "kiosk_id": "kiosk-01", "station_id": station})
    trust_key(settings.key_dir, commission.signer.verifier)
    signing = keys.signing_key(settings.key_dir, create=True, environ={})
    registry = Registry.open(settings, create_keys=True)
    row = {**row_template, "id_number": id_number, "id_check": check, "station_id": station,
           "pseudonym": commission.pseudonym(id_number)}
    export = write_export(root.parent / f"export-{station}", [row], signer=commission.signer)
    import_export(registry, export, commission_keys=trusted_keys(settings.key_dir))
    log = AuditLog.open(root / "audit", signing, f"kiosk-audit/{station}/kiosk-01", kiosk_id="kiosk-01",
                        station_id=station)
    recorder = EventRecorder(log, PseudonymSource(registry.pseudonym_of))
    recorder.record("vote_marked", official_id="po-1", voter=recorder.pseudonym(id_number))
    recorder.close()
    registry.close()
    return root


def _logged_voters(root: Path) -> set[str]:
    data = (root / "audit" / layout.ENTRIES_LOG).read_bytes()
    return {json.loads(e)["voter"] for e in records.scan(data).entries if "voter" in json.loads(e)}


def _every_secret_on(root: Path) -> list[bytes]:
    """Every byte string on the kiosk's disk that could serve as a key: each whole file, each base64
    key file decoded, the raw Ed25519 private key."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.append(data)
            try:
                found.append(base64.b64decode(data.strip(), validate=True))
            except ValueError:
                pass
    signing = keys.signing_key(root / "keys", environ={})
    from cryptography.hazmat.primitives import serialization
    found.append(signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption()))
    return found


def test_two_kiosks_log_the_same_voter_under_the_same_pseudonym(tmp_path, commission, row_template):
    a = _kiosk(tmp_path / "a" / "kiosk", commission, row_template, "PS-0001", HERE, "7")
    b = _kiosk(tmp_path / "b" / "kiosk", commission, row_template, "PS-0002", HERE, "7")
    assert _logged_voters(a) == _logged_voters(b) == {commission.pseudonym(HERE)}


def test_a_stolen_kiosk_does_not_turn_enumerated_id_numbers_into_pseudonyms(tmp_path, commission, row_template):
    stolen = _kiosk(tmp_path / "a" / "kiosk", commission, row_template, "PS-0001", HERE, "7")
    target = commission.pseudonym(ELSEWHERE)   # seen in another station's log (or the commission's pages)
    assert keys.SYMMETRIC == {"registry"} and not list(stolen.rglob("pseudonym*"))
    secrets_found = _every_secret_on(stolen)
    assert not any(target.encode() in s for s in secrets_found)  # no table holds it either
    candidates = [str(n) for n in ENUMERATED]
    for key in secrets_found:
        derived = [key, election_key(key, commission.election)] if len(key) >= 32 else [key]
        for k in derived:
            assert not any(hmac.new(k, n.encode(), hashlib.sha256).hexdigest() == target for n in candidates)
    # the control: the same enumeration with the commission's key finds the voter at once
    assert [n for n in candidates if commission.pseudonym(n) == target] == [ELSEWHERE]


def test_an_id_without_a_commission_pseudonym_is_unlinkable_across_runs():
    first, second = PseudonymSource(lambda n: None), PseudonymSource(lambda n: None)
    assert first(ELSEWHERE) == first(f" {ELSEWHERE} ") != second(ELSEWHERE)
