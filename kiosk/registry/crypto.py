"""Templates at rest: AES-256-GCM with the record's identity as associated data.

Binding the ciphertext to ``(kind, voter_id, slot)`` means a blob copied onto another voter's row,
or from a fingerprint slot into the face slot, fails to decrypt instead of silently matching the
wrong person. The key lives outside the database (``kiosk.keys``).
"""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.registry.errors import RegistryError

_VERSION = b"\x01"
_NONCE = 12


class DecryptionError(RegistryError):
    code = "template_decryption_failed"


def associated_data(kind: str, voter_id: str, slot: str) -> bytes:
    return f"kiosk-registry/v1|{kind}|{voter_id}|{slot}".encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise DecryptionError("stored template is not a sealed v1 blob")
    try:
        return AESGCM(key).decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], aad)
    except InvalidTag as exc:
        raise DecryptionError("stored template failed authentication (wrong key, or moved between records)") from exc
