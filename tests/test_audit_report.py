"""The commission's audit report: facts, flags, trust, evidence and the CLI, on real signed bundles."""
from __future__ import annotations

import re
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench._polling_day import write_day
from kiosk.audit import AuditLog, export_bundle
from kiosk.audit.cli import main as audit_cli
from kiosk.audit.report import EvidenceError, build_report, read_scores, render_html
from kiosk.audit.report.evidence import equal_error_rate, fnmr_at_fmr, group_rates
from kiosk.audit.report.facts import find_gaps, kiosk_facts
from kiosk.audit.report.outliers import binomial_tail

VOTER = "a" * 64


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """Four stations, three kiosks each, 160 voters per station, with planted patterns."""
    return write_day(tmp_path_factory.mktemp("day"), stations=4, kiosks_per_station=3, voters_per_station=160, seed=7)


@pytest.fixture(scope="module")
def report(day):
    return build_report(day.bundles, trusted_keys=day.trusted_keys, generated_at="2026-07-26 09:00 UTC")


def entry(seq, time, event, **fields):
    return {"seq": seq, "time": f"2026-07-26T{time}:00.000000Z", "event": event, "station_id": "PS-0001",
            "kiosk_id": "kiosk-01", **fields}


# -- facts -------------------------------------------------------------------------------------------

def test_turnout_is_counted_from_vote_marked_entries_in_station_time():
    entries = [entry(0, "00:10", "vote_marked", voter=VOTER), entry(1, "00:50", "vote_marked", voter=VOTER),
               entry(2, "01:05", "vote_marked", voter=VOTER)]
    facts = kiosk_facts(entries, utc_offset_hours=7)
    assert dict(facts.votes_by_hour) == {7: 2, 8: 1}


def test_fallbacks_are_counted_with_the_supervisor_who_approved_them():
    entries = [entry(0, "01:00", "fallback", kind="fallback_face_only", supervisor_id="sup-a", outcome="verified"),
               entry(1, "01:10", "fallback", kind="fallback_no_card", supervisor_id="sup-a", outcome="verified"),
               entry(2, "01:20", "override", kind="ink_checked_by_eye", official_id="po-1", outcome="no_ink")]
    facts = kiosk_facts(entries)
    assert facts.fallback_count == 2
    assert facts.approvals[("face only", "sup-a")] == 1
    assert facts.approvals[("no card", "sup-a")] == 1
    assert facts.approvals[("ink checked by eye", "po-1")] == 1


def test_a_silence_while_the_kiosk_was_up_is_a_gap_but_a_shutdown_is_not():
    entries = [entry(0, "01:00", "session_started"), entry(1, "02:00", "session_started"),
               entry(2, "02:05", "shutdown"), entry(3, "05:00", "boot"), entry(4, "05:10", "session_started")]
    gaps = find_gaps(entries, gap_minutes=30)
    assert [(g.start[11:16], g.end[11:16], g.minutes) for g in gaps] == [("01:00", "02:00", 60)]


# -- flags -------------------------------------------------------------------------------------------

def test_binomial_tail_matches_exact_small_cases():
    assert binomial_tail(0, 10, 0.3) == 1.0
    assert binomial_tail(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert binomial_tail(2, 3, 0.5) == pytest.approx(0.5)          # P(2) + P(3) = 3/8 + 1/8
    assert binomial_tail(1, 1000, 1e-4) == pytest.approx(1 - (1 - 1e-4) ** 1000)


def test_every_planted_pattern_is_flagged_and_nothing_else(day, report):
    flagged = {(f.station_id, f.subject) for f in report.flags}
    station, kiosk = day.planted.high_fallback_kiosk
    sup_station, supervisor = day.planted.busy_supervisor
    hour_station, hour = day.planted.refusal_hour
    assert flagged == {(station, f"kiosk {kiosk}"), (sup_station, f"supervisor {supervisor}"),
                       (hour_station, f"hour {hour:02d}:00")}


def test_an_ordinary_day_raises_no_flag(tmp_path):
    quiet = write_day(tmp_path, stations=2, kiosks_per_station=3, voters_per_station=150, seed=3, plant=False)
    assert build_report(quiet.bundles, trusted_keys=quiet.trusted_keys).flags == []


# -- trust -------------------------------------------------------------------------------------------

def test_counts_reconcile_with_the_bundles_end_of_day_summaries(day, report):
    assert len(report.used) == len(day.bundles)
    assert {s.station_id for s in report.stations} == {"PS-0001", "PS-0002", "PS-0003", "PS-0004"}
    for station in report.stations:
        assert station.total.sessions == 160
        assert station.total.votes == sum(k.votes for k in station.kiosks)
        assert station.total.decided == 160


def test_untrusted_bundles_are_listed_and_left_out(day):
    report = build_report(day.bundles, trusted_keys=day.trusted_keys[1:])
    statuses = [b.status for b in report.bundles]
    assert statuses[0] == "untrusted key" and statuses[1:] == ["valid"] * (len(day.bundles) - 1)
    first = report.stations[0]
    assert "kiosk-01" not in [k.kiosk_id for k in first.kiosks]


def test_a_tampered_bundle_is_invalid_and_left_out(day, tmp_path):
    forged = tmp_path / "forged.kab"
    data = day.bundles[0].read_bytes()
    forged.write_bytes(data.replace(b'"outcome":"refused"', b'"outcome":"verified"', 1))
    report = build_report([forged, *day.bundles[1:]], trusted_keys=day.trusted_keys)
    assert report.bundles[0].status == "invalid"
    assert report.bundles[0].error
    assert len(report.used) == len(day.bundles) - 1


def _log(directory, key, events, name="kiosk-audit/PS-0009/kiosk-01"):
    log = AuditLog.open(directory, key, name, kiosk_id="kiosk-01", station_id="PS-0009")
    log.append_many(events)
    return log


def test_an_earlier_export_of_the_same_log_is_superseded(tmp_path):
    key = Ed25519PrivateKey.generate()
    log = _log(tmp_path / "log", key, [{"event": "session_started", "official_id": "po-1"}])
    early = export_bundle(log, tmp_path / "early.kab")
    log.append({"event": "session_started", "official_id": "po-1"})
    late = export_bundle(log, tmp_path / "late.kab")
    vkey = log.verifier.vkey
    log.close()
    report = build_report([early, late], trusted_keys=[vkey])
    assert [b.status for b in report.bundles] == ["superseded", "valid"]


def test_two_histories_under_one_key_are_a_fork_and_neither_counts(tmp_path):
    key = Ed25519PrivateKey.generate()
    one = _log(tmp_path / "one", key, [{"event": "session_started", "official_id": "po-1"}])
    two = _log(tmp_path / "two", key, [{"event": "session_started", "official_id": "po-2"}])
    bundles = [export_bundle(one, tmp_path / "one.kab"), export_bundle(two, tmp_path / "two.kab")]
    vkey = one.verifier.vkey
    one.close(), two.close()
    report = build_report(bundles, trusted_keys=[vkey])
    assert [b.status for b in report.bundles] == ["forked", "forked"]
    assert report.stations == []


# -- evidence ----------------------------------------------------------------------------------------

SCORES = """modality,set,group,genuine,score
fingerprint,FVC DB1,,1,50
fingerprint,FVC DB1,,1,45
fingerprint,FVC DB1,,1,20
fingerprint,FVC DB1,,0,10
fingerprint,FVC DB1,,0,5
fingerprint,FVC DB1,,0,30
face,calibration,women,1,60
face,calibration,women,0,12
face,calibration,men,1,35
face,calibration,men,0,45
"""


def test_scores_are_read_per_modality_and_set():
    sets = {(s.modality, s.name): s for s in read_scores(SCORES)}
    assert sorted(sets[("fingerprint", "FVC DB1")].genuine) == [20, 45, 50]
    assert sorted(sets[("fingerprint", "FVC DB1")].impostor) == [5, 10, 30]


def test_equal_error_rate_and_fnmr_at_fmr_on_a_known_set():
    genuine, impostor = [20, 45, 50], [5, 10, 30]
    assert equal_error_rate(genuine, impostor) == pytest.approx(1 / 3)
    assert fnmr_at_fmr(genuine, impostor, 0.34) == 0.0              # threshold 20: one impostor (30) passes
    assert fnmr_at_fmr([20, 45, 50], [1, 2, 3, 4, 5, 6, 7, 10, 30, 35], 0.1) == pytest.approx(1 / 3)  # threshold 35
    assert fnmr_at_fmr(genuine, impostor, 0.001) is None            # three impostors cannot show 0.1 %


def test_group_rates_at_the_operating_threshold():
    face = next(s for s in read_scores(SCORES) if s.modality == "face")
    rates = {g.group: g for g in group_rates(face, threshold=40)}
    assert (rates["women"].fnmr, rates["women"].fmr) == (0.0, 0.0)
    assert (rates["men"].fnmr, rates["men"].fmr) == (1.0, 1.0)


@pytest.mark.parametrize("text, line", [
    ("modality,set,genuine,score\n", 1),
    ("modality,set,group,genuine,score\nfingerprint,a,,1,high\n", 2),
    ("modality,set,group,genuine,score\nfingerprint,a,,1,3\niris,a,,1,3\n", 3),
    ("modality,set,group,genuine,score\nface,a,,yes,3\n", 2),
    ("modality,set,group,genuine,score\nface,a,,1,nan\n", 2),
])
def test_a_malformed_scores_file_names_the_line(text, line):
    with pytest.raises(EvidenceError, match=f"line {line}:"):
        read_scores(text)


# -- the page ----------------------------------------------------------------------------------------

def test_the_page_holds_every_plot_with_a_text_alternative_and_no_pseudonym(report):
    html = render_html(report)
    images = re.findall(r"<img [^>]*>", html)
    assert images and all(re.search(r'alt="[^"]{20,}"', img) for img in images)
    assert all('src="data:image/svg+xml;base64,' in img for img in images)  # self-contained: no request leaves
    assert not re.search(r"\b[0-9a-f]{64}\b", html)                          # pseudonyms stay in the bundles
    assert "http://" not in html and "https://" not in html


def test_evidence_section_reports_per_group_rates(report):
    report.evidence = read_scores(SCORES)
    html = render_html(report)
    report.evidence = []
    assert "error rates per group at score 40" in html
    assert "women" in html and "men" in html


# -- the command -------------------------------------------------------------------------------------

def test_cli_writes_the_report_and_exits_0_when_every_bundle_counts(day, tmp_path, capsys):
    out = tmp_path / "report.html"
    keys = tmp_path / "keys.txt"
    keys.write_text("# provisioned kiosks\n" + "\n".join(day.trusted_keys) + "\n")
    assert audit_cli(["report", *map(str, day.bundles[:3]), "-o", str(out), "--trusted-keys", str(keys)]) == 0
    assert "3 of 3 bundles counted" in capsys.readouterr().out
    assert out.read_text().startswith("<!doctype html>")


def test_cli_exits_1_and_names_each_bundle_left_out(day, tmp_path, capsys):
    out = tmp_path / "report.html"
    code = audit_cli(["report", *map(str, day.bundles[:2]), "-o", str(out), "--trusted-key", day.trusted_keys[0]])
    assert code == 1
    err = capsys.readouterr().err
    assert f"left out: {day.bundles[1]}: UNTRUSTED KEY" in err
    assert out.exists()


def test_cli_refuses_a_malformed_scores_file(day, tmp_path, capsys):
    bad = tmp_path / "scores.csv"
    bad.write_text("score\n1\n")
    code = audit_cli(["report", str(day.bundles[0]), "-o", str(tmp_path / "r.html"), "--accept-any-key",
                      "--evidence", str(bad)])
    assert code == 2
    assert "line 1" in capsys.readouterr().err


def test_bundle_directories_are_accepted_as_well_as_files(day, tmp_path):
    from kiosk.audit.bundle import read_bundle, write_bundle

    directory = write_bundle(read_bundle(day.bundles[0]), tmp_path / "as-directory")
    report = build_report([directory], trusted_keys=day.trusted_keys)
    assert [b.status for b in report.bundles] == ["valid"]
    shutil.rmtree(directory)


def test_a_server_can_pass_bundles_it_holds_in_memory(day):
    from kiosk.audit.bundle import read_bundle

    held = [(f"kiosk {n}", read_bundle(path)) for n, path in enumerate(day.bundles[:2])]
    report = build_report(held, trusted_keys=day.trusted_keys)
    assert [(b.path, b.status) for b in report.bundles] == [("kiosk 0", "valid"), ("kiosk 1", "valid")]
