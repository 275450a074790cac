"""The voter registry: voters, encrypted templates, voting status, officials, decisions.

Storage is behind :class:`Registry` on SQLite or PostgreSQL (``kiosk/registry/`` holds every SQL
statement; the schema is versioned in ``kiosk/registry/migrations/``).
"""
from kiosk.registry.errors import (AlreadyVoted, DuplicateVoter, ImportRejected, RegistryError,
                                   RegistryUnavailable, VoterNotFound)
from kiosk.registry.models import (FINGER_NAMES, Enrolment, InkFinding, Official, Voter, VoteRecord,
                                   finger_position)
from kiosk.registry.storage import Registry

__all__ = ["Registry", "Voter", "VoteRecord", "InkFinding", "Official", "Enrolment", "FINGER_NAMES", "finger_position",
           "RegistryError", "RegistryUnavailable", "VoterNotFound", "DuplicateVoter", "AlreadyVoted", "ImportRejected"]
