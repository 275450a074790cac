"""The kiosk's outbox: pushes reach the commission whenever a link exists, survive link cuts, kiosk
restarts and server restarts, and never store an entry twice."""
from __future__ import annotations

import pytest
from central_kit import Kiosk, LiveServer, enrol

from kiosk.sync import Pusher, SyncState


@pytest.fixture
def kiosk(tmp_path):
    kiosk = Kiosk(tmp_path / "audit")
    for _ in range(5):
        kiosk.record(7)     # a checkpoint at least every 10 entries
    yield kiosk
    kiosk.close()


def _pusher(kiosk, url, tmp_path, **options) -> Pusher:
    return Pusher(url, kiosk.root, kiosk.key, kiosk.verifier, tmp_path / "sync" / "state.json", timeout_s=5,
                  **options)


def _held(server) -> int:
    return server.app.extensions["central"].store.counts()["entries"]


def test_a_link_cut_is_retried_with_back_off_and_the_cursor_survives_a_kiosk_restart(kiosk, tmp_path):
    server = LiveServer(f"sqlite:///{tmp_path / 'central.sqlite3'}").start()
    enrol(server.app, kiosk)
    port = server.port
    server.stop()                                   # the link is down
    pusher = _pusher(kiosk, server.url, tmp_path)
    assert pusher.sync() is False and pusher.sync() is False
    assert pusher.state.failures == 2 and "not reachable" in pusher.state.last_error
    assert 1.0 <= pusher.next_delay(10) <= 2.0      # 1 s, 2 s, 4 s ... with jitter
    server = LiveServer(server.database_url, port).start()   # the link is back; the kiosk restarted
    restarted = _pusher(kiosk, server.url, tmp_path)
    assert restarted.state.failures == 2             # read back from state.json
    assert restarted.sync() is True and restarted.state.server_size == kiosk.log.size == _held(server)
    assert restarted.state.failures == 0 and restarted.state.last_success_at
    kiosk.record(12)
    assert restarted.sync() is True and _held(server) == kiosk.log.size
    assert SyncState.load(tmp_path / "sync" / "state.json").server_size == kiosk.log.size
    server.stop()


def test_a_lost_acknowledgement_resumes_without_storing_twice(kiosk, tmp_path):
    server = LiveServer(f"sqlite:///{tmp_path / 'central.sqlite3'}").start()
    enrol(server.app, kiosk)
    pusher = _pusher(kiosk, server.url, tmp_path)
    assert pusher.sync() is True
    pusher.state.server_size = 0                  # as if the acknowledgement never arrived
    kiosk.record(7)
    assert pusher.sync() is True and _held(server) == kiosk.log.size == pusher.state.server_size
    server.stop()


def test_a_server_restart_between_batches_loses_and_duplicates_nothing(kiosk, tmp_path):
    server = LiveServer(f"sqlite:///{tmp_path / 'central.sqlite3'}").start()
    enrol(server.app, kiosk)
    pusher = _pusher(kiosk, server.url, tmp_path, max_entries=10)
    assert pusher.sync(max_rounds=2) is False       # two bounded batches, then it stops short
    held = _held(server)
    assert 0 < held < kiosk.log.size
    server.stop()
    assert pusher.sync() is False                   # pushed while the server is down
    server = LiveServer(server.database_url, server.port).start()
    assert pusher.sync() is True and _held(server) == kiosk.log.size
    server.stop()


def test_a_forked_log_keeps_failing_and_says_so(kiosk, tmp_path):
    server = LiveServer(f"sqlite:///{tmp_path / 'central.sqlite3'}").start()
    enrol(server.app, kiosk)
    assert _pusher(kiosk, server.url, tmp_path).sync() is True
    forged = Kiosk(tmp_path / "rewritten", key=kiosk.key)
    forged.record(60)
    pusher = Pusher(server.url, forged.root, forged.key, forged.verifier, tmp_path / "sync" / "state.json")
    assert pusher.sync() is False and pusher.state.last_error.startswith("fork")
    assert len(server.app.extensions["central"].store.forks()) == 1
    forged.close()
    server.stop()


def test_the_kiosk_service_pushes_in_the_background_and_reports_the_last_success(kiosk, tmp_path):
    import time
    from types import SimpleNamespace

    from kiosk.sync.service import SyncService

    server = LiveServer(f"sqlite:///{tmp_path / 'central.sqlite3'}").start()
    enrol(server.app, kiosk)
    settings = SimpleNamespace(commission_url=server.url, data_dir=tmp_path, commission_push_seconds=0.2)
    service = SyncService.for_log(settings, kiosk.log, kiosk.key).start()
    try:
        kiosk.log.append({"event": "session_started", "official_id": "po-1"})   # not yet checkpointed
        deadline = time.monotonic() + 20
        while _held(server) < kiosk.log.size and time.monotonic() < deadline:
            time.sleep(0.1)
        status = service.status()
        assert _held(server) == kiosk.log.size     # the service signed a checkpoint over the new entry
        assert status["configured"] and status["last_success_at"] and status["last_error"] is None
    finally:
        service.stop()
        server.stop()
