"""Registry errors, each with a stable code the API can return."""
from __future__ import annotations


class RegistryError(Exception):
    code = "registry_error"


class RegistryUnavailable(RegistryError):
    """The registry database cannot be reached or used right now (server down, connection cut, file
    locked too long). The write that raised it was not acknowledged, so the caller must not act as if
    it happened; a connection cut during COMMIT may still have committed it, which is why the writes
    that matter are idempotent (``mark_voted`` again with the same session returns the same vote)."""

    code = "registry_unavailable"


class VoterNotFound(RegistryError):
    code = "voter_not_found"


class DuplicateVoter(RegistryError):
    code = "duplicate_voter"


class AlreadyVoted(RegistryError):
    """A second attempt to mark a voter; carries the first, successful record."""

    code = "already_voted"

    def __init__(self, existing):
        super().__init__("this voter is already marked as having voted")
        self.existing = existing


class ImportRejected(RegistryError):
    """An import was refused; nothing was written. ``report`` lists every bad row."""

    code = "import_rejected"

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report
