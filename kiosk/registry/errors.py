"""Registry errors, each with a stable code the API can return."""
from __future__ import annotations


class RegistryError(Exception):
    code = "registry_error"


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
