"""Typed errors of the audit log. Messages name what failed, never the data that failed it."""
from __future__ import annotations


class AuditError(Exception):
    """Base class of every audit-log error."""


class EventRejected(AuditError, ValueError):
    """An event was refused before it reached the log (unknown type, float, raw personal data...)."""


class LogLocked(AuditError):
    """Another writer holds the log directory's lock file."""


class LogCorrupt(AuditError):
    """The log on disk is damaged somewhere other than a torn tail, so it cannot be repaired safely."""


class LogClosed(AuditError):
    """The log was closed; nothing more can be appended or signed."""


class NoteError(AuditError, ValueError):
    """A signed note, checkpoint or verifier key is malformed or a signature does not verify."""


class ProofError(AuditError, ValueError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""


class BundleInvalid(AuditError):
    """An exported bundle failed verification; the message says which check failed and where."""
