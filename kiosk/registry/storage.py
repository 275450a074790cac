"""The registry's storage: every SQL statement of the project lives in this module.

SQLite (WAL mode) in the data directory is the embedded default. Writes run in explicit
transactions (``BEGIN IMMEDIATE``), so several kiosk processes on one station database serialise
correctly; the SQL is kept to what PostgreSQL also accepts, so a shared station server can replace
the connection factory without touching callers.

Double voting is prevented by the database, not by the caller: ``votes.voter_id`` is a primary key,
so of any number of concurrent ``mark_voted`` calls for one voter exactly one INSERT succeeds.
"""
from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from kiosk.registry import crypto
from kiosk.registry.errors import AlreadyVoted, DuplicateVoter, RegistryError, VoterNotFound
from kiosk.registry.models import FINGER_NAMES, Enrolment, Official, Voter, VoteRecord

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS voters (
    voter_id    TEXT PRIMARY KEY,
    id_number   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    birth_date  TEXT,
    sex         TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS voters_station ON voters(station_id);
CREATE TABLE IF NOT EXISTS finger_templates (
    voter_id  TEXT NOT NULL REFERENCES voters(voter_id),
    finger    TEXT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (voter_id, finger)
);
CREATE TABLE IF NOT EXISTS face_templates (
    voter_id  TEXT PRIMARY KEY REFERENCES voters(voter_id),
    sealed    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    voter_id    TEXT PRIMARY KEY REFERENCES voters(voter_id),
    voted_at    TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    official_id TEXT NOT NULL,
    method      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vote_refusals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    voter_id    TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    official_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS officials (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('official', 'supervisor', 'auditor')),
    display_name  TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    voter_id    TEXT,
    station_id  TEXT NOT NULL,
    kiosk_id    TEXT NOT NULL,
    official_id TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    method      TEXT NOT NULL,
    reason      TEXT,
    decided_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_station ON decisions(station_id, outcome);
CREATE TABLE IF NOT EXISTS voter_pseudonyms (
    voter_id    TEXT PRIMARY KEY REFERENCES voters(voter_id),
    pseudonym   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    imported_at  TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    voters       INTEGER NOT NULL
);
"""


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sqlite_path(database_url: str) -> str:
    if database_url.startswith("sqlite:///"):
        return database_url[len("sqlite:///"):]
    if database_url.startswith("sqlite://"):
        return database_url[len("sqlite://"):] or ":memory:"
    raise RegistryError(f"unsupported database URL scheme (only sqlite:/// is built in): "
                        f"{database_url.split(':', 1)[0]}")


class Registry:
    """Voters, their encrypted templates, voting status, officials and booth decisions."""

    def __init__(self, database_url: str, registry_key: bytes, *, clock: Callable[[], str] = utc_now):
        if len(registry_key) != 32:
            raise RegistryError("registry key must be 32 bytes (AES-256)")
        self._path = _sqlite_path(database_url)
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._key = registry_key
        self._clock = clock
        self._local = threading.local()
        # executescript commits on its own, so the schema is created outside a transaction
        # (every statement is IF NOT EXISTS, so concurrent openers agree).
        self._connection().executescript(_SCHEMA)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                       (str(SCHEMA_VERSION),))

    @classmethod
    def open(cls, settings, *, create_keys: bool = False) -> "Registry":
        from kiosk import keys

        key = keys.symmetric_key(settings.key_dir, "registry", create=create_keys)
        return cls(settings.effective_database_url, key)

    # -- connections and transactions -----------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")   # a vote acknowledged survives power loss
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one."""
        conn = self._connection()
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def _read(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- voters ---------------------------------------------------------------------------------
    def add_voter(self, *, id_number: str, name: str, birth_date: date | None, sex: str, station_id: str,
                  fingers: Mapping[str, bytes] | None = None, face: bytes | None = None,
                  voter_id: str | None = None) -> str:
        """Add one voter with ISO 19794-2 finger records and a face template (bytes), sealed at rest."""
        voter_id = voter_id or "V" + uuid.uuid4().hex[:12].upper()
        with self.transaction() as db:
            try:
                db.execute("INSERT INTO voters(voter_id, id_number, name, birth_date, sex, station_id, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (voter_id, id_number, name, birth_date.isoformat() if birth_date else None, sex,
                            station_id, self._clock()))
            except sqlite3.IntegrityError as exc:
                raise DuplicateVoter("a voter with this ID number (or record id) is already registered") from exc
            for finger, iso in (fingers or {}).items():
                if finger not in FINGER_NAMES:
                    raise RegistryError(f"unknown finger name {finger!r}")
                db.execute("INSERT INTO finger_templates(voter_id, finger, sealed) VALUES (?, ?, ?)",
                           (voter_id, finger, crypto.seal(self._key, iso,
                                                          crypto.associated_data("finger", voter_id, finger))))
            if face is not None:
                db.execute("INSERT INTO face_templates(voter_id, sealed) VALUES (?, ?)",
                           (voter_id, crypto.seal(self._key, face, crypto.associated_data("face", voter_id, "face"))))
            # In the same transaction: a running kiosk sees the new enrolment and rebuilds its galleries.
            db.execute("INSERT INTO meta(key, value) VALUES ('enrolment_generation', '1') ON CONFLICT(key)"
                       " DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")
        return voter_id

    def enrolment_generation(self) -> int:
        """A number that changes whenever an enrolment is added (by this process or another one sharing
        the database, such as an import), so in-memory 1:N galleries know when they are stale."""
        rows = self._read("SELECT value FROM meta WHERE key = 'enrolment_generation'")
        return int(rows[0][0]) if rows else 0

    _VOTER_SQL = ("SELECT v.*, vt.voted_at, vt.kiosk_id, vt.station_id AS vote_station, vt.official_id, vt.method,"
                  " (SELECT group_concat(finger) FROM finger_templates f WHERE f.voter_id = v.voter_id) AS fingers,"
                  " EXISTS(SELECT 1 FROM face_templates ft WHERE ft.voter_id = v.voter_id) AS has_face"
                  " FROM voters v LEFT JOIN votes vt ON vt.voter_id = v.voter_id")

    @staticmethod
    def _voter(row: sqlite3.Row) -> Voter:
        vote = None
        if row["voted_at"]:
            vote = VoteRecord(row["voter_id"], row["voted_at"], row["kiosk_id"], row["vote_station"],
                              row["official_id"], row["method"])
        fingers = tuple(sorted((row["fingers"] or "").split(","), key=lambda f: FINGER_NAMES.index(f))
                        ) if row["fingers"] else ()
        return Voter(voter_id=row["voter_id"], id_number=row["id_number"], name=row["name"],
                     birth_date=date.fromisoformat(row["birth_date"]) if row["birth_date"] else None,
                     sex=row["sex"], station_id=row["station_id"], vote=vote,
                     fingers_enrolled=fingers, face_enrolled=bool(row["has_face"]))

    def find_voter(self, id_number: str) -> Voter | None:
        rows = self._read(self._VOTER_SQL + " WHERE v.id_number = ?", (id_number,))
        return self._voter(rows[0]) if rows else None

    def get_voter(self, voter_id: str) -> Voter:
        rows = self._read(self._VOTER_SQL + " WHERE v.voter_id = ?", (voter_id,))
        if not rows:
            raise VoterNotFound("no voter with this record id")
        return self._voter(rows[0])

    def station_voters(self, station_id: str) -> list[Voter]:
        return [self._voter(r) for r in self._read(self._VOTER_SQL + " WHERE v.station_id = ? ORDER BY v.voter_id",
                                                   (station_id,))]

    def all_voter_ids(self, station_id: str | None = None) -> list[str]:
        if station_id is None:
            return [r[0] for r in self._read("SELECT voter_id FROM voters ORDER BY voter_id")]
        return [r[0] for r in self._read("SELECT voter_id FROM voters WHERE station_id = ? ORDER BY voter_id",
                                         (station_id,))]

    def count_voters(self) -> int:
        return self._read("SELECT count(*) FROM voters")[0][0]

    # -- templates (decrypted only into memory) ---------------------------------------------------
    def enrolment_bytes(self, voter_id: str) -> tuple[dict[str, bytes], bytes | None]:
        """Decrypted ISO finger records and face template bytes of one voter."""
        fingers = {}
        for row in self._read("SELECT finger, sealed FROM finger_templates WHERE voter_id = ?", (voter_id,)):
            fingers[row["finger"]] = crypto.open_sealed(self._key, row["sealed"],
                                                        crypto.associated_data("finger", voter_id, row["finger"]))
        face_rows = self._read("SELECT sealed FROM face_templates WHERE voter_id = ?", (voter_id,))
        face = crypto.open_sealed(self._key, face_rows[0]["sealed"],
                                  crypto.associated_data("face", voter_id, "face")) if face_rows else None
        return fingers, face

    def enrolment(self, voter_id: str) -> Enrolment:
        from matcher import face as face_engine
        from matcher import fingerprint

        fingers, face = self.enrolment_bytes(voter_id)
        return Enrolment(voter_id=voter_id,
                         fingers={name: fingerprint.Template.from_iso(data) for name, data in fingers.items()},
                         face=face_engine.Template.from_bytes(face) if face is not None else None)

    def fingerprint_index(self, station_id: str | None = None):
        """A fingerprint gallery of every enrolled finger, with (voter_id, finger) per gallery index."""
        from matcher import fingerprint

        templates, labels = [], []
        for voter_id in self.all_voter_ids(station_id):
            fingers, _ = self.enrolment_bytes(voter_id)
            for name, data in sorted(fingers.items()):
                templates.append(fingerprint.Template.from_iso(data))
                labels.append((voter_id, name))
        return fingerprint.Gallery(templates), labels

    def face_index(self, station_id: str | None = None):
        """A face gallery of every enrolled face, with the voter_id per gallery index."""
        from matcher import face as face_engine

        templates, labels = [], []
        for voter_id in self.all_voter_ids(station_id):
            _, face = self.enrolment_bytes(voter_id)
            if face is not None:
                templates.append(face_engine.Template.from_bytes(face))
                labels.append(voter_id)
        return face_engine.Gallery(templates), labels

    # -- voting -------------------------------------------------------------------------------------
    def mark_voted(self, voter_id: str, *, kiosk_id: str, station_id: str, official_id: str,
                   method: str) -> VoteRecord:
        """Mark a voter as having voted, exactly once. Raises :class:`AlreadyVoted` on any later attempt
        (and records the refused attempt), :class:`VoterNotFound` for an unknown record id."""
        at = self._clock()
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM voters WHERE voter_id = ?", (voter_id,)).fetchone():
                raise VoterNotFound("no voter with this record id")
            try:
                db.execute("INSERT INTO votes(voter_id, voted_at, kiosk_id, station_id, official_id, method)"
                           " VALUES (?, ?, ?, ?, ?, ?)", (voter_id, at, kiosk_id, station_id, official_id, method))
            except sqlite3.IntegrityError:
                row = db.execute("SELECT * FROM votes WHERE voter_id = ?", (voter_id,)).fetchone()
                db.execute("INSERT INTO vote_refusals(voter_id, attempted_at, kiosk_id, official_id)"
                           " VALUES (?, ?, ?, ?)", (voter_id, at, kiosk_id, official_id))
                existing = VoteRecord(row["voter_id"], row["voted_at"], row["kiosk_id"], row["station_id"],
                                      row["official_id"], row["method"])
                refused = AlreadyVoted(existing)
            else:
                return VoteRecord(voter_id, at, kiosk_id, station_id, official_id, method)
        # raised after COMMIT so the refused attempt is kept
        raise refused

    # -- officials ----------------------------------------------------------------------------------
    def add_official(self, username: str, password_hash: str, role: str, display_name: str) -> None:
        with self.transaction() as db:
            try:
                db.execute("INSERT INTO officials(username, password_hash, role, display_name) VALUES (?, ?, ?, ?)",
                           (username, password_hash, role, display_name))
            except sqlite3.IntegrityError as exc:
                raise RegistryError(f"official {username!r} exists or role {role!r} is not allowed") from exc

    def set_official_password(self, username: str, password_hash: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE officials SET password_hash = ? WHERE username = ?", (password_hash, username))

    def set_official_active(self, username: str, active: bool) -> None:
        """Deactivate (or re-activate) an official; their tokens stop working on the next request."""
        with self.transaction() as db:
            if db.execute("UPDATE officials SET active = ? WHERE username = ?",
                          (int(active), username)).rowcount != 1:
                raise RegistryError(f"no official {username!r}")

    def get_official(self, username: str) -> Official | None:
        rows = self._read("SELECT * FROM officials WHERE username = ?", (username,))
        if not rows:
            return None
        r = rows[0]
        return Official(r["username"], r["password_hash"], r["role"], r["display_name"], bool(r["active"]))

    def list_officials(self) -> list[Official]:
        return [Official(r["username"], r["password_hash"], r["role"], r["display_name"], bool(r["active"]))
                for r in self._read("SELECT * FROM officials ORDER BY username")]

    # -- decisions and the end-of-day summary --------------------------------------------------------
    def record_decision(self, *, session_id: str, voter_id: str | None, station_id: str, kiosk_id: str,
                        official_id: str, outcome: str, method: str, reason: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO decisions(session_id, voter_id, station_id, kiosk_id, official_id, outcome,"
                       " method, reason, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (session_id, voter_id, station_id, kiosk_id, official_id, outcome, method, reason,
                        self._clock()))

    def summary(self, station_id: str, kiosk_id: str | None = None) -> dict[str, int]:
        """End-of-day counts for a station: decisions by outcome and method, votes by method.

        With ``kiosk_id``, only what that kiosk did (``registered`` stays station-wide): this is what
        one kiosk's audit log must reconcile with when several kiosks share the station's registry.
        """
        kiosk_sql, kiosk_args = (" AND kiosk_id = ?", (kiosk_id,)) if kiosk_id is not None else ("", ())
        counts: dict[str, int] = {
            "registered": self._read("SELECT count(*) FROM voters WHERE station_id = ?", (station_id,))[0][0],
            "votes_marked": 0, "verified_biometric": 0, "verified_fallback": 0, "refused": 0,
            "already_voted": 0, "wrong_station": 0, "not_found": 0, "fallbacks": 0,
        }
        for row in self._read("SELECT method, count(*) FROM votes WHERE station_id = ?" + kiosk_sql +
                              " GROUP BY method", (station_id, *kiosk_args)):
            counts["votes_marked"] += row[1]
            counts["verified_biometric" if row[0] == "biometric" else "verified_fallback"] += row[1]
        for row in self._read("SELECT outcome, method, count(*) FROM decisions WHERE station_id = ?" + kiosk_sql +
                              " GROUP BY outcome, method", (station_id, *kiosk_args)):
            outcome, method, n = row[0], row[1], row[2]
            if outcome in counts and outcome not in ("verified_biometric", "verified_fallback"):
                counts[outcome] += n
            if method.startswith("fallback"):
                counts["fallbacks"] += n
        counts["second_vote_attempts"] = self._read(
            "SELECT count(*) FROM vote_refusals r JOIN votes v ON v.voter_id = r.voter_id WHERE v.station_id = ?"
            + kiosk_sql.replace("kiosk_id", "r.kiosk_id"), (station_id, *kiosk_args))[0][0]
        return counts

    # -- imports -----------------------------------------------------------------------------------
    def record_import(self, manifest_sha256: str, voters: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO imports(imported_at, manifest_sha256, voters) VALUES (?, ?, ?)",
                       (self._clock(), manifest_sha256, voters))

    # -- pseudonyms (the commission's per-election values, stored as data: docs/threat-model.md) ---
    def set_pseudonym(self, voter_id: str, pseudonym: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO voter_pseudonyms(voter_id, pseudonym) VALUES (?, ?) ON CONFLICT(voter_id)"
                       " DO UPDATE SET pseudonym = excluded.pseudonym", (voter_id, pseudonym))

    def pseudonym_of(self, id_number: str) -> str | None:
        """The commission's pseudonym for a registered ID number, or None (unregistered, or no pseudonym)."""
        rows = self._read("SELECT p.pseudonym FROM voter_pseudonyms p JOIN voters v ON v.voter_id = p.voter_id"
                          " WHERE v.id_number = ?", (id_number,))
        return rows[0][0] if rows else None
