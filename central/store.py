"""Everything the commission server stores, behind one class (every SQL statement lives here).

Tables: ``kiosks`` (enrolment by audit key, and the Merkle frontier of what was accepted), ``entries``
(every accepted audit entry, verbatim as evidence, with the columns the reports group by), ``votes``
(the ``vote_marked`` pseudonyms, indexed for the double-vote match), ``checkpoints`` (every accepted
signed checkpoint), ``alerts`` (forks and double votes; never deleted), ``officials`` and ``tokens``,
``case_decisions`` (adjudication decisions on national duplicate cases, one per case; never deleted).
"""
from __future__ import annotations

import hashlib
import json
from kiosk.audit.merkle import MerkleTree, leaf_hash

from central.db import Database
from central.frontier import Frontier
from central.push import Accepted, KioskState, PushRefused

ROLES = ("monitor", "admin")
"""``monitor`` reads the reports and alerts; ``admin`` also enrols kiosks and officials."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY, station_id TEXT NOT NULL, vkey TEXT NOT NULL UNIQUE, enrolled_at TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0, frontier TEXT NOT NULL DEFAULT '[]', checkpoint TEXT,
    last_push_at TEXT, last_entry_time TEXT);
CREATE TABLE IF NOT EXISTS entries (
    kiosk_id TEXT NOT NULL, seq BIGINT NOT NULL, station_id TEXT NOT NULL, event TEXT NOT NULL,
    time TEXT NOT NULL, reason TEXT, raw TEXT NOT NULL, PRIMARY KEY (kiosk_id, seq));
CREATE INDEX IF NOT EXISTS entries_event ON entries(event, station_id);
CREATE TABLE IF NOT EXISTS votes (
    voter TEXT NOT NULL, kiosk_id TEXT NOT NULL, seq BIGINT NOT NULL, station_id TEXT NOT NULL,
    time TEXT NOT NULL, PRIMARY KEY (kiosk_id, seq));
CREATE INDEX IF NOT EXISTS votes_voter ON votes(voter);
CREATE TABLE IF NOT EXISTS checkpoints (
    kiosk_id TEXT NOT NULL, size BIGINT NOT NULL, note TEXT NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, size));
CREATE TABLE IF NOT EXISTS alerts (
    alert_key TEXT PRIMARY KEY, kind TEXT NOT NULL, kiosk_id TEXT, station_id TEXT, created_at TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS officials (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, display_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS case_decisions (
    case_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, official TEXT NOT NULL, recorded_at TEXT NOT NULL,
    detail TEXT NOT NULL)
"""


class Store:
    def __init__(self, database: Database):
        self.db = database
        database.script(SCHEMA)

    @classmethod
    def open(cls, url: str) -> "Store":
        return cls(Database(url))

    def close(self) -> None:
        self.db.close()

    # -- kiosks ---------------------------------------------------------------------------------
    def enrol_kiosk(self, kiosk_id: str, station_id: str, vkey: str, now: str) -> None:
        with self.db.transaction() as cur:
            if cur.execute("SELECT 1 FROM kiosks WHERE kiosk_id = ? OR vkey = ?", (kiosk_id, vkey)).fetchone():
                raise ValueError(f"kiosk {kiosk_id} or its key is already enrolled")
            cur.execute("INSERT INTO kiosks(kiosk_id, station_id, vkey, enrolled_at) VALUES (?, ?, ?, ?)",
                        (kiosk_id, station_id, vkey, now))

    def kiosk_by_key(self, vkey: str) -> KioskState | None:
        rows = self.db.read("SELECT kiosk_id, station_id, vkey, size, frontier, checkpoint FROM kiosks "
                            "WHERE vkey = ?", (vkey,))
        if not rows:
            return None
        kiosk_id, station_id, vkey, size, frontier, checkpoint = rows[0]
        return KioskState(kiosk_id, station_id, vkey, Frontier.from_hex(size, json.loads(frontier)), checkpoint)

    def kiosks(self) -> list[dict]:
        rows = self.db.read("SELECT kiosk_id, station_id, size, last_push_at, last_entry_time, enrolled_at "
                            "FROM kiosks ORDER BY station_id, kiosk_id")
        return [{"kiosk_id": k, "station_id": s, "entries": n, "last_push_at": p, "last_entry_time": t,
                 "enrolled_at": e} for k, s, n, p, t, e in rows]

    def root_at(self, kiosk_id: str, size: int) -> bytes:
        """The root of the first ``size`` accepted entries (rebuilt from the stored entries)."""
        rows = self.db.read("SELECT raw FROM entries WHERE kiosk_id = ? AND seq < ? ORDER BY seq", (kiosk_id, size))
        return MerkleTree([leaf_hash(r[0].encode("utf-8")) for r in rows]).root()

    # -- pushes ---------------------------------------------------------------------------------
    def store_push(self, state: KioskState, accepted: Accepted, now: str) -> list[str]:
        """Store a verified push whole (or nothing); return the voters newly found voting twice."""
        with self.db.transaction() as cur:
            if accepted.duplicate:
                cur.execute("UPDATE kiosks SET last_push_at = ? WHERE kiosk_id = ?", (now, state.kiosk_id))
                return []
            last_time = accepted.entries[-1].value["time"]
            cur.execute("UPDATE kiosks SET size = ?, frontier = ?, checkpoint = ?, last_push_at = ?, "
                        "last_entry_time = ? WHERE kiosk_id = ? AND size = ?",
                        (accepted.frontier.size, json.dumps(accepted.frontier.to_hex()), accepted.checkpoint,
                         now, last_time, state.kiosk_id, state.size))
            if cur.rowcount != 1:   # another push of this kiosk won the race
                raise PushRefused(409, "resume", "another push of this kiosk was stored first; push again")
            cur.executemany("INSERT INTO entries(kiosk_id, seq, station_id, event, time, reason, raw) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            ((state.kiosk_id, e.seq, state.station_id, e.value["event"], e.value["time"],
                              _text(e.value.get("reason")), e.raw) for e in accepted.entries))
            votes = [(e.value["voter"], state.kiosk_id, e.seq, state.station_id, e.value["time"])
                     for e in accepted.entries if e.value["event"] == "vote_marked" and e.value.get("voter")]
            cur.executemany("INSERT INTO votes(voter, kiosk_id, seq, station_id, time) VALUES (?, ?, ?, ?, ?)",
                            votes)
            cur.execute("INSERT INTO checkpoints(kiosk_id, size, note, received_at) VALUES (?, ?, ?, ?)",
                        (state.kiosk_id, accepted.frontier.size, accepted.checkpoint, now))
            return self._match_double_votes(cur, sorted({v[0] for v in votes}), now)

    def _match_double_votes(self, cur, voters: list[str], now: str) -> list[str]:
        found = []
        for start in range(0, len(voters), 500):
            chunk = voters[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = cur.execute(f"SELECT voter FROM votes WHERE voter IN ({marks}) GROUP BY voter "
                               "HAVING count(*) > 1", chunk).fetchall()
            for (voter,) in rows:
                cur.execute("INSERT INTO alerts(alert_key, kind, created_at, detail) VALUES (?, 'double_vote', ?, ?) "
                            "ON CONFLICT (alert_key) DO NOTHING", (f"double_vote:{voter}", now,
                                                                   json.dumps({"voter": voter})))
                found.append(voter)
        return found

    def record_fork(self, evidence: dict, now: str) -> bool:
        """Keep a fork alert (the first evidence, once per kiosk); True if it is new."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO alerts(alert_key, kind, kiosk_id, station_id, created_at, detail) "
                        "VALUES (?, 'fork', ?, ?, ?, ?) ON CONFLICT (alert_key) DO NOTHING",
                        (f"fork:{evidence['kiosk_id']}", evidence["kiosk_id"],
                         evidence["station_id"], now, json.dumps(evidence)))
            return cur.rowcount == 1

    # -- reports --------------------------------------------------------------------------------
    def forks(self) -> list[dict]:
        rows = self.db.read("SELECT created_at, detail FROM alerts WHERE kind = 'fork' ORDER BY created_at")
        return [{"detected_at": t, **json.loads(d)} for t, d in rows]

    def audit_logs(self) -> list[dict]:
        """Every enrolled kiosk's accepted entries (parsed), for the commission's audit report."""
        forked = {r[0] for r in self.db.read("SELECT kiosk_id FROM alerts WHERE kind = 'fork'")}
        logs = []
        for kiosk_id, station_id, vkey, size, checkpoint in self.db.read(
                "SELECT kiosk_id, station_id, vkey, size, checkpoint FROM kiosks ORDER BY station_id, kiosk_id"):
            rows = self.db.read("SELECT raw FROM entries WHERE kiosk_id = ? ORDER BY seq", (kiosk_id,))
            logs.append({"kiosk_id": kiosk_id, "station_id": station_id, "vkey": vkey, "size": size,
                         "checkpoint": checkpoint, "forked": kiosk_id in forked,
                         "entries": [json.loads(r[0]) for r in rows]})
        return logs

    def double_votes(self) -> list[dict]:
        alerts = self.db.read("SELECT created_at, detail FROM alerts WHERE kind = 'double_vote' ORDER BY created_at")
        out = []
        for created, detail in alerts:
            voter = json.loads(detail)["voter"]
            votes = self.db.read("SELECT station_id, kiosk_id, time, seq FROM votes WHERE voter = ? ORDER BY time",
                                 (voter,))
            out.append({"voter": voter, "detected_at": created,
                        "votes": [{"station_id": s, "kiosk_id": k, "time": t, "seq": q} for s, k, t, q in votes]})
        return out

    def turnout(self) -> list[dict]:
        rows = self.db.read("SELECT station_id, substr(time, 1, 13), count(*) FROM votes "
                            "GROUP BY station_id, substr(time, 1, 13) ORDER BY 1, 2")
        return [{"station_id": s, "hour": h + ":00Z", "votes": n} for s, h, n in rows]

    def refusals_and_fallbacks(self) -> list[dict]:
        rows = self.db.read("SELECT event, coalesce(reason, ''), count(*) FROM entries "
                            "WHERE event IN ('refusal', 'fallback') GROUP BY event, coalesce(reason, '') ORDER BY 1, 2")
        return [{"event": e, "reason": r or "(none)", "count": n} for e, r, n in rows]

    def counts(self) -> dict:
        entries = self.db.read("SELECT count(*) FROM entries")[0][0]
        return {"entries": entries, "kiosks": self.db.read("SELECT count(*) FROM kiosks")[0][0]}

    def storage_bytes(self) -> int:
        if self.db.postgres:
            return int(self.db.read("SELECT pg_database_size(current_database())")[0][0])
        size, count = self.db.read("PRAGMA page_size")[0][0], self.db.read("PRAGMA page_count")[0][0]
        return int(size) * int(count)

    # -- officials and tokens -------------------------------------------------------------------
    def add_official(self, username: str, password_hash: str, role: str, display_name: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO officials(username, password_hash, role, display_name) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                        "role = excluded.role, display_name = excluded.display_name",
                        (username, password_hash, role, display_name))

    def official(self, username: str) -> tuple[str, str, str] | None:
        rows = self.db.read("SELECT password_hash, role, display_name FROM officials WHERE username = ?", (username,))
        return rows[0] if rows else None

    def add_token(self, token: str, username: str, expires_at: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO tokens(token_sha256, username, expires_at) VALUES (?, ?, ?)",
                        (_sha(token), username, expires_at))

    def token_user(self, token: str, now: str) -> tuple[str, str] | None:
        rows = self.db.read("SELECT o.username, o.role FROM tokens t JOIN officials o ON o.username = t.username "
                            "WHERE t.token_sha256 = ? AND t.expires_at > ?", (_sha(token), now))
        return rows[0] if rows else None


    # -- national adjudication ----------------------------------------------------------------------
    def record_case_decision(self, event: dict, now: str) -> None:
        """Keep a case decision (national.cases' audit event); a second decision of a case is refused."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO case_decisions(case_id, outcome, official, recorded_at, detail) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
                        (event["case"], event["outcome"], event["official_id"], now, json.dumps(event)))
            if cur.rowcount != 1:
                raise ValueError(f"{event['case']} was already decided")

    def case_decisions(self) -> list[tuple[str, str]]:
        return self.db.read("SELECT recorded_at, detail FROM case_decisions ORDER BY recorded_at, case_id")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

