"""Verifying one kiosk push: pure functions, no storage, no clock (a Certificate Transparency monitor).

Wire format (``POST /api/push``, body JSON, header ``X-Kiosk-Signature: base64(Ed25519(body))``)::

    {"version": 1,
     "kiosk": "<C2SP verifier key of the kiosk's audit log>",
     "from": m,                        # seq of the first entry in this push
     "entries": ["<canonical JSON entry>", ...],          # seq m .. n-1
     "checkpoint": "<signed checkpoint note of size n>",
     "proof_from": a,                  # the size the server last accepted (the kiosk's belief)
     "consistency": ["<base64 hash>", ...]}               # RFC 9162 PROOF(a, n)

The server accepts a push only if, in this order: the kiosk key is enrolled; the body signature and
the checkpoint signature verify under it; the push starts where the server's copy ends; the batch
holds exactly n - m entries, each canonical, numbered, loggable and of this kiosk; the server's
Merkle frontier extended by the entries gives the signed root (inclusion of every entry); and the
consistency proof leads from the accepted root to the new one (append-only).

A checkpoint the kiosk signed that cannot be reconciled with what the server accepted earlier (a
different root for a size already accepted, or a larger tree that is neither reachable by the pushed
entries nor proved consistent) is a **fork**: the kiosk's log was rewritten or rewound. The body is
signed by the kiosk key, so this is the kiosk's own statement, not line noise: :class:`PushRefused`
carries ``fork`` evidence that the caller stores as an alert even though the push is refused.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.audit import canonical, layout
from kiosk.audit.errors import EventRejected, NoteError, ProofError
from kiosk.audit.events import validate_fields
from kiosk.audit.merkle import leaf_hash, verify_consistency
from kiosk.audit.note import Checkpoint, Verifier, open_note

from central.frontier import Frontier

VERSION = 1
MAX_ENTRIES = 5000
"""Entries per push; the kiosk sends larger backlogs as several pushes (bounded and resumable)."""
SIGNATURE_HEADER = "X-Kiosk-Signature"


class PushRefused(Exception):
    """A push that stores nothing. ``status`` is the HTTP status; ``fork`` is alert evidence (kept)."""

    def __init__(self, status: int, code: str, message: str, *, fork: dict | None = None,
                 resume_from: int | None = None):
        super().__init__(message)
        self.status, self.code, self.fork, self.resume_from = status, code, fork, resume_from

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"error": self.code, "message": str(self)}
        if self.resume_from is not None:
            out["resume_from"] = self.resume_from
        return out


@dataclass(frozen=True)
class KioskState:
    """What the server holds for one enrolled kiosk."""
    kiosk_id: str
    station_id: str
    vkey: str
    frontier: Frontier = Frontier()
    checkpoint: str | None = None     # the last accepted signed note

    @property
    def size(self) -> int:
        return self.frontier.size


@dataclass
class Entry:
    seq: int
    raw: str
    leaf: bytes
    value: dict


@dataclass
class Accepted:
    entries: list[Entry]
    checkpoint: str
    frontier: Frontier
    duplicate: bool = False


def parse_body(body: bytes) -> dict:
    try:
        push = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushRefused(400, "malformed", f"the push is not JSON: {exc}") from None
    if not isinstance(push, dict) or push.get("version") != VERSION:
        raise PushRefused(400, "malformed", f"the push must be a JSON object with version {VERSION}")
    shapes = {"kiosk": str, "from": int, "entries": list, "checkpoint": str, "proof_from": int,
              "consistency": list}
    for name, kind in shapes.items():
        if not isinstance(push.get(name), kind) or isinstance(push.get(name), bool):
            raise PushRefused(400, "malformed", f"the push field {name!r} is missing or not a {kind.__name__}")
    if len(push["entries"]) > MAX_ENTRIES:
        raise PushRefused(413, "batch_too_large", f"a push carries at most {MAX_ENTRIES} entries")
    return push


def check_signature(body: bytes, header: str | None, verifier: Verifier) -> None:
    try:
        signature = base64.b64decode(header or "", validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64 or not verifier.verify(body, signature):
        raise PushRefused(401, "bad_signature", "the push is not signed by the enrolled kiosk key "
                          f"({SIGNATURE_HEADER} missing or wrong): forged or damaged in transit")


def _checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    try:
        parsed, good = open_note(note, [verifier], strict=False)
        checkpoint = Checkpoint.parse(parsed.text)
        layout.parse_checkpoint_extension(checkpoint.extensions)
    except NoteError as exc:
        raise PushRefused(401, "bad_checkpoint", f"the checkpoint does not verify: {exc}") from None
    if verifier not in good or checkpoint.origin != verifier.name:
        raise PushRefused(401, "bad_checkpoint", "the checkpoint is not signed by this kiosk's log key")
    return checkpoint


def _entries(raw: list, first: int, state: KioskState) -> list[Entry]:
    out = []
    for offset, text in enumerate(raw):
        seq = first + offset
        if not isinstance(text, str):
            raise PushRefused(400, "bad_entry", f"entry {seq} is not a string")
        data = text.encode("utf-8")
        try:
            value = canonical.decode(data)
            if not isinstance(value, dict):
                raise EventRejected("an entry must be a JSON object")
            validate_fields(value, allow_log_fields=True)
        except (canonical.NotCanonical, EventRejected) as exc:
            raise PushRefused(422, "bad_entry", f"entry {seq}: {exc}") from None
        if value.get("seq") != seq:
            raise PushRefused(422, "bad_entry", f"entry {seq} carries sequence number {value.get('seq')!r}")
        if value.get("kiosk_id") != state.kiosk_id or value.get("station_id") != state.station_id:
            raise PushRefused(422, "bad_entry", f"entry {seq} names another kiosk or station than the enrolled "
                              f"{state.station_id}/{state.kiosk_id}")
        if not isinstance(value.get("time"), str) or not layout.TIME.fullmatch(value["time"]):
            raise PushRefused(422, "bad_entry", f"entry {seq}: time is not UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'")
        out.append(Entry(seq, text, leaf_hash(data), value))
    return out


def _proof(hashes: list) -> list[bytes]:
    try:
        proof = [base64.b64decode(h, validate=True) for h in hashes]
    except (binascii.Error, ValueError, TypeError):
        raise PushRefused(400, "malformed", "the consistency proof is not a list of base64 hashes") from None
    if any(len(h) != 32 for h in proof) or len(proof) > 64:
        raise PushRefused(400, "malformed", "the consistency proof has a hash that is not 32 bytes")
    return proof


def fork_evidence(state: KioskState, note: str, reason: str) -> dict:
    return {"kiosk_id": state.kiosk_id, "station_id": state.station_id, "reason": reason,
            "accepted_checkpoint": state.checkpoint, "conflicting_checkpoint": note,
            "evidence_sha256": hashlib.sha256(note.encode("utf-8")).hexdigest()}


def verify_push(push: dict, state: KioskState, root_at: Callable[[int], bytes]) -> Accepted:
    """Check a parsed, signature-checked push against ``state``; ``root_at(size)`` is the root the
    server holds for an earlier size (from its stored entries). Raises :class:`PushRefused`."""
    verifier = Verifier.parse(state.vkey)
    checkpoint = _checkpoint(push["checkpoint"], verifier)
    n, accepted = checkpoint.size, state.size
    if n <= accepted:   # an older (or the same) signed state: a replay, or a rewound log
        held = state.frontier.root() if n == accepted else root_at(n)   # a heartbeat needs no database read
        if held == checkpoint.root_hash:
            return Accepted([], push["checkpoint"], state.frontier, duplicate=True)
        raise PushRefused(409, "fork", f"the kiosk signed a root for size {n} that differs from the one the "
                          f"server accepted (log rewound or rewritten)",
                          fork=fork_evidence(state, push["checkpoint"], f"rewound: other root at size {n}"))
    if push["proof_from"] != accepted or push["from"] != accepted:
        raise PushRefused(409, "resume", f"the server holds entries up to {accepted}; push from there",
                          resume_from=accepted)
    if len(push["entries"]) != n - accepted:
        raise PushRefused(400, "truncated", f"the checkpoint signs {n} entries but the push carries "
                          f"{len(push['entries'])} of the {n - accepted} after {accepted} (truncated batch)")
    proof = _proof(push["consistency"])
    entries = _entries(push["entries"], accepted, state)
    frontier = state.frontier.extend(e.leaf for e in entries)
    reaches_root = frontier.root() == checkpoint.root_hash
    try:
        verify_consistency(accepted, n, state.frontier.root(), checkpoint.root_hash, proof)
        consistent = True
    except ProofError:
        consistent = False
    if not reaches_root and not consistent:
        raise PushRefused(409, "fork", f"the kiosk's signed tree of size {n} does not extend the {accepted} "
                          "entries the server accepted (log rewritten)",
                          fork=fork_evidence(state, push["checkpoint"], f"rewritten: size {n} not consistent "
                                             f"with accepted size {accepted}"))
    if not reaches_root:
        raise PushRefused(400, "entries_mismatch", "the pushed entries do not hash to the signed root "
                          "(changed, reordered or replaced in transit)")
    if not consistent:
        raise PushRefused(400, "bad_proof", f"the consistency proof from size {accepted} to {n} does not verify")
    return Accepted(entries, push["checkpoint"], frontier)
