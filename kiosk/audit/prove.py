"""Inclusion proofs for one entry, as a self-contained JSON document anyone can check offline.

The document holds the entry (its canonical JSON text), the signed checkpoint it is proved against,
the log's verifier key and the RFC 9162 audit path (base64 hashes)::

    {"format": "kiosk-audit-inclusion-proof 1", "log_key": "<vkey>", "checkpoint": "<signed note>",
     "seq": N, "entry": "<canonical JSON>", "tree_size": S, "proof": ["<base64>", ...]}
"""
from __future__ import annotations

import base64
import binascii
import os
from typing import Any, Iterable

from kiosk.audit import canonical, layout
from kiosk.audit.bundle import read_bundle
from kiosk.audit.errors import BundleInvalid, ProofError
from kiosk.audit.merkle import leaf_hash, verify_inclusion
from kiosk.audit.note import Checkpoint, Verifier, open_note
from kiosk.audit.verify import VerifyReport, verify_loaded

FORMAT = "kiosk-audit-inclusion-proof 1"


def inclusion_proof_document(bundle_path: str | os.PathLike, seq: int) -> dict[str, Any]:
    """Prove entry ``seq`` of a bundle (which must verify) against its latest checkpoint."""
    bundle = read_bundle(bundle_path)
    tree = verify_loaded(bundle, VerifyReport(), [])
    lines = bundle.entries[:-1].split(b"\n") if bundle.entries else []
    if not 0 <= seq < len(lines):
        raise BundleInvalid(f"the bundle has no entry {seq} (it has {len(lines)})")
    log_key, _ = layout.parse_keys(bundle.keys)
    note = bundle.checkpoints[-1].decode("utf-8")
    size = Checkpoint.parse(note[:note.rfind("\n\n") + 1]).size
    return {"format": FORMAT, "log_key": log_key.vkey, "checkpoint": note, "seq": seq,
            "entry": lines[seq].decode("utf-8"), "tree_size": size,
            "proof": [base64.b64encode(h).decode("ascii") for h in tree.inclusion_proof(seq, size)]}


def verify_proof_document(document: dict[str, Any], trusted_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Check a proof document; return the proved entry, or raise ProofError or NoteError."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProofError(f"not a '{FORMAT}' document")
    try:
        verifier = Verifier.parse(str(document["log_key"]))
        trusted = list(trusted_keys)
        if trusted and verifier.vkey not in trusted:
            raise ProofError(f"the log key {verifier.name} is not one of the trusted keys given")
        note, signed_by = open_note(str(document["checkpoint"]), [verifier], strict=False)
        if verifier not in signed_by:
            raise ProofError("the checkpoint is not signed by the log key")
        checkpoint = Checkpoint.parse(note.text)
        if checkpoint.origin != verifier.name:
            raise ProofError("the checkpoint's origin is not the log key's name")
        entry = str(document["entry"]).encode("utf-8")
        value = canonical.decode(entry)
        seq, size = document["seq"], document["tree_size"]
        if not isinstance(value, dict) or value.get("seq") != seq:
            raise ProofError("the entry's sequence number is not the proved one")
        if size != checkpoint.size:
            raise ProofError("the proof's tree size is not the checkpoint's")
        proof = [base64.b64decode(h, validate=True) for h in document["proof"]]
    except (KeyError, TypeError, binascii.Error, canonical.NotCanonical) as exc:
        raise ProofError(f"malformed proof document ({type(exc).__name__})") from exc
    verify_inclusion(seq, size, leaf_hash(entry), proof, checkpoint.root_hash)
    return value

