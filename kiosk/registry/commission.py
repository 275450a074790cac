"""What the commission adds to a registry export, and what a kiosk checks before trusting one.

Signature: ``manifest.sig`` is a C2SP signed note (kiosk.audit.note, the format of the audit
checkpoints) whose text is::

    kh-voter-registry-export/1
    manifest sha256 <64 hex digits of manifest.json's bytes>

signed by the commission's Ed25519 registry key. The manifest hashes every file of the export
(voters.jsonl and every photo a row names), so one signature covers every byte a kiosk imports.
A kiosk trusts the verifier keys listed in ``<key_dir>/commission.vkeys`` (one C2SP verifier key per
line, provisioned with the kiosk) and refuses an export signed by anything else, or unsigned.

Pseudonyms (docs/threat-model.md): the commission alone holds the pseudonym master key. For each
election it derives ``election_key = HMAC-SHA256(master, "kh-voter-pseudonym/" + election)`` and
writes every voter's ``pseudonym = HMAC-SHA256(election_key, normalised ID number)`` into the
voter's row. The kiosk stores the pseudonym as data and never holds a key that computes one from an
ID number, so a stolen kiosk cannot map the ID numbers it does not already list to pseudonyms.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit.errors import NoteError
from kiosk.audit.events import pseudonym
from kiosk.audit.note import Signer, Verifier, open_note, sign_note

SIGNATURE = "manifest.sig"
TRUSTED_KEYS = "commission.vkeys"
_HEADER = "kh-voter-registry-export/1"
DEMO_ELECTION = "demo-election"


class ExportSignatureError(ValueError):
    """The export is unsigned, or not signed by a trusted commission key. ``code`` says which."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def signed_text(manifest_bytes: bytes) -> str:
    return f"{_HEADER}\nmanifest sha256 {hashlib.sha256(manifest_bytes).hexdigest()}\n"


def sign_manifest(manifest_bytes: bytes, signer: Signer) -> str:
    """The ``manifest.sig`` note for these exact manifest bytes."""
    return sign_note(signed_text(manifest_bytes), [signer])


def verify_manifest(manifest_bytes: bytes, note: str | None, trusted: Sequence[Verifier]) -> Verifier:
    """Return the trusted key that signed ``manifest_bytes``; raise :class:`ExportSignatureError` otherwise."""
    if not trusted:
        raise ExportSignatureError("no_trusted_key", "no commission key is trusted on this kiosk "
                                   f"(provision {TRUSTED_KEYS} in the key directory)")
    if note is None:
        raise ExportSignatureError("unsigned", f"the export has no {SIGNATURE}: unsigned exports are refused")
    try:
        parsed, good = open_note(note, list(trusted), strict=False)
    except NoteError as exc:
        raise ExportSignatureError("bad_signature", f"{SIGNATURE} does not verify: {exc}") from exc
    if not good:
        raise ExportSignatureError("untrusted_signer", f"{SIGNATURE} is not signed by a trusted commission key")
    if parsed.text != signed_text(manifest_bytes):
        raise ExportSignatureError("bad_signature", "the signature is for another manifest (manifest.json was "
                                   "changed after signing)")
    return good[0]


def trusted_keys(key_dir: str | os.PathLike) -> list[Verifier]:
    """The commission verifier keys a kiosk trusts (``<key_dir>/commission.vkeys``; empty if absent)."""
    path = Path(key_dir) / TRUSTED_KEYS
    if not path.exists():
        return []
    try:
        return [Verifier.parse(line.strip()) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    except NoteError as exc:
        raise ExportSignatureError("no_trusted_key", f"{path} is malformed: {exc}") from exc


def trust_key(key_dir: str | os.PathLike, verifier: Verifier) -> None:
    """Add ``verifier`` to the kiosk's trusted commission keys (provisioning; the demo does it too)."""
    path = Path(key_dir) / TRUSTED_KEYS
    if verifier in trusted_keys(key_dir):
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(verifier.vkey + "\n")


def election_key(master: bytes, election: str) -> bytes:
    """The per-election pseudonym key: pseudonyms of one election never link to another's."""
    if len(master) < 32:
        raise ValueError("the pseudonym master key must be at least 32 bytes")
    return hmac.new(master, f"kh-voter-pseudonym/{election}".encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class Commission:
    """The commission's registry office: signs exports and computes pseudonyms (server side only)."""

    signer: Signer
    pseudonym_master: bytes
    election: str = DEMO_ELECTION

    def pseudonym(self, id_number: str) -> str:
        return pseudonym(id_number, election_key(self.pseudonym_master, self.election))

    @classmethod
    def load(cls, directory: str | os.PathLike, *, election: str = DEMO_ELECTION,
             create: bool = False) -> "Commission":
        """Keys in ``directory`` (``registry-signing.pem``, ``pseudonym-master.key``), made if ``create``."""
        directory = Path(directory)
        pem, master = directory / "registry-signing.pem", directory / "pseudonym-master.key"
        if create and not pem.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(pem, Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            _write_private(master, base64.b64encode(secrets.token_bytes(32)) + b"\n")
        key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{pem} is not an Ed25519 key")
        return cls(Signer("commission-registry", key), base64.b64decode(master.read_bytes().strip()), election)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
