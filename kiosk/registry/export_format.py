"""The commission export format, version 1 (what ``kiosk import`` reads).

An export is a directory::

    manifest.json     {"format": "kh-voter-registry-export", "version": 1, "created": "<UTC ISO-8601>",
                       "voters": <count>, "files": {"voters.jsonl": {"sha256": "<hex>", "lines": <count>},
                                                    "photos/<name>": {"sha256": "<hex>"}, ...}}
    voters.jsonl      one JSON object per line (UTF-8), one voter each
    photos/           optional enrolment photos referenced by rows

A voter row::

    {"id_number": "123456789", "id_check": "7",            # the card's document number and its ICAO check digit
     "name": "SOK DARA", "birth_date": "1990-01-01", "sex": "M"|"F"|"X", "station_id": "PS-0001",
     "fingers": {"right_index": "<base64 ISO/IEC 19794-2:2005 record>", ...},   # ANSI 378 is accepted too
     "face": {"encoding": "<base64 face template bytes>"} | {"photo": "photos/<name>.jpg"}}

A finger's record may hold up to ``MAX_FINGER_VIEWS`` finger views, one per impression taken at
enrolment (all of that finger, at one resolution): the booth compares a capture with each and keeps the
best, calibrated as that many chances (matcher.fingerprint.views), and so do the station gallery, the
national search and de-duplication; the best-quality one is stored first. Several impressions matter
most for small and partial sensors, whose captures may cover different parts of the finger.

Every file listed in the manifest must exist with the stated SHA-256; the row count must match.
A row is rejected for: bad JSON, missing/invalid fields, an ID check digit that fails, a duplicate ID
within the export or already in the registry, an unreadable fingerprint template, an unusable face
encoding or photo (no face, several faces, low quality), a finger record with more than
``MAX_FINGER_VIEWS`` impressions or an impression with too few minutiae to compare. Nothing is written
unless the whole import is accepted (or ``skip_bad_rows`` is chosen, in which case all good rows go in
one transaction).
"""
from __future__ import annotations

FORMAT_NAME = "kh-voter-registry-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOTERS = "voters.jsonl"
SEXES = frozenset({"M", "F", "X"})
MAX_FINGER_VIEWS = 4     # impressions per enrolled finger: each is one more comparison, and one more chance
                         # for an impostor, at the booth
