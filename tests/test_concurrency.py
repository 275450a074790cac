"""Many parallel requests to mark the same voter, against a real waitress server: exactly one wins.

Several sessions for one voter are each taken through the real workflow (simulators over PTYs, real
matcher) to ``awaiting_confirmation``; then many threads fire ``confirm`` on all of them at once.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from waitress.server import create_server

from test_e2e import booth, demo_dir, verify_to_ink  # noqa: F401  (fixtures shared with the end-to-end tests)

SESSIONS = 5
REQUESTS_PER_SESSION = 8


@pytest.fixture
def server(booth):  # noqa: F811
    srv = create_server(booth.app, host="127.0.0.1", port=0, threads=16)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        srv.task_dispatcher.shutdown()   # let in-flight tasks finish before the sockets go
        srv.close()
        thread.join(timeout=5)


def _post(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST", data=b"",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_parallel_confirmations_for_one_voter_mark_exactly_one_vote(booth, server):  # noqa: F811
    h = booth.headers()
    token = h["Authorization"].split()[1]
    sessions = []
    for _ in range(SESSIONS):
        sessions.append(verify_to_ink(booth, h, "DEMO01"))
        booth.to_ink_cradle()
        assert booth.step(h, sessions[-1], "ink").json["state"] == "awaiting_confirmation"
        booth.suite.remove_card()

    barrier = threading.Barrier(SESSIONS * REQUESTS_PER_SESSION)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def fire(session_id: str) -> None:
        barrier.wait()
        result = _post(f"{server}/api/sessions/{session_id}/confirm", token)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=fire, args=(sid,)) for sid in sessions for _ in range(REQUESTS_PER_SESSION)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(results) == SESSIONS * REQUESTS_PER_SESSION
    voted = [body for status, body in results if status == 200 and body["state"] == "voted"]
    assert len(voted) == 1
    # every other session ended as a flagged second attempt; repeated requests on an ended session are refused
    ended = Counter(body["state"] for status, body in results if status == 200)
    assert ended == Counter({"voted": 1, "already_voted": SESSIONS - 1})
    refused = Counter(body["error"]["code"] for status, body in results if status != 200)
    assert refused == Counter({"invalid_step": SESSIONS * (REQUESTS_PER_SESSION - 1)})
    counts = booth.summary(h)
    assert (counts["votes_marked"], counts["already_voted"], counts["second_vote_attempts"]) == \
        (1, SESSIONS - 1, SESSIONS - 1)
