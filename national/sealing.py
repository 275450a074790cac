"""Shard files at rest: AES-256-GCM, the same construction as the kiosk registry's templates.

Every array of a persisted shard is sealed as ``version (1) | nonce (12) | ciphertext + tag``, with the
shard's identity as associated data (``national-shard/v2 | generation | shard name | array name | record count``):
a file copied from another shard, another enrolment generation or another array fails to open instead
of being read as if it belonged here. The 32-byte key is passed in by whoever holds it (the commission's
key store, the bench's key file, an environment variable); it is never written beside the shards, so a
copy of the shard directory holds no template in clear.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_VERSION = b"\x02"
_NONCE = 12
_TAG = 16


class SealingError(ValueError):
    """A shard file that cannot be opened with this key (wrong key, tampered, or moved), or a bad key."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def checked_key(key: bytes) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise SealingError(f"a national shard key is {KEY_BYTES} bytes (AES-256), got "
                           f"{len(key) if isinstance(key, (bytes, bytearray)) else type(key).__name__}")
    return bytes(key)


def associated_data(generation: str, shard: str, array: str, count: int) -> bytes:
    return f"national-shard/v2|{generation}|{shard}|{array}|{count}".encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(checked_key(key)).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes, where: str = "shard file") -> bytes:
    if len(blob) < 1 + _NONCE + _TAG or blob[:1] != _VERSION:
        raise SealingError(f"{where} is not a sealed v2 national shard file")
    try:
        return AESGCM(checked_key(key)).decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], aad)
    except InvalidTag as exc:
        raise SealingError(f"{where} failed authentication: wrong shard key, or the file was altered or "
                           f"moved from another shard") from exc


def key_from_file(path: str | os.PathLike, *, create: bool = False) -> bytes:
    """A key kept in its own file (0600), away from the shard directory; ``create`` makes a missing one."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise SealingError(f"no national shard key at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64encode(new_key()) + b"\n")
    try:
        return checked_key(base64.b64decode(path.read_bytes().strip(), validate=True))
    except (ValueError, TypeError) as exc:
        raise SealingError(f"{path} does not hold a base64 {KEY_BYTES}-byte key") from exc


def key_from_env(value: str) -> bytes:
    try:
        return checked_key(base64.b64decode(value.strip(), validate=True))
    except (ValueError, TypeError) as exc:
        raise SealingError(f"the national shard key must be base64 of {KEY_BYTES} bytes") from exc
