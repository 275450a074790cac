"""Key material kept outside the database: files in ``key_dir`` (0600) or environment variables.

| name        | what                                             | env override (base64 / PEM) |
|-------------|--------------------------------------------------|-----------------------------|
| registry    | 32-byte AES-256-GCM key for templates at rest     | KIOSK_KEY_REGISTRY          |
| signing     | Ed25519 private key signing audit checkpoints     | KIOSK_KEY_SIGNING (PEM)     |

Public keys the kiosk trusts sit beside them: ``commission.vkeys`` (the commission's registry-export
keys, see kiosk.registry.commission). There is deliberately no pseudonym key: voter pseudonyms come
from the commission inside the signed export, so nothing on a stolen kiosk turns an ID number into a
pseudonym (docs/threat-model.md).

``create=True`` makes a missing key (the demo and tests); a deployment provisions keys and runs
with ``create=False`` so a missing key is an error rather than a silently new identity.
"""
from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path
from typing import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KeyError_(LookupError):
    """A key is missing or malformed."""


SYMMETRIC = {"registry"}


def _path(key_dir: Path, name: str) -> Path:
    return Path(key_dir) / (f"{name}.key" if name in SYMMETRIC else f"{name}.pem")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_private(path: Path) -> bytes:
    """A key file's bytes, refusing one that the group or others may read or write: a key that has
    been readable by anyone on the machine must be treated as disclosed, not silently used."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise KeyError_(f"key file {path} has mode {mode:04o}: others may read it; a key file must be 0600 "
                        f"(chmod 600 {path}, and replace the key if anyone else may have read it)")
    return Path(path).read_bytes()


def symmetric_key(key_dir: Path, name: str, *, create: bool = False,
                  environ: Mapping[str, str] | None = None) -> bytes:
    """A 32-byte secret key (``registry``)."""
    if name not in SYMMETRIC:
        raise ValueError(f"unknown symmetric key {name!r}")
    environ = os.environ if environ is None else environ
    env = environ.get(f"KIOSK_KEY_{name.upper()}")
    if env:
        try:
            key = base64.b64decode(env, validate=True)
        except ValueError as exc:
            raise KeyError_(f"KIOSK_KEY_{name.upper()} is not base64") from exc
    else:
        path = _path(key_dir, name)
        if not path.exists():
            if not create:
                raise KeyError_(f"{name} key not found at {path}")
            _write_private(path, base64.b64encode(secrets.token_bytes(32)) + b"\n")
        try:
            key = base64.b64decode(read_private(path).strip(), validate=True)
        except ValueError as exc:
            raise KeyError_(f"{name} key file {path} is not base64") from exc
    if len(key) != 32:
        raise KeyError_(f"{name} key must be 32 bytes, got {len(key)}")
    return key


def signing_key(key_dir: Path, name: str = "signing", *, create: bool = False,
                environ: Mapping[str, str] | None = None) -> Ed25519PrivateKey:
    """An Ed25519 private key (PEM, PKCS#8, unencrypted file readable only by the kiosk user)."""
    environ = os.environ if environ is None else environ
    env = environ.get(f"KIOSK_KEY_{name.upper()}")
    if env:
        pem = env.encode()
    else:
        path = _path(key_dir, name)
        if not path.exists():
            if not create:
                raise KeyError_(f"{name} key not found at {path}")
            key = Ed25519PrivateKey.generate()
            _write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        pem = read_private(path)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise KeyError_(f"{name} key is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyError_(f"{name} key is not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
