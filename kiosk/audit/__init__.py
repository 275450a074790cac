"""Tamper-evident audit log that a commission verifies offline.

Entries are canonical JSON (kiosk.audit.canonical) checked for privacy (kiosk.audit.events), written
durably (kiosk.audit.log, framed by kiosk.audit.records), hashed into an RFC 9162 Merkle tree
(kiosk.audit.merkle) and signed as C2SP checkpoints (kiosk.audit.note). Bundles are exported
(kiosk.audit.bundle), verified offline (kiosk.audit.verify) and single entries proved
(kiosk.audit.prove). See docs/audit.md for the on-disk layout and the bundle format.

    log = AuditLog.open(settings.data_dir / "audit", signing_key(settings.key_dir), origin,
                        kiosk_id=settings.kiosk_id, station_id=settings.station_id)
    seq = log.append({"event": "match", "official_id": "po-1", "outcome": "accepted",
                      "score_band": "40-50", "voter": pseudonym(id_number, commission_key)})
    export_bundle(log, "/media/usb/PS-0001.kab", summary=registry.summary(station_id, kiosk_id=kiosk_id))
    report = verify_bundle("/media/usb/PS-0001.kab"); report.ok, report.render()
"""
from kiosk.audit.bundle import cosign_bundle, export_bundle, read_bundle
from kiosk.audit.errors import (AuditError, BundleInvalid, EventRejected, LogClosed, LogCorrupt,
                                LogLocked, NoteError, ProofError)
from kiosk.audit.events import EVENT_TYPES, pseudonym, validate_fields
from kiosk.audit.log import AuditLog
from kiosk.audit.note import Signer, Verifier
from kiosk.audit.prove import inclusion_proof_document, verify_proof_document
from kiosk.audit.verify import VerifyReport, verify_bundle

DEFAULT_SUBDIR = "audit"
"""The log directory under the kiosk's data_dir."""


def default_origin(kiosk_id: str, station_id: str) -> str:
    """The origin (and signing key name) a kiosk uses for its log: ``kiosk-audit/<station>/<kiosk>``."""
    return f"kiosk-audit/{station_id}/{kiosk_id}"


__all__ = [
    "AuditLog", "AuditError", "BundleInvalid", "EventRejected", "LogClosed", "LogCorrupt", "LogLocked",
    "NoteError", "ProofError", "EVENT_TYPES", "pseudonym", "validate_fields", "Signer", "Verifier",
    "export_bundle", "read_bundle", "cosign_bundle", "verify_bundle", "VerifyReport",
    "inclusion_proof_document", "verify_proof_document", "DEFAULT_SUBDIR", "default_origin",
]
