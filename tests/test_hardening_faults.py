"""The fault campaign's device storms, kept fast: booth sessions through the real kiosk with one
simulated device fault each; no server error, only documented refusals, the booth works again once
the faults are cleared and the bundle verifies. The long run is ``python -m bench faults``."""
from __future__ import annotations

from bench.faults import run
from test_e2e import PASSWORDS


def test_a_storm_of_device_faults_during_booth_sessions_leaves_the_booth_working(demo_copy):
    report = run(demo_copy, sessions=4, seed=18, passwords=PASSWORDS)
    assert report.sessions == 4 and report.requests >= 4
    assert report.undocumented == [] and 500 not in report.statuses
    assert report.recovered and report.bundle_valid
