"""Versioned schema migrations: numbered SQL files, one per dialect, applied in order at start.

``NNNN_name.sqlite.sql`` and ``NNNN_name.postgresql.sql`` in this directory are migration ``NNNN``.
Each database records what it has in ``schema_migrations(version, name, applied_at)``; opening a
registry applies the missing ones in one transaction under an exclusive lock (SQLite's write lock,
a PostgreSQL advisory lock), so eight kiosks starting at once migrate the station server once, and a
migration that fails leaves the database as it was. A database newer than this code is refused.

Why a small runner and not alembic: the registry's SQL is hand-written for two dialects and lives in
one package; alembic would bring SQLAlchemy (a new dependency) for what is, here, "run the files whose
number is not in this table". Plain SQL files can also be read and run by a station's database
administrator without Python. Never edit a migration that has shipped: add the next number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from kiosk.registry.errors import RegistryError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")
ADVISORY_LOCK_KEY = 0x6B696F736B   # "kiosk": serialises migrations of one PostgreSQL database


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements (split on ``;`` at a line's end; comment lines dropped)."""
        text = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in re.split(r";\s*$", text, flags=re.MULTILINE) if s.strip()]


def available(dialect: str) -> list[Migration]:
    """This code's migrations for ``dialect`` (``sqlite`` or ``postgresql``), in version order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _FILE.match(entry.name)
        if match and match.group(3) == dialect:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RegistryError(f"{dialect} migrations are not numbered 1..N: {[m.version for m in found]}")
    return found


def latest_version(dialect: str = "sqlite") -> int:
    return len(available(dialect))


def migrate(backend) -> list[int]:
    """Bring the backend's database to the latest schema; returns the versions applied now."""
    wanted = available(backend.name)
    with backend.exclusive_transaction(ADVISORY_LOCK_KEY) as db:
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL)")
        have = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
        if have and max(have) > len(wanted):
            raise RegistryError(f"the registry database has schema version {max(have)}, newer than this kiosk "
                                f"knows ({len(wanted)}): upgrade the kiosk software")
        applied = []
        for migration in wanted:
            if migration.version in have:
                continue
            for statement in migration.statements():
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                       (migration.version, migration.name,
                        datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
            applied.append(migration.version)
    return applied


def current_version(backend) -> int:
    rows = backend.read("SELECT max(version) FROM schema_migrations")
    return int(rows[0][0] or 0)
