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
