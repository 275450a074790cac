"""C2SP signed notes (https://c2sp.org/signed-note) and tlog checkpoints (https://c2sp.org/tlog-checkpoint).

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature::

    — <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>

For Ed25519 keys (algorithm byte 0x01) the key hash is the first 4 bytes of
``SHA-256(name || 0x0A || 0x01 || public key)``, and a verifier key is written
``<name>+<key hash as 8 hex digits>+<base64(0x01 || public key)>``.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n[extension lines]``
(the kiosk writes one extension line, see kiosk.audit.layout.checkpoint_extension).
Co-signatures (presiding officer, party agents) are further Ed25519 note signatures over the same
text by other keys; they are plain note signatures, not the timestamped C2SP tlog-cosignature type.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.audit.errors import NoteError

ED25519 = 0x01
DASH = "\u2014"  # the em dash that starts every signature line
MAX_SIGNATURES = 100
_NAME = re.compile(r"[^\s+\u2014]+")  # non-empty, no whitespace, no '+'
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def check_key_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NoteError("a key name must be non-empty and contain no spaces, '+' or dashes")
    return name


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key, as in a C2SP verifier key string."""
    name: str
    public_key: bytes  # 32 raw bytes

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return (f"{self.name}+{self.key_hash.hex()}+"
                f"{base64.b64encode(bytes([ED25519]) + self.public_key).decode('ascii')}")

    @classmethod
    def parse(cls, vkey: str) -> "Verifier":
        parts = vkey.split("+", 2)  # the base64 key itself may contain "+"
        if len(parts) != 3:
            raise NoteError("a verifier key has the form name+hash+base64key")
        name, hash_hex, key_b64 = parts
        check_key_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise NoteError(f"verifier key {name!r}: the key hash must be 8 lower-case hex digits")
        raw = _b64decode(key_b64, f"verifier key {name!r}")
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError(f"verifier key {name!r} is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_hash.hex() != hash_hex:
            raise NoteError(f"verifier key {name!r}: the key hash does not match the key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
            return True
        except InvalidSignature:
            return False


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key that signs notes."""
    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, _raw_public(self.private_key.public_key()))

    def signature_line(self, text: str) -> str:
        sig = self.private_key.sign(text.encode("utf-8"))
        blob = base64.b64encode(self.verifier.key_hash + sig).decode("ascii")
        return f"{DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class Signature:
    name: str
    key_hash: bytes
    signature: bytes
    line: str


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must not contain blank lines")
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def sign_note(text: str, signers: list[Signer]) -> str:
    _check_text(text)
    if not signers:
        raise NoteError("a signed note needs at least one signer")
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


def parse_note(note: str) -> Note:
    """Split a signed note into its text and signature lines (no signature is checked here)."""
    if not isinstance(note, str):
        raise NoteError("a note must be text")
    if not note.endswith("\n"):
        raise NoteError("signed note does not end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("signed note has no blank line before its signatures")
    text, block = note[:cut + 1], note[cut + 2:]
    _check_text(text)
    sigs = []
    for line in block.splitlines(keepends=True):
        if not line.startswith(DASH + " ") or not line.endswith("\n"):
            raise NoteError("malformed signature line (expected '— <name> <base64>')")
        parts = line[2:-1].split(" ")
        if len(parts) != 2:
            raise NoteError("malformed signature line (expected '— <name> <base64>')")
        name, blob = parts
        check_key_name(name)
        raw = _b64decode(blob, f"signature by {name!r}")
        if len(raw) != 4 + 64:
            raise NoteError(f"signature by {name!r} is not an Ed25519 note signature")
        sigs.append(Signature(name, raw[:4], raw[4:], line))
    if not sigs:
        raise NoteError("signed note has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError(f"signed note has more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(sigs))


def open_note(note: str, verifiers: list[Verifier], *, strict: bool = True) -> tuple[Note, list[Verifier]]:
    """Parse ``note`` and check its signatures; return it with the verifiers whose signatures hold.

    With ``strict`` (what a bundle verifier wants: the bundle must be self-consistent) every
    signature line must belong to a known key and verify; otherwise unknown keys are skipped as
    the note spec allows, but a known key with a bad signature is still an error.
    """
    parsed = parse_note(note)
    by_id = {(v.name, v.key_hash): v for v in verifiers}
    good: list[Verifier] = []
    for sig in parsed.signatures:
        verifier = by_id.get((sig.name, sig.key_hash))
        if verifier is None:
            if strict and any(v.name == sig.name for v in verifiers):
                raise NoteError(f"signature by a key named {sig.name!r} that is not the known key of that "
                                "name (another key, or a damaged key hash)")
            if strict:
                raise NoteError(f"signature by unknown key {sig.name!r}")
            continue
        if not verifier.verify(parsed.text.encode("utf-8"), sig.signature):
            raise NoteError(f"signature by {sig.name!r} does not verify")
        if verifier in good:
            raise NoteError(f"key {sig.name!r} signed the note twice")
        good.append(verifier)
    return parsed, good


def add_signature(note: str, signer: Signer, verifiers: list[Verifier] = ()) -> str:
    """Co-sign an existing note: check what is there, then append one more signature line."""
    parsed = parse_note(note)
    if verifiers:
        open_note(note, list(verifiers), strict=False)
    if any(s.name == signer.name and s.key_hash == signer.verifier.key_hash for s in parsed.signatures):
        raise NoteError(f"key {signer.name!r} has already signed this note")
    return note + signer.signature_line(parsed.text)


@dataclass(frozen=True)
class Checkpoint:
    """The signed statement "the log named ``origin`` has ``size`` entries with this root hash"."""
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii"),
                 *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin.strip() or origin != origin.strip():
            raise NoteError("checkpoint origin line is empty or padded")
        if not _SIZE.fullmatch(size):
            raise NoteError("checkpoint tree size is not a decimal number without leading zeros")
        root_hash = _b64decode(root, "checkpoint root hash")
        if len(root_hash) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(origin, int(size), root_hash, tuple(lines[3:]))
