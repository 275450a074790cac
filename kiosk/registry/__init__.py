"""The voter registry: voters, encrypted templates, voting status, officials, decisions.

Storage is behind :class:`Registry` (``kiosk/registry/storage.py`` holds every SQL statement).
"""
from kiosk.registry.errors import (AlreadyVoted, DuplicateVoter, ImportRejected, RegistryError,
                                   VoterNotFound)
from kiosk.registry.models import FINGER_NAMES, Enrolment, Official, Voter, VoteRecord, finger_position
from kiosk.registry.storage import Registry

__all__ = ["Registry", "Voter", "VoteRecord", "Official", "Enrolment", "FINGER_NAMES", "finger_position",
           "RegistryError", "VoterNotFound", "DuplicateVoter", "AlreadyVoted", "ImportRejected"]
