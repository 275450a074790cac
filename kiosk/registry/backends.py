"""The two databases the registry runs on, behind one small interface.

``sqlite:///path`` - SQLite in WAL mode, one connection per thread: the embedded default for a single
kiosk and the demo. Several kiosk processes on ONE machine may share the file (writes take the
database lock with ``BEGIN IMMEDIATE``); SQLite over a network share is not safe, so a station with
several kiosk machines uses PostgreSQL.

``postgresql://...`` - a station server shared by every kiosk of a polling station, through a
psycopg 3 connection pool (autocommit connections; writes in explicit transactions; every connection
checked before it is handed out, so the first request after a server restart does not fail on a
connection the restart cut).

Callers (only :mod:`kiosk.registry.storage` and :mod:`kiosk.registry.migrations`) write SQL once, with
``?`` placeholders and the common subset both dialects accept; the few spellings that differ are
attributes of the backend (``fingers_aggregate``). A lost database raises
:class:`~kiosk.registry.errors.RegistryUnavailable`; a constraint violation raises the backend's own
``integrity_errors``, which the storage turns into registry errors.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from kiosk.registry.errors import RegistryError, RegistryUnavailable

POOL_MAX_SIZE = 10
"""Connections one kiosk process keeps to the station server (waitress serves 8 threads)."""
POOL_TIMEOUT_SECONDS = 3.0
"""How long a request waits for a pooled connection before the registry counts as unavailable."""
CONNECT_TIMEOUT_SECONDS = 3


def open_backend(database_url: str, *, pool_max_size: int = POOL_MAX_SIZE, connection_trace=None):
    """``connection_trace(waited_s, held_s)``, if given, is called after each use of a pooled
    connection (PostgreSQL): how long the caller waited for it (checking it included) and held it."""
    scheme = database_url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return SqliteBackend(database_url)
    if scheme in ("postgresql", "postgres"):
        return PostgresBackend(database_url, pool_max_size=pool_max_size, connection_trace=connection_trace)
    raise RegistryError(f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://...")


class SqliteBackend:
    name = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)
    fingers_aggregate = "group_concat(finger, ',')"

    def __init__(self, database_url: str):
        if database_url.startswith("sqlite:///"):
            self.path = database_url[len("sqlite:///"):]
        else:
            self.path = database_url[len("sqlite://"):] or ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")   # a vote acknowledged survives power loss
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: the database's write lock from the start);
        nested calls join the outer one."""
        with _sqlite_errors():
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

    def exclusive_transaction(self, lock_key: int):
        """A transaction no other process can run beside (``BEGIN IMMEDIATE`` is the file's write lock)."""
        return self.transaction()

    def read(self, sql: str, params: Iterable = ()) -> list:
        with _sqlite_errors():
            return self._connection().execute(sql, tuple(params)).fetchall()

    def statements(self, work, *, idempotent: bool = False):
        """``work(db)``: statements each committed on its own (autocommit); inside a transaction, part
        of it."""
        with _sqlite_errors():
            return work(self._connection())

    def pool_stats(self) -> dict:
        return {}

    def ping(self, timeout: float = 1.0) -> None:
        self.read("SELECT 1")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def describe(self) -> str:
        return f"sqlite:///{self.path}"


@contextmanager
def _sqlite_errors():
    try:
        yield
    except sqlite3.OperationalError as exc:
        # locked for longer than busy_timeout, file gone, disk I/O error: nothing was written
        raise RegistryUnavailable(f"the registry database cannot be used: {exc}") from exc


class Row(tuple):
    """A PostgreSQL row readable by position and by column name, like :class:`sqlite3.Row`."""

    names: dict[str, int]

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor):
    # the column names straight from the result (cursor.description builds a Column object, with its
    # type information, per column per query: a quarter of a lookup's client CPU time)
    result = cursor.pgresult
    names = {result.fname(i).decode(): i for i in range(result.nfields)} if result is not None else {}

    def make(values):
        row = Row(values)
        row.names = names
        return row
    return make


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgConnection:
    """The transaction's connection, with the same ``execute(sql, params)`` as sqlite3's."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql: str, params: Iterable = ()):
        return self._conn.execute(_pg_sql(sql), tuple(params))


RECONNECT_EVERY_SECONDS = 1.0
"""While the station server is away, the pool tries to reconnect this often (not psycopg_pool's
doubling back-off, which after a few minutes' outage would leave a kiosk waiting minutes more)."""
RECONNECT_FOREVER = 365 * 24 * 3600.0


@lru_cache(maxsize=1)
def _steady_pool_class():
    from psycopg_pool import ConnectionPool
    from psycopg_pool.base import AttemptWithBackoff

    class SteadyAttempt(AttemptWithBackoff):
        INITIAL_DELAY = RECONNECT_EVERY_SECONDS
        DELAY_JITTER = 0.1
        DELAY_BACKOFF = 1.0

    class SteadyPool(ConnectionPool):
        """psycopg_pool's pool, reconnecting at a steady pace (``_add_connection`` is where the pool
        makes its back-off object; giving it ours is the only change)."""

        def _add_connection(self, attempt, growing: bool = False) -> None:
            super()._add_connection(attempt or SteadyAttempt(timeout=self.reconnect_timeout), growing)

    return SteadyPool


CHECK_IDLE_AFTER_SECONDS = 0.0
"""A pooled connection idle longer than this is checked (one round trip) before it is handed out for a
write, so the first write after a server restart does not fail on a connection the restart cut. 0:
always (a 1 s grace saved a round trip under load but let a connection cut within that second fail the
first health check after the server returned). Reads and pings are not checked: they are safe to run
again, so they retry on the next connection when the one they got turns out cut (``_retried``)."""

_unchecked = threading.local()    # set while a read takes a connection: the pool's check skips it


def _note_return(conn) -> None:
    conn._kiosk_returned_at = time.monotonic()


def _check_if_idle(conn) -> None:
    from psycopg_pool import ConnectionPool

    if getattr(_unchecked, "on", False):
        return
    if time.monotonic() - getattr(conn, "_kiosk_returned_at", 0.0) > CHECK_IDLE_AFTER_SECONDS:
        ConnectionPool.check_connection(conn)


class PostgresBackend:
    name = "postgresql"
    fingers_aggregate = "string_agg(finger, ',')"

    def __init__(self, database_url: str, *, pool_max_size: int = POOL_MAX_SIZE, connection_trace=None):
        import psycopg

        self.url = database_url
        self._trace = connection_trace
        self.integrity_errors = (psycopg.IntegrityError,)
        self._psycopg = psycopg
        pool_class = _steady_pool_class()
        self._pool = pool_class(
            database_url, min_size=1, max_size=pool_max_size, timeout=POOL_TIMEOUT_SECONDS, open=True,
            check=_check_if_idle, reset=_note_return, name="kiosk-registry", reconnect_timeout=RECONNECT_FOREVER,
            kwargs={"autocommit": True, "row_factory": _row_factory, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                    "application_name": "kiosk"})
        self._local = threading.local()

    def connect_once(self):
        """A connection outside the pool (migrations), raising RegistryUnavailable if there is none."""
        with self._errors():
            return self._psycopg.connect(self.url, autocommit=True, row_factory=_row_factory,
                                         connect_timeout=CONNECT_TIMEOUT_SECONDS)

    @contextmanager
    def _errors(self):
        from psycopg_pool import PoolTimeout

        try:
            yield
        except (self._psycopg.OperationalError, PoolTimeout) as exc:
            raise RegistryUnavailable(f"the station's registry server cannot be reached: "
                                      f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                                      ) from exc

    @contextmanager
    def _lend(self, *, checked: bool = True, timeout: float | None = None):
        """A pooled connection (checked first unless ``checked`` is false), timed for
        ``connection_trace`` when one is set."""
        asked = time.perf_counter()
        _unchecked.on = not checked
        try:
            conn = self._pool.getconn(timeout)
        finally:
            _unchecked.on = False
        lent = time.perf_counter()
        try:
            with conn:       # as psycopg_pool's connection(): ends a transaction left open
                yield conn
        finally:
            self._pool.putconn(conn)     # a broken connection is replaced by a new one
            if self._trace is not None:
                self._trace(lent - asked, time.perf_counter() - lent)

    def _retried(self, work, timeout: float | None = None):
        """``work(conn)`` on an unchecked pooled connection; on a connection a server restart cut (it
        fails at once), again on the next one, until one works or the pool has to wait for a new one
        (PoolTimeout: the server is still away). Only for statements safe to run twice."""
        for _ in range(self._pool.max_size + 1):
            with self._errors(), self._lend(checked=False, timeout=timeout) as conn:
                try:
                    return work(conn)
                except self._psycopg.OperationalError:
                    if not conn.broken:
                        raise
        with self._errors(), self._lend(timeout=timeout) as conn:
            return work(conn)

    @contextmanager
    def transaction(self) -> Iterator[_PgConnection]:
        current = getattr(self._local, "conn", None)
        if current is not None:          # nested: join the outer transaction
            yield current
            return
        with self._errors(), self._lend() as conn, conn.transaction():
            self._local.conn = _PgConnection(conn)
            try:
                yield self._local.conn
            finally:
                self._local.conn = None

    @contextmanager
    def exclusive_transaction(self, lock_key: int) -> Iterator[_PgConnection]:
        """A transaction on a connection of its own, holding advisory lock ``lock_key`` until it ends,
        so concurrent callers (kiosks starting together) run one after the other."""
        conn = self.connect_once()
        try:
            with self._errors(), conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
                yield _PgConnection(conn)
        finally:
            conn.close()

    def read(self, sql: str, params: Iterable = ()) -> list:
        current = getattr(self._local, "conn", None)
        if current is not None:
            return current.execute(sql, params).fetchall()
        return self._retried(lambda conn: conn.execute(_pg_sql(sql), tuple(params)).fetchall())

    def statements(self, work, *, idempotent: bool = False):
        """``work(db)``: several statements on one pooled connection, each committed on its own
        (autocommit): one round trip each, where a transaction would add BEGIN and COMMIT; inside a
        transaction, part of it. ``idempotent`` work (the same answer when run twice) skips the
        connection check and runs again on the next connection if a server restart cut this one."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            return work(current)
        if idempotent:
            return self._retried(lambda conn: work(_PgConnection(conn)))
        with self._errors(), self._lend() as conn:
            return work(_PgConnection(conn))

    def pool_stats(self) -> dict:
        """psycopg_pool's counters since the pool opened: requests, time waiting for a connection
        (``requests_wait_ms``) and time connections were lent out (``usage_ms``)."""
        return dict(self._pool.get_stats())

    def ping(self, timeout: float = 1.0) -> None:
        self._retried(lambda conn: conn.execute("SELECT 1"), timeout=timeout)

    def close(self) -> None:
        self._pool.close()

    def describe(self) -> str:
        """The URL without a password, for logs and errors."""
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        return f"postgresql://{info.get('user', '')}@{info.get('host', '')}/{info.get('dbname', '')}"
