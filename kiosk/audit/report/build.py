"""From bundles to a report model: verify each bundle, keep only trusted ones, summarise, flag.

A bundle's numbers enter the report only if it verifies (``kiosk.audit.verify``) AND its log key is
trusted (one of ``trusted_keys``, or any key with ``accept_any_key``, which the report then says on
its first page). Two bundles of one key: the shorter must be a prefix of the longer (an earlier
export of the same log) and is superseded by it; otherwise the log forked and neither is used.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field

from kiosk.audit.bundle import Bundle, read_bundle
from kiosk.audit.errors import BundleInvalid
from kiosk.audit.report import outliers
from kiosk.audit.report.evidence import ScoreSet
from kiosk.audit.report.facts import KioskFacts, kiosk_facts, merge
from kiosk.audit.verify import VerifyReport, verify_loaded

VALID, UNTRUSTED, INVALID, SUPERSEDED, FORKED = "valid", "untrusted key", "invalid", "superseded", "forked"


@dataclass
class BundleStatus:
    path: str
    status: str
    error: str | None = None
    origin: str | None = None
    log_key: str | None = None
    entries: int = 0
    checkpoints: int = 0
    cosigned_by: list[str] = field(default_factory=list)
    first_time: str | None = None
    last_time: str | None = None
    data: bytes = field(default=b"", repr=False)


@dataclass
class Station:
    station_id: str
    kiosks: list[KioskFacts]
    total: KioskFacts


@dataclass
class Report:
    generated_at: str
    bundles: list[BundleStatus]
    stations: list[Station]
    flags: list[outliers.Flag]
    evidence: list[ScoreSet]
    threshold: float
    accept_any_key: bool
    gap_minutes: int
    utc_offset_hours: int

    @property
    def used(self) -> list[BundleStatus]:
        return [b for b in self.bundles if b.status == VALID]


def check_bundle(source: str | os.PathLike | tuple[str, Bundle], trusted_keys: set[str],
                 accept_any_key: bool) -> BundleStatus:
    """Verify one bundle: a path, or ``(name, Bundle)`` for a bundle a server holds in memory."""
    name, path = (source[0], None) if isinstance(source, tuple) else (str(source), source)
    status = BundleStatus(path=name, status=INVALID)
    report = VerifyReport()
    try:
        bundle = source[1] if path is None else read_bundle(path)
        verify_loaded(bundle, report, [])
    except (BundleInvalid, OSError) as exc:
        status.error = str(exc)
        status.origin, status.log_key = report.origin, report.log_key
        return status
    status.origin, status.log_key, status.entries = report.origin, report.log_key, report.entries
    status.checkpoints, status.cosigned_by = report.checkpoints, list(report.cosigned_by)
    status.first_time, status.last_time, status.data = report.first_time, report.last_time, bundle.entries
    trusted = accept_any_key or report.log_key in trusted_keys
    status.status = VALID if trusted else UNTRUSTED
    if not trusted:
        status.error = "its log key is not among the trusted keys given (--trusted-key)"
    return status


def resolve_duplicates(statuses: list[BundleStatus]) -> None:
    """Several valid bundles of one log key: keep the longest if the others are its prefixes."""
    by_key: dict[str, list[BundleStatus]] = defaultdict(list)
    for status in statuses:
        if status.status == VALID:
            by_key[status.log_key].append(status)
    for group in by_key.values():
        if len(group) < 2:
            continue
        longest = max(group, key=lambda s: len(s.data))
        if all(longest.data.startswith(s.data) for s in group):
            for other in group:
                if other is not longest:
                    other.status, other.error = SUPERSEDED, f"an earlier export of the log in {longest.path}"
        else:
            for other in group:
                other.status = FORKED
                other.error = "another bundle signed by the same key holds a different history (the log forked)"


def build_report(paths: list[str | os.PathLike | tuple[str, Bundle]], *, trusted_keys=(), accept_any_key: bool = False,
                 **options) -> Report:
    """Verify every bundle, then summarise the trusted, current ones (``options``: see :func:`summarise`)."""
    statuses = [check_bundle(p, set(trusted_keys), accept_any_key) for p in paths]
    resolve_duplicates(statuses)
    logs = [(status, [json.loads(line) for line in status.data.splitlines()] if status.status == VALID else [])
            for status in statuses]
    for status in statuses:
        status.data = b""   # the entries are summarised; do not keep them around
    return summarise(logs, accept_any_key=accept_any_key, **options)


def summarise(logs: list[tuple[BundleStatus, list[dict]]], *, evidence: list[ScoreSet] = (), threshold: float = 40.0,
              gap_minutes: int = 30, utc_offset_hours: int = 0, generated_at: str = "",
              accept_any_key: bool = False) -> Report:
    """The report of logs already verified (a commission server verifies every push on arrival).

    Only logs whose status is ``valid`` are counted; the others are listed with their reason.
    """
    per_station: dict[str, list[KioskFacts]] = defaultdict(list)
    for status, entries in logs:
        if status.status == VALID:
            facts = kiosk_facts(entries, gap_minutes=gap_minutes, utc_offset_hours=utc_offset_hours)
            per_station[facts.station_id].append(facts)
    stations, flags = [], []
    for station_id in sorted(per_station):
        kiosks = sorted(per_station[station_id], key=lambda k: k.kiosk_id)
        total = merge(kiosks, station_id)
        stations.append(Station(station_id, kiosks, total))
        flags += outliers.fallback_outliers(station_id, kiosks)
        flags += outliers.supervisor_outliers(station_id, total)
        flags += outliers.refusal_hour_outliers(station_id, total)
    return Report(generated_at=generated_at, bundles=[status for status, _ in logs], stations=stations, flags=flags,
                  evidence=list(evidence), threshold=threshold, accept_any_key=accept_any_key,
                  gap_minutes=gap_minutes, utc_offset_hours=utc_offset_hours)
