"""PostgreSQL fixtures: a real throw-away cluster from Debian's binaries (kiosk/registry/pgcluster.py).

Registered from tests/conftest.py (``pytest_plugins``), so any test module can ask for:

- ``pg_cluster`` (session): one running :class:`PostgresCluster` on a Unix socket, shared by the run.
  Do not stop or kill it; fault tests use ``pg_private_cluster``.
- ``pg_database`` (function): the URL (``postgresql://kiosk@/NAME?host=/socket/dir&port=5432``) of a
  fresh, empty database in that cluster, dropped after the test.
- ``pg_private_cluster`` (function): a cluster of the test's own (about 1.5 s to start), free to
  ``stop()``, ``restart()`` and ``kill()``; removed after the test.

When the binaries are missing the fixtures first run tools/install-postgres (apt, as ``./dev test``
does); only where that is impossible (not root, no apt) do the tests skip, saying why.
"""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from kiosk.registry.pgcluster import INSTALL_HINT, PostgresCluster, PostgresUnavailable, find_bin_dir

_INSTALLER = Path(__file__).resolve().parent.parent / "tools" / "install-postgres"
_unavailable: list[str] = []     # the reason, once found, so every test skips without retrying apt


def _require_binaries() -> None:
    if _unavailable:
        pytest.skip(_unavailable[0])
    if find_bin_dir() is not None:
        return
    result = subprocess.run([str(_INSTALLER)], capture_output=True, text=True) if _INSTALLER.exists() else None
    if find_bin_dir() is None:
        detail = result.stderr.strip() if result is not None else "tools/install-postgres is missing"
        _unavailable.append(f"PostgreSQL server binaries absent and could not be installed ({detail}); "
                            f"{INSTALL_HINT}")
        pytest.skip(_unavailable[0])


def _started_cluster() -> PostgresCluster:
    _require_binaries()
    cluster = PostgresCluster()
    try:
        return cluster.start()
    except PostgresUnavailable:
        cluster.cleanup()
        raise


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = _started_cluster()
    yield cluster
    cluster.cleanup()


@pytest.fixture
def pg_database(pg_cluster) -> str:
    name = "t_" + uuid.uuid4().hex[:16]
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def pg_private_cluster():
    cluster = _started_cluster()
    yield cluster
    cluster.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, tmp_path) -> str:
    """A fresh, empty registry database on each backend in turn: the registry and workflow tests run
    on both (ids ``[sqlite]`` and ``[postgresql]``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    return request.getfixturevalue("pg_database")


def raw_sql(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement straight on the database behind ``database_url`` (``?`` placeholders), around
    the registry: for tests that look at or tamper with what is stored."""
    if database_url.startswith("sqlite:"):
        import sqlite3

        with sqlite3.connect(database_url[len("sqlite:///"):]) as db:
            return db.execute(sql, params).fetchall()
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        cursor = db.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []
