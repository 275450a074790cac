"""A station's registry server going away and coming back, kiosks dying mid-transaction, and the
SQLite databases made before schema migrations existed. The module has a PostgreSQL cluster of its
own, which its tests stop and kill (each test starts with it running and a fresh database)."""
from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from kiosk.registry import AlreadyVoted, Registry, RegistryUnavailable
from kiosk.registry.migrations import available, latest_version

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def fault_cluster():
    from pg_fixtures import _started_cluster

    cluster = _started_cluster()
    yield cluster
    cluster.cleanup()


@pytest.fixture
def pg_private_cluster(fault_cluster):
    if not fault_cluster.is_running():      # a test that failed half-way left it stopped
        fault_cluster.start()
    return fault_cluster


_databases = iter(range(1, 1000))


def _fresh(cluster) -> str:
    return cluster.create_database(f"station_{next(_databases)}")


def _voter(reg: Registry, n: int) -> str:
    return reg.add_voter(voter_id=f"V{n:04d}", id_number=f"{n:09d}", name="SOK DARA", birth_date=None, sex="M",
                         station_id="PS-0001")


def _mark(reg: Registry, vid: str, kiosk="k1", session=None):
    return reg.mark_voted(vid, kiosk_id=kiosk, station_id="PS-0001", official_id="o", method="biometric",
                          session_id=session)


def test_a_stopped_server_makes_the_registry_unavailable_at_once_and_it_resumes_by_itself(pg_private_cluster):
    url = _fresh(pg_private_cluster)
    reg = Registry(url, KEY)
    vid = _voter(reg, 1)
    pg_private_cluster.stop("immediate")
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable):
        reg.ping(timeout=1)
    with pytest.raises(RegistryUnavailable):
        _mark(reg, vid, session="S-1")
    assert time.monotonic() - started < 10
    pg_private_cluster.start()
    # the same Registry object, no reopening: the pool replaces the connections the restart cut
    reg.ping(timeout=5)
    assert _mark(reg, vid, session="S-1").session_id == "S-1"
    assert reg.get_voter(vid).has_voted
    reg.close()


def test_reads_after_a_server_restart_answer_although_every_pooled_connection_was_cut(pg_private_cluster):
    from concurrent.futures import ThreadPoolExecutor

    url = _fresh(pg_private_cluster)
    reg = Registry(url, KEY, pool_max_size=4)
    vid = _voter(reg, 1)
    with ThreadPoolExecutor(4) as pool:        # four connections open in the pool
        list(pool.map(lambda _: reg.find_voter("000000001") and time.sleep(0.2), range(4)))
    pg_private_cluster.restart("immediate")
    # reads are not checked before use (one round trip less each): one that meets a cut connection
    # runs again on the next, so none of them fails
    assert [reg.get_voter(vid).voter_id for _ in range(6)] == [vid] * 6
    reg.ping(timeout=1)
    reg.close()


def test_a_confirmation_after_a_server_restart_marks_at_the_first_try_and_exactly_once(pg_private_cluster):
    from concurrent.futures import ThreadPoolExecutor

    url = _fresh(pg_private_cluster)
    reg = Registry(url, KEY, pool_max_size=4)
    voters = [_voter(reg, n) for n in range(1, 5)]
    with ThreadPoolExecutor(4) as pool:        # four connections open in the pool
        list(pool.map(lambda _: reg.find_voter("000000001") and time.sleep(0.2), range(4)))
    pg_private_cluster.restart("immediate")
    # a confirmation carries its session: run again on the next connection it is the same vote
    assert [_mark(reg, vid, session=f"S-{vid}").session_id for vid in voters] == [f"S-{vid}" for vid in voters]
    with pytest.raises(AlreadyVoted):
        _mark(reg, voters[0], kiosk="k2", session="S-other")
    assert reg.summary("PS-0001")["votes_marked"] == 4 and reg.summary("PS-0001")["second_vote_attempts"] == 1
    reg.close()


def _hold_a_vote_open(url: str, vid: str, ready) -> None:
    reg = Registry(url, KEY)
    with reg.transaction() as db:
        db.execute("INSERT INTO votes(voter_id, voted_at, kiosk_id, station_id, official_id, method, session_id)"
                   " VALUES (?, 'now', 'killed-kiosk', 'PS-0001', 'o', 'biometric', 'S-dead')", (vid,))
        ready.set()
        time.sleep(60)        # killed here, before COMMIT


def test_a_kiosk_killed_mid_transaction_leaves_no_vote_and_does_not_block_the_voter(pg_private_cluster):
    url = _fresh(pg_private_cluster)
    reg = Registry(url, KEY)
    vid = _voter(reg, 1)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    kiosk = context.Process(target=_hold_a_vote_open, args=(url, vid, ready))
    kiosk.start()
    assert ready.wait(60)
    kiosk.kill()              # SIGKILL: no rollback sent; the server notices the dead connection
    kiosk.join()
    assert not reg.get_voter(vid).has_voted
    assert _mark(reg, vid, kiosk="k2").kiosk_id == "k2"   # the row lock died with the kiosk
    with pytest.raises(AlreadyVoted):
        _mark(reg, vid, kiosk="k3")
    reg.close()


def test_acknowledged_marks_survive_a_server_crash_and_a_retry_after_it_is_not_a_second_vote(pg_private_cluster):
    url = _fresh(pg_private_cluster)
    reg = Registry(url, KEY)
    voters = [_voter(reg, n) for n in range(20)]
    acknowledged = [_mark(reg, vid, session=f"S-{vid}") for vid in voters[:10]]
    pg_private_cluster.kill()
    with pytest.raises(RegistryUnavailable):
        _mark(reg, voters[10], session=f"S-{voters[10]}")
    pg_private_cluster.start()
    assert [reg.get_voter(v.voter_id).vote for v in acknowledged] == acknowledged
    # the booth retries every session whose answer it never got, and sessions it did get
    for vid in voters[:11]:
        assert _mark(reg, vid, session=f"S-{vid}").session_id == f"S-{vid}"
    assert reg.summary("PS-0001")["votes_marked"] == 11 and reg.summary("PS-0001")["second_vote_attempts"] == 0
    reg.close()


def test_a_sqlite_registry_made_before_migrations_is_adopted_and_upgraded(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:        # what the kiosk of the previous release created
        old.executescript(available("sqlite")[0].sql)
        old.execute("INSERT INTO voters VALUES ('V1', '123456789', 'A', NULL, 'F', 'PS-0001', 'then')")
        old.execute("INSERT INTO votes VALUES ('V1', 'then', 'k0', 'PS-0001', 'o', 'biometric')")
    reg = Registry(f"sqlite:///{path}", KEY)
    assert reg.get_voter("V1").vote.kiosk_id == "k0"
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == \
            list(range(1, latest_version() + 1))
    with pytest.raises(AlreadyVoted):
        _mark(reg, "V1", kiosk="k1")
    reg.close()
