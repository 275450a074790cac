"""Fault campaign: a kiosk killed after a vote commits and before its ``vote_marked`` entry is written.
The exact window, not random kills: the child process commits the vote as the confirm step does and
dies (``os._exit``, like kill -9: no close, no final checkpoint). At the next start the vote gets its
entry, marked recovered, and the kiosk's bundle verifies with its summary reconciled."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from kiosk import create_app, keys
from kiosk.audit import default_origin, verify_bundle
from kiosk.audit.bundle import export_bundle
from kiosk.audit.note import Signer

CRASH_AFTER_THE_VOTE_COMMITS = textwrap.dedent("""
    import os, sys
    from kiosk import config
    from kiosk.app import build_services
    settings = config.load(overrides={"data_dir": sys.argv[1], "key_dir": sys.argv[1] + "/keys"}, environ={})
    services = build_services(settings, devices=object())
    voter = services.registry.all_voter_ids(settings.station_id)[0]
    services.registry.mark_voted(voter, kiosk_id=settings.kiosk_id, station_id=settings.station_id,
                                 official_id="official", method="biometric")
    os._exit(137)   # the vote is committed; its vote_marked entry is never appended
""")


def test_a_vote_committed_just_before_a_crash_gets_its_entry_at_the_next_start(demo_copy, tmp_path):
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_THE_VOTE_COMMITS, str(demo_copy)],
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    app = create_app({"data_dir": demo_copy, "key_dir": demo_copy / "keys"})
    services = app.extensions["kiosk"]
    try:
        assert services.registry.summary("PS-0001", kiosk_id="kiosk-01")["votes_marked"] == 1
        out = export_bundle(services.recorder.log, tmp_path / "day.kab", official_id="auditor",
                            summary=services.registry.summary("PS-0001", kiosk_id="kiosk-01"))
    finally:
        services.close()
    trusted = Signer(default_origin("kiosk-01", "PS-0001"), keys.signing_key(demo_copy / "keys", environ={}))
    report = verify_bundle(out, trusted_keys=[trusted.verifier.vkey])
    assert report.ok, report.error
    assert any("votes_marked=1" in line for line in report.reconciled)
    entries = [json.loads(line) for line in (tmp_path / "day.kab").read_bytes().split(b"\n")
               if line.startswith(b'{"') and b'"vote_marked"' in line]
    assert len(entries) == 1 and entries[0]["recovered"] is True and entries[0]["official_id"] == "official"


def test_a_clean_restart_recovers_nothing(demo_copy):
    for _ in range(2):
        app = create_app({"data_dir": demo_copy, "key_dir": demo_copy / "keys"})
        app.extensions["kiosk"].close()
    from kiosk.audit import layout, records

    entries = records.scan((demo_copy / "audit" / layout.ENTRIES_LOG).read_bytes()).entries
    assert not [e for e in entries if b'"vote_marked"' in e]
