"""Plain records the registry returns. None of them carries a template: those come only from
:meth:`Registry.enrolment`, decrypted into memory for matching."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

FINGER_NAMES = (
    "right_thumb", "right_index", "right_middle", "right_ring", "right_little",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_little",
)
"""Finger names in ISO/IEC 19794-2 position order (position = index + 1)."""


def finger_position(name: str) -> int:
    return FINGER_NAMES.index(name) + 1


@dataclass(frozen=True)
class VoteRecord:
    voter_id: str
    voted_at: str          # UTC ISO-8601
    kiosk_id: str
    station_id: str
    official_id: str
    method: str            # "biometric" | "fallback_face_only" | "fallback_no_card" | ...
    session_id: str | None = None   # the booth session that cast it (a retry of it gets this record back)


@dataclass(frozen=True)
class InkFinding:
    """The first time this voter was refused because ink was found on the finger."""

    found_at: str          # UTC ISO-8601
    kiosk_id: str
    station_id: str

    def as_dict(self) -> dict[str, str]:
        return {"found_at": self.found_at, "kiosk_id": self.kiosk_id, "station_id": self.station_id}


@dataclass(frozen=True)
class Voter:
    voter_id: str
    id_number: str
    name: str
    birth_date: date | None
    sex: str
    station_id: str
    vote: VoteRecord | None = None
    fingers_enrolled: tuple[str, ...] = ()
    face_enrolled: bool = False
    ink_found: InkFinding | None = None
    not_verified_before: int = 0     # sessions refused as not verified, at any kiosk sharing the registry

    @property
    def has_voted(self) -> bool:
        return self.vote is not None

    def public_dict(self) -> dict[str, Any]:
        """What an official may see: no templates, and the ID number only masked."""
        return {
            "voter_id": self.voter_id,
            "name": self.name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "station_id": self.station_id,
            "id_number_masked": mask_id(self.id_number),
            "has_voted": self.has_voted,
            "fingers_enrolled": list(self.fingers_enrolled),
            "face_enrolled": self.face_enrolled,
            "ink_found": self.ink_found.as_dict() if self.ink_found else None,
            "not_verified_before": self.not_verified_before,
        }


def mask_id(id_number: str) -> str:
    return "*" * max(0, len(id_number) - 3) + id_number[-3:] if id_number else ""


@dataclass(frozen=True)
class Official:
    username: str
    password_hash: str
    role: str               # "official" | "supervisor" | "auditor"
    display_name: str
    active: bool = True


@dataclass
class Enrolment:
    """Decrypted templates of one voter, for matching only; never serialised."""

    voter_id: str
    # finger name -> its enrolled impressions, best quality first (tuple of matcher.fingerprint.Template)
    fingers: dict[str, Any] = field(default_factory=dict)
    face: Any = None                                          # matcher.face.Template | None

    def __repr__(self) -> str:  # never print template contents
        return f"Enrolment(voter_id={self.voter_id!r}, fingers={sorted(self.fingers)}, face={self.face is not None})"
