"""One connection interface over SQLite (demo, single file) and PostgreSQL (a commission deployment).

SQL is written once with ``?`` placeholders and only the syntax both engines accept
(``ON CONFLICT ... DO NOTHING``, no AUTOINCREMENT); the PostgreSQL side rewrites ``?`` to ``%s``.
Every write goes through :meth:`Database.transaction` (``BEGIN IMMEDIATE`` on SQLite), so a push is
stored whole or not at all.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence


class StorageError(RuntimeError):
    """The database is unreachable or refused a statement."""


class Cursor:
    def __init__(self, raw: Any, postgres: bool):
        self._raw, self._pg = raw, postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg else sql

    def execute(self, sql: str, params: Sequence = ()) -> "Cursor":
        self._raw.execute(self._sql(sql), tuple(params))
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        self._raw.executemany(self._sql(sql), [tuple(r) for r in rows])

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self._raw.fetchall()]

    def fetchone(self) -> tuple | None:
        row = self._raw.fetchone()
        return tuple(row) if row is not None else None

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount


class Database:
    """``Database.connect(url)`` with ``sqlite:///path`` or ``postgresql://...``."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._pool = None
        if self.postgres:
            from psycopg_pool import ConnectionPool

            self._pool = ConnectionPool(url, min_size=1, max_size=8, open=True, timeout=30)
        elif url.startswith("sqlite:///"):
            self._path = url[len("sqlite:///"):]
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        else:
            raise StorageError(f"unsupported database URL (sqlite:/// or postgresql://): {url.split(':', 1)[0]}")

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: a commit survives a process crash
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        if self.postgres:
            with self._pool.connection() as conn:       # commits on success, rolls back on error
                with conn.transaction(), conn.cursor() as cur:
                    yield Cursor(cur, True)
            return
        conn = self._sqlite()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Cursor(conn.cursor(), False)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        if self.postgres:
            with self._pool.connection() as conn, conn.cursor() as cur:
                return Cursor(cur, True).execute(sql, params).fetchall()
        return Cursor(self._sqlite().cursor(), False).execute(sql, params).fetchall()

    def script(self, statements: str) -> None:
        with self.transaction() as cur:
            for statement in statements.split(";"):
                if statement.strip():
                    cur.execute(statement)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
