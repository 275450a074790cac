"""The station benchmark's fault run, short: kiosk processes marking votes on one PostgreSQL registry
while kiosks are killed with SIGKILL and the server is crashed and restarted (bench/station.py).
Nothing acknowledged is lost, nobody is marked twice, and every kiosk's audit bundle verifies."""
from __future__ import annotations

from argparse import Namespace

from bench.station import station_run


def test_kill_9_of_kiosks_and_server_restarts_lose_no_acknowledged_mark_and_make_no_duplicate(pg_private_cluster):
    args = Namespace(kiosks=3, concurrency=5, voters=60, seed=7)
    run = station_run(pg_private_cluster, "faults", args, kills=3, restarts=1, fault_every_s=0.05)
    result, checked = run["result"], run["checked"]
    assert result["faults"] == {"kill": 3, "restart": 1}
    assert (checked["lost"], checked["duplicates"], checked["unanswered_votes"]) == (0, 0, 0)
    assert checked["votes"] == checked["voters"] == 60
    assert checked["refusals"] == checked["attempts"] - checked["voters"]   # each other attempt, once
    assert checked["bundles_ok"] == 3
