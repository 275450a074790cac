"""Build one push from a log directory (the wire format is documented in docs/commission.md).

Only signed checkpoints are pushed up to: a push ends exactly at a checkpoint, so the commission
can check every entry against a root the kiosk signed. The push carries the entries after the
commission's size, that checkpoint, and the RFC 9162 consistency proof from the commission's size.
The whole body is signed with the kiosk's audit key, so nobody else can speak for the kiosk.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit import layout, records
from kiosk.audit.log import read_checkpoints
from kiosk.audit.merkle import MerkleTree, leaf_hash
from kiosk.audit.note import Checkpoint, Verifier, parse_note

VERSION = 1
SIGNATURE_HEADER = "X-Kiosk-Signature"
MAX_ENTRIES = 2000
"""Entries per push (the commission accepts up to 5,000; a backlog goes as several pushes)."""


@dataclass
class Push:
    body: bytes
    signature: str       # base64 Ed25519 signature of body, for SIGNATURE_HEADER
    size: int            # the checkpoint size this push brings the commission to
    entries: int


def build_push(log_dir: str | Path, key: Ed25519PrivateKey, verifier: Verifier, server_size: int, *,
               max_entries: int = MAX_ENTRIES) -> Push | None:
    """The next push after ``server_size``: up to the newest checkpoint at most ``max_entries`` ahead,
    or a heartbeat (no entries, the checkpoint the commission has) when nothing new is signed.
    None when the log has no checkpoint yet."""
    log_dir = Path(log_dir)
    notes = read_checkpoints(log_dir)      # before the entries: every checkpoint then covers a prefix
    if not notes:
        return None
    entries = records.scan((log_dir / layout.ENTRIES_LOG).read_bytes()).entries
    sizes = [Checkpoint.parse(parse_note(n).text).size for n in notes]
    ahead = [i for i, s in enumerate(sizes) if server_size < s <= server_size + max_entries]
    beyond = [i for i, s in enumerate(sizes) if s > server_size]
    if ahead:
        index = ahead[-1]
    elif beyond:
        index = beyond[0]        # the next checkpoint lies beyond the bound: send up to it anyway
    elif server_size in sizes:
        index = sizes.index(server_size)   # nothing new is signed: a heartbeat
    else:
        index = len(sizes) - 1   # the commission holds more than this log signed: let it judge the rewind
    size = sizes[index]
    tree = MerkleTree([leaf_hash(e) for e in entries[:size]])
    batch = entries[server_size:size] if size > server_size else []
    body = json.dumps({"version": VERSION, "kiosk": verifier.vkey, "from": server_size,
                       "entries": [e.decode("utf-8") for e in batch], "checkpoint": notes[index],
                       "proof_from": server_size,
                       "consistency": [base64.b64encode(h).decode("ascii")
                                       for h in (tree.consistency_proof(server_size, size)
                                                 if size > server_size else [])]},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Push(body, base64.b64encode(key.sign(body)).decode("ascii"), max(size, server_size), len(batch))
