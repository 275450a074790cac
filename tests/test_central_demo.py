"""``central demo`` end to end, small: a server process, 6 kiosk processes over 3 stations, a link cut,
a server restart, one rewritten log and 3 planted double voters; the server reports exactly those."""
from __future__ import annotations

import io

import pytest

from central.demo import run_demo


@pytest.mark.slow
def test_the_simulated_election_finds_the_fork_and_the_three_double_voters_and_nothing_else(tmp_path):
    out = io.StringIO()
    result = run_demo(kiosks=6, stations=3, voters_per_kiosk=8, pace_seconds=0.05, work_dir=str(tmp_path),
                      out=out, restart_at=0.5)   # early: on an idle machine the kiosks finish within 1.5 s
    assert result["ok"], out.getvalue()
    assert result["forks"] == [result["expected_fork"]] and result["restarted"]
    assert sorted(d["voter"] for d in result["double_votes"]) == sorted(result["planted"])
    for double in result["double_votes"]:
        stations = [v["station_id"] for v in double["votes"]]
        assert len(stations) == 2 and stations[0] != stations[1]
    assert "PASS" in out.getvalue()
