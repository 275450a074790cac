"""The throw-away PostgreSQL cluster the station tests and benchmarks run on (kiosk/registry/pgcluster.py)."""
from __future__ import annotations

import psycopg
import pytest

from kiosk.registry.pgcluster import PostgresCluster, PostgresUnavailable


def test_a_fresh_database_is_reachable_on_the_clusters_unix_socket_only(pg_cluster, pg_database):
    assert f"host={pg_cluster.socket_dir}" in pg_database
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SELECT current_database()").fetchone()[0] in pg_database


def test_committed_rows_survive_a_kill_9_of_every_server_process(pg_private_cluster):
    url = pg_private_cluster.create_database("survives")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE marks (voter TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO marks VALUES ('V1')")
    pg_private_cluster.kill()
    assert not pg_private_cluster.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    pg_private_cluster.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT voter FROM marks").fetchall() == [("V1",)]


def test_restart_cuts_open_connections_and_the_server_comes_back(pg_private_cluster):
    url = pg_private_cluster.url()
    conn = psycopg.connect(url)
    pg_private_cluster.restart(mode="immediate")
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    with psycopg.connect(url) as again:
        assert again.execute("SELECT 1").fetchone() == (1,)


def test_missing_binaries_are_reported_with_how_to_install_them(tmp_path):
    with pytest.raises(PostgresUnavailable, match="postgresql"):
        PostgresCluster(bin_dir=tmp_path).start()


OWNER = """
import sys, time
from kiosk.registry.pgcluster import PostgresCluster
cluster = PostgresCluster().start()
print(cluster.base_dir, cluster.postmaster_pid(), flush=True)
time.sleep(600)
"""


def test_a_cluster_whose_owner_is_killed_with_sigkill_is_stopped_and_removed(pg_cluster):  # binaries present
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from kiosk.registry.pgcluster import _alive

    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        base_dir, pid = owner.stdout.readline().split()
        assert Path(base_dir).is_dir() and _alive(int(pid))
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 10
        while (_alive(int(pid)) or Path(base_dir).exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(int(pid)), "the server outlived its owner"
        assert not Path(base_dir).exists(), "the cluster's directory outlived its owner"
    finally:
        owner.kill()
        owner.wait()
