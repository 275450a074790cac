"""The registry's storage: every SQL statement of the registry lives in this package.

One :class:`Registry` over two databases (:mod:`kiosk.registry.backends`), chosen by the URL:
``sqlite:///...`` (the embedded default in the data directory, for one kiosk and the demo) or
``postgresql://...`` (a station server shared by every kiosk of a polling station). The statements
below are written once, in the subset of SQL both accept (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``); the one spelling that differs (string aggregation) comes from the backend, and the
schema itself is versioned, per dialect, in :mod:`kiosk.registry.migrations`.

Double voting is prevented by the database, not by the caller: ``votes.voter_id`` is a primary key,
so of any number of concurrent ``mark_voted`` calls for one voter, from any kiosk process on any
machine sharing the database, exactly one INSERT succeeds.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Callable, Iterable, Mapping

from kiosk.registry import crypto
from kiosk.registry.backends import open_backend
from kiosk.registry.errors import AlreadyVoted, DuplicateVoter, RegistryError, VoterNotFound
from kiosk.registry.migrations import migrate
from kiosk.registry.models import FINGER_NAMES, Enrolment, InkFinding, Official, Voter, VoteRecord


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Registry:
    """Voters, their encrypted templates, voting status, officials and booth decisions."""

    def __init__(self, database_url: str, registry_key: bytes, *, clock: Callable[[], str] = utc_now,
                 pool_max_size: int | None = None, connection_trace: Callable[[float, float], None] | None = None):
        if len(registry_key) != 32:
            raise RegistryError("registry key must be 32 bytes (AES-256)")
        self._key = registry_key
        self._clock = clock
        self._db = open_backend(database_url, connection_trace=connection_trace,
                                **({"pool_max_size": pool_max_size} if pool_max_size else {}))
        try:
            migrate(self._db)
        except BaseException:
            self._db.close()
            raise
        self._voter_sql = self._VOTER_SQL.format(fingers=self._db.fingers_aggregate)

    @classmethod
    def open(cls, settings, *, create_keys: bool = False) -> "Registry":
        from kiosk import keys

        key = keys.symmetric_key(settings.key_dir, "registry", create=create_keys)
        return cls(settings.effective_database_url, key)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.name

    # -- connections and transactions -----------------------------------------------------------
    def transaction(self):
        """A write transaction (context manager yielding an object with ``execute``); nested calls
        join the outer one."""
        return self._db.transaction()

    def _read(self, sql: str, params: Iterable = ()) -> list:
        return self._db.read(sql, params)

    def ping(self, timeout: float = 1.0) -> None:
        """Raise :class:`RegistryUnavailable` unless the database answers within about ``timeout``."""
        self._db.ping(timeout)

    def pool_stats(self) -> dict:
        """The connection pool's counters (PostgreSQL; empty on SQLite), for benchmarks and diagnosis."""
        return self._db.pool_stats()

    def close(self) -> None:
        self._db.close()

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
            except self._db.integrity_errors as exc:
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
                       " DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)")
        return voter_id

    def enrolment_generation(self) -> int:
        """A number that changes whenever an enrolment is added (by this process or another one sharing
        the database, such as an import), so in-memory 1:N galleries know when they are stale."""
        rows = self._read("SELECT value FROM meta WHERE key = 'enrolment_generation'")
        return int(rows[0][0]) if rows else 0

    _VOTER_SQL = ("SELECT v.*, vt.voted_at, vt.kiosk_id, vt.station_id AS vote_station, vt.official_id, vt.method,"
                  " vt.session_id AS vote_session, (SELECT {fingers} FROM finger_templates f WHERE f.voter_id = v.voter_id) AS fingers,"
                  " EXISTS(SELECT 1 FROM face_templates ft WHERE ft.voter_id = v.voter_id) AS has_face,"
                  " ink.found_at AS ink_at, ink.kiosk_id AS ink_kiosk, ink.station_id AS ink_station,"
                  " (SELECT count(*) FROM decisions d WHERE d.voter_id = v.voter_id AND d.reason = 'not_verified')"
                  " AS not_verified_before"
                  " FROM voters v LEFT JOIN votes vt ON vt.voter_id = v.voter_id"
                  " LEFT JOIN ink_findings ink ON ink.id = (SELECT min(i.id) FROM ink_findings i"
                  " WHERE i.voter_id = v.voter_id)")

    @staticmethod
    def _voter(row) -> Voter:
        vote = None
        if row["voted_at"]:
            vote = VoteRecord(row["voter_id"], row["voted_at"], row["kiosk_id"], row["vote_station"],
                              row["official_id"], row["method"], row["vote_session"])
        fingers = tuple(sorted((row["fingers"] or "").split(","), key=lambda f: FINGER_NAMES.index(f))
                        ) if row["fingers"] else ()
        return Voter(voter_id=row["voter_id"], id_number=row["id_number"], name=row["name"],
                     birth_date=date.fromisoformat(row["birth_date"]) if row["birth_date"] else None,
                     sex=row["sex"], station_id=row["station_id"], vote=vote,
                     fingers_enrolled=fingers, face_enrolled=bool(row["has_face"]),
                     ink_found=InkFinding(row["ink_at"], row["ink_kiosk"], row["ink_station"]) if row["ink_at"] else None,
                     not_verified_before=int(row["not_verified_before"] or 0))

    def find_voter(self, id_number: str) -> Voter | None:
        rows = self._read(self._voter_sql + " WHERE v.id_number = ?", (id_number,))
        return self._voter(rows[0]) if rows else None

    def get_voter(self, voter_id: str) -> Voter:
        rows = self._read(self._voter_sql + " WHERE v.voter_id = ?", (voter_id,))
        if not rows:
            raise VoterNotFound("no voter with this record id")
        return self._voter(rows[0])

    def station_voters(self, station_id: str) -> list[Voter]:
        return [self._voter(r) for r in self._read(self._voter_sql + " WHERE v.station_id = ? ORDER BY v.voter_id",
                                                   (station_id,))]

    def all_voter_ids(self, station_id: str | None = None) -> list[str]:
        if station_id is None:
            return [r[0] for r in self._read("SELECT voter_id FROM voters ORDER BY voter_id")]
        return [r[0] for r in self._read("SELECT voter_id FROM voters WHERE station_id = ? ORDER BY voter_id",
                                         (station_id,))]

    def count_votes(self) -> int:
        """Votes marked in this registry (all stations)."""
        return self._read("SELECT count(*) FROM votes")[0][0]

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
                         fingers={name: fingerprint.views_from_iso(data) for name, data in fingers.items()},
                         face=face_engine.Template.from_bytes(face) if face is not None else None)

    def fingerprint_index(self, station_id: str | None = None):
        """A fingerprint gallery of every enrolled impression of every finger, with (voter_id, finger) per
        gallery index (a finger enrolled from three impressions has three entries)."""
        from matcher import fingerprint

        templates, labels = [], []
        for voter_id in self.all_voter_ids(station_id):
            fingers, _ = self.enrolment_bytes(voter_id)
            for name, data in sorted(fingers.items()):
                for view in fingerprint.views_from_iso(data):
                    templates.append(view)
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
                   method: str, session_id: str | None = None) -> VoteRecord:
        """Mark a voter as having voted, exactly once, across every kiosk sharing the database.

        A retry by the booth session that cast the vote (same ``session_id``, e.g. after a lost answer
        or a failed audit write) returns that same vote. Any other attempt raises :class:`AlreadyVoted`
        carrying the first vote, and is recorded as a second-vote attempt naming the first vote's kiosk
        and station. :class:`VoterNotFound` for an unknown record id; :class:`RegistryUnavailable`
        when the database cannot commit (then nothing was acknowledged)."""
        at = self._clock()

        # Each statement commits on its own (no BEGIN/COMMIT round trips): the vote is one INSERT, and
        # the refusal needs no atomicity with it, since a vote once inserted never changes. A kiosk
        # dying before the refusal INSERT never answered the attempt, and its retry records it.
        def mark(db) -> VoteRecord:
            # ON CONFLICT DO NOTHING waits for a concurrent insert of the same voter to commit or roll
            # back (PostgreSQL), or never meets one (SQLite's write lock), then inserts or skips. The
            # only other way it can fail is the foreign key: no such voter.
            try:
                # fetchall, not fetchone: SQLite commits an autocommit INSERT ... RETURNING only once
                # the statement has run to its end
                inserted = db.execute(
                    "INSERT INTO votes(voter_id, voted_at, kiosk_id, station_id, official_id, method, session_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (voter_id) DO NOTHING RETURNING voter_id",
                    (voter_id, at, kiosk_id, station_id, official_id, method, session_id)).fetchall()
            except self._db.integrity_errors as exc:
                raise VoterNotFound("no voter with this record id") from exc
            if inserted:
                return VoteRecord(voter_id, at, kiosk_id, station_id, official_id, method, session_id)
            row = db.execute("SELECT * FROM votes WHERE voter_id = ?", (voter_id,)).fetchone()
            existing = VoteRecord(row["voter_id"], row["voted_at"], row["kiosk_id"], row["station_id"],
                                  row["official_id"], row["method"], row["session_id"])
            if session_id is not None and existing.session_id == session_id:
                return existing
            db.execute("INSERT INTO vote_refusals(voter_id, attempted_at, kiosk_id, official_id, station_id,"
                       " session_id, first_kiosk_id, first_station_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (voter_id, session_id) DO NOTHING",
                       (voter_id, at, kiosk_id, official_id, station_id, session_id, existing.kiosk_id,
                        existing.station_id))
            # raised after the refusal's INSERT committed (or with the caller's transaction): it is kept
            raise AlreadyVoted(existing)

        # With a session id, running it twice gives the same answer (the same vote, or the same one
        # refusal), so a connection cut by a server restart is simply retried on the next one.
        return self._db.statements(mark, idempotent=session_id is not None)

    def record_ink_found(self, voter_id: str, *, station_id: str, kiosk_id: str, official_id: str,
                         session_id: str | None = None) -> None:
        """Record that this voter was refused because ink was found (once per session); every kiosk
        sharing the registry then sees it at lookup (:attr:`Voter.ink_found`)."""
        with self.transaction() as db:
            db.execute("INSERT INTO ink_findings(voter_id, found_at, station_id, kiosk_id, session_id, official_id)"
                       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (voter_id, session_id) DO NOTHING",
                       (voter_id, self._clock(), station_id, kiosk_id, session_id, official_id))

    def station_votes(self, station_id: str) -> list[VoteRecord]:
        """Every vote marked at a station (reconciliation, benchmarks)."""
        return [VoteRecord(r["voter_id"], r["voted_at"], r["kiosk_id"], r["station_id"], r["official_id"],
                           r["method"], r["session_id"])
                for r in self._read("SELECT * FROM votes WHERE station_id = ? ORDER BY voter_id", (station_id,))]

    def count_vote_refusals(self, station_id: str) -> int:
        """Recorded second-vote attempts made at a station."""
        return self._read("SELECT count(*) FROM vote_refusals WHERE station_id = ?", (station_id,))[0][0]

    def vote_refusals(self, voter_id: str) -> list[dict]:
        """Recorded second-vote attempts for one voter, oldest first (kiosk, station, and the first
        vote's kiosk and station)."""
        return [{"attempted_at": r["attempted_at"], "kiosk_id": r["kiosk_id"], "station_id": r["station_id"],
                 "official_id": r["official_id"], "session_id": r["session_id"],
                 "first_kiosk_id": r["first_kiosk_id"], "first_station_id": r["first_station_id"]}
                for r in self._read("SELECT * FROM vote_refusals WHERE voter_id = ? ORDER BY id", (voter_id,))]

    def kiosk_votes(self, kiosk_id: str) -> list[dict]:
        """The votes this kiosk marked, oldest first, each with the voter's commission pseudonym (or None)."""
        rows = self._read("SELECT v.voter_id, v.voted_at, v.station_id, v.official_id, v.method, p.pseudonym"
                          " FROM votes v LEFT JOIN voter_pseudonyms p ON p.voter_id = v.voter_id"
                          " WHERE v.kiosk_id = ? ORDER BY v.voted_at, v.voter_id", (kiosk_id,))
        return [{"voter_id": r[0], "voted_at": r[1], "station_id": r[2], "official_id": r[3], "method": r[4],
                 "pseudonym": r[5]} for r in rows]

    # -- officials ----------------------------------------------------------------------------------
    def add_official(self, username: str, password_hash: str, role: str, display_name: str) -> None:
        with self.transaction() as db:
            try:
                db.execute("INSERT INTO officials(username, password_hash, role, display_name) VALUES (?, ?, ?, ?)",
                           (username, password_hash, role, display_name))
            except self._db.integrity_errors as exc:
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

    STATION_COUNTS = ("votes_marked", "refused", "ink_found", "fallbacks", "second_vote_attempts")

    def station_summary(self, station_id: str) -> dict:
        """Every kiosk of a station added up, from the shared registry: per kiosk and in total, votes
        marked, refusals, ink found, fallback decisions and refused second-vote attempts."""
        kiosks: dict[str, dict[str, int]] = {}

        def add(kiosk_id: str, key: str, n: int) -> None:
            kiosks.setdefault(kiosk_id, dict.fromkeys(self.STATION_COUNTS, 0))[key] += n
        for kiosk_id, n in self._read("SELECT kiosk_id, count(*) FROM votes WHERE station_id = ? GROUP BY kiosk_id",
                                      (station_id,)):
            add(kiosk_id, "votes_marked", n)
        for kiosk_id, outcome, method, n in self._read(
                "SELECT kiosk_id, outcome, method, count(*) FROM decisions WHERE station_id = ?"
                " GROUP BY kiosk_id, outcome, method", (station_id,)):
            if outcome == "refused":
                add(kiosk_id, "refused", n)
            if method.startswith("fallback"):
                add(kiosk_id, "fallbacks", n)
        for kiosk_id, n in self._read("SELECT kiosk_id, count(*) FROM ink_findings WHERE station_id = ?"
                                      " GROUP BY kiosk_id", (station_id,)):
            add(kiosk_id, "ink_found", n)
        for kiosk_id, n in self._read("SELECT kiosk_id, count(*) FROM vote_refusals WHERE station_id = ?"
                                      " GROUP BY kiosk_id", (station_id,)):
            add(kiosk_id, "second_vote_attempts", n)
        totals = {key: sum(k[key] for k in kiosks.values()) for key in self.STATION_COUNTS}
        registered = self._read("SELECT count(*) FROM voters WHERE station_id = ?", (station_id,))[0][0]
        return {"station_id": station_id, "registered": registered, "totals": totals,
                "kiosks": dict(sorted(kiosks.items()))}

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
