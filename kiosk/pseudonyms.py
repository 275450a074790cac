"""The voter pseudonyms a kiosk writes into its audit log (see docs/threat-model.md).

A registered voter's pseudonym is the commission's per-election value, shipped in the signed registry
export and stored as data: the kiosk looks it up and never holds a key that computes one from an ID
number, so a stolen kiosk cannot enumerate ID numbers into pseudonyms. An ID number with no
commission pseudonym (a card not on this registry) gets a pseudonym under a random key that lives
only in this process's memory: entries of one run still link (the same card tried twice), nothing
links them across kiosks or runs, and nothing on disk reverses them.
"""
from __future__ import annotations

import secrets
from typing import Callable

from kiosk.audit.events import pseudonym as hmac_pseudonym


class PseudonymSource:
    """``source(id_number)`` -> the 64-hex pseudonym to log for that number."""

    def __init__(self, lookup: Callable[[str], str | None], *, run_key: bytes | None = None):
        self._lookup = lookup
        self._run_key = run_key or secrets.token_bytes(32)  # memory only: never written anywhere

    def __call__(self, id_number: str) -> str:
        if not isinstance(id_number, str) or not id_number.strip():
            raise ValueError("a pseudonym needs a non-empty ID number")
        found = self._lookup(id_number.strip().upper())
        return found if found is not None else hmac_pseudonym(id_number, self._run_key)
