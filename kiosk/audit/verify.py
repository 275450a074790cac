"""Offline verification of an exported bundle, and the counts a commission reconciles.

:func:`verify_bundle` needs nothing but the bundle (and, optionally, the log key the commission
registered for this kiosk). It checks, in order, stopping at the first failure:

1. structure: the files a bundle has and nothing else; keys.txt parses (exactly one log key);
2. entries: each line canonical JSON, a loggable event (same rules as when it was appended: no
   floats, no raw biometric or identity data), ``seq`` equal to its line number (contiguous from 0),
   ``time`` in UTC format and never decreasing;
3. checkpoints: every signature line verifies against a key in keys.txt, each is signed by the log
   key, its origin is the log key's name, its signed number is its file number, its signed time
   lies between the entries around it, its root equals the root recomputed from the entries,
   sizes strictly increase, successive checkpoints are consistent (RFC 9162 consistency proof
   generated from the entries and verified against the two signed roots), and the last one covers
   every entry;
4. counts: per station and per official, fallbacks, overrides, refusals and votes marked; every
   ``export``/``shutdown`` entry that carries a ``summary`` (the end-of-day counts) must agree
   with the counts of the entries up to it.

Tally rule: one ``fallback``, ``override``, ``refusal`` or ``vote_marked`` entry counts one; the
summary keys compared are ``fallbacks``, ``overrides``, ``refusals`` (or ``refused``) and
``votes_marked`` (keys a summary lacks are not compared).
"""
from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from kiosk.audit import canonical, layout
from kiosk.audit.bundle import Bundle, read_bundle
from kiosk.audit.errors import BundleInvalid, EventRejected, NoteError, ProofError
from kiosk.audit.events import validate_fields
from kiosk.audit.merkle import MerkleTree, leaf_hash, verify_consistency
from kiosk.audit.note import Checkpoint, Verifier, open_note

TIME = layout.TIME
TALLIED = {"fallback": "fallbacks", "override": "overrides", "refusal": "refusals",
           "vote_marked": "votes_marked"}
SUMMARY_KEYS = {"fallbacks": ("fallbacks",), "overrides": ("overrides",),
                "refusals": ("refusals", "refused"), "votes_marked": ("votes_marked",)}


@dataclass
class VerifyReport:
    ok: bool = False
    error: str | None = None
    origin: str | None = None
    log_key: str | None = None
    entries: int = 0
    checkpoints: int = 0
    root_hash: str | None = None
    cosigned_by: list[str] = field(default_factory=list)  # names co-signing the latest checkpoint
    stations: dict[str, dict[str, int]] = field(default_factory=dict)
    officials: dict[str, dict[str, int]] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)
    first_time: str | None = None
    last_time: str | None = None
    key_trusted: bool = False   # the log key is one the caller vouched for (``trusted_keys``)
    seen_checkpoints: int = 0   # checkpoints the commission saw earlier, each proven consistent

    def render(self, *, require_trusted_key: bool = False) -> str:
        """The report as text; with ``require_trusted_key`` (the CLI without ``--accept-any-key``) a
        bundle signed by a key nobody vouched for says UNTRUSTED KEY instead of VALID."""
        if self.ok and not self.key_trusted and require_trusted_key:
            lines = ["bundle: UNTRUSTED KEY",
                     "!!! consistent and signed, but by a key nobody vouched for: anyone can re-sign an edited",
                     "!!! log with a fresh key. Pass --trusted-key with the kiosk's registered verifier key",
                     "!!! (or --accept-any-key to check internal consistency only)."]
        elif self.ok and not self.key_trusted:
            lines = ["bundle: VALID (internally consistent only: any signing key accepted)"]
        else:
            lines = [f"bundle: {'VALID' if self.ok else 'INVALID'}"]
        if self.error:
            lines.append(f"failed: {self.error}")
        if self.origin:
            lines.append(f"log: {self.origin}  key: {self.log_key}")
        lines.append(f"entries: {self.entries}  checkpoints: {self.checkpoints}"
                     + (f"  root: {self.root_hash}" if self.root_hash else ""))
        if self.first_time:
            lines.append(f"time: {self.first_time} .. {self.last_time}")
        if self.cosigned_by:
            lines.append("latest checkpoint co-signed by: " + ", ".join(self.cosigned_by))
        columns = list(SUMMARY_KEYS)
        for title, table in (("station", self.stations), ("official", self.officials)):
            if table:
                lines.append(f"{title:<20}" + "".join(f"{c:>14}" for c in columns))
                for name in sorted(table):
                    lines.append(f"{name:<20}" + "".join(f"{table[name].get(c, 0):>14}" for c in columns))
        lines += [f"reconciled: {r}" for r in self.reconciled]
        if self.seen_checkpoints:
            lines.append(f"consistent with {self.seen_checkpoints} checkpoint(s) seen earlier (no tail cut off)")
        return "\n".join(lines)


def verify_bundle(path: str | os.PathLike, *, trusted_keys: Iterable[str] = (),
                  seen_checkpoints: Iterable[str] = ()) -> VerifyReport:
    """Verify a bundle directory or file; ``report.ok`` is True only if every check passed.

    ``trusted_keys`` are verifier key strings (``name+hash+base64``); when given, the bundle's
    log key must be one of them (``report.key_trusted``), otherwise the bundle only proves itself
    consistent. ``seen_checkpoints`` are signed checkpoint notes the commission saw earlier (or
    co-signed ones): a bundle whose tail was cut off is a valid log on its own, so only such a
    checkpoint proves it is not shorter than what was already witnessed.
    """
    report = VerifyReport()
    try:
        bundle = read_bundle(path)
        tree = verify_loaded(bundle, report, list(trusted_keys))
        for index, note in enumerate(seen_checkpoints):
            check_seen_checkpoint(note, bundle, tree, f"seen checkpoint {index + 1}")
            report.seen_checkpoints += 1
        report.ok = True
    except BundleInvalid as exc:
        report.error = str(exc)
    return report


def verify_loaded(bundle: Bundle, report: VerifyReport, trusted_keys: list[str]) -> MerkleTree:
    """Run every check on a loaded bundle (raising :class:`BundleInvalid`); return its Merkle tree."""
    try:
        log_key, cosigners = layout.parse_keys(bundle.keys)
    except NoteError as exc:
        raise BundleInvalid(f"keys.txt: {exc}") from exc
    report.origin, report.log_key = log_key.name, log_key.vkey
    if trusted_keys and log_key.vkey not in trusted_keys:
        raise BundleInvalid(f"the log key {log_key.name} is not one of the trusted keys given")
    report.key_trusted = bool(trusted_keys)
    values, tree = _check_entries(bundle.entries, report)
    _check_checkpoints(bundle.checkpoints, log_key, cosigners, tree, [v["time"] for v in values], report)
    _tally(values, report)
    return tree


def check_seen_checkpoint(note: str, bundle: Bundle, tree: MerkleTree, where: str) -> None:
    """A checkpoint seen earlier, signed by the bundle's log key, must be a prefix of the bundle."""
    log_key, cosigners = layout.parse_keys(bundle.keys)
    try:
        parsed, signed_by = open_note(note, [log_key, *cosigners], strict=False)
        checkpoint = Checkpoint.parse(parsed.text)
    except NoteError as exc:
        raise BundleInvalid(f"{where}: {exc}") from exc
    if log_key not in signed_by:
        raise BundleInvalid(f"{where}: not signed by this bundle's log key {log_key.name}")
    if checkpoint.origin != log_key.name:
        raise BundleInvalid(f"{where}: origin {checkpoint.origin!r} is not the log {log_key.name!r}")
    if checkpoint.size > tree.size:
        raise BundleInvalid(f"{where}: it signs {checkpoint.size} entries but the bundle has only {tree.size} "
                            "(the bundle's tail was cut off)")
    if tree.root(checkpoint.size) != checkpoint.root_hash:
        raise BundleInvalid(f"{where}: the bundle's first {checkpoint.size} entries do not match it "
                            "(the log was rewritten after that checkpoint)")


def _check_entries(data: bytes, report: VerifyReport) -> tuple[list[dict], MerkleTree]:
    if data and not data.endswith(b"\n"):
        raise BundleInvalid("entries.jsonl: the last entry is not terminated by a newline")
    lines = data[:-1].split(b"\n") if data else []
    tree, values, last_time = MerkleTree(), [], ""
    for seq, line in enumerate(lines):
        where = f"entries.jsonl line {seq + 1} (seq {seq})"
        try:
            value = canonical.decode(line)
        except canonical.NotCanonical as exc:
            raise BundleInvalid(f"{where}: {exc}") from exc
        if not isinstance(value, dict):
            raise BundleInvalid(f"{where}: an entry must be a JSON object")
        if value.get("seq") != seq:
            found = value.get("seq") if isinstance(value.get("seq"), int) else "missing or not an integer"
            raise BundleInvalid(f"{where}: sequence number is {found}, expected {seq} "
                                "(an entry is missing, repeated or out of order)")
        try:
            validate_fields(value, allow_log_fields=True)
        except EventRejected as exc:
            raise BundleInvalid(f"{where}: {exc}") from exc
        time = value.get("time")
        if not isinstance(time, str) or not TIME.fullmatch(time):
            raise BundleInvalid(f"{where}: time is not UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'")
        if time < last_time:
            raise BundleInvalid(f"{where}: time goes backwards (before the previous entry)")
        for name in ("kiosk_id", "station_id"):
            if not isinstance(value.get(name), str) or not value[name]:
                raise BundleInvalid(f"{where}: {name} is missing")
        last_time = time
        values.append(value)
        tree.append_hash(leaf_hash(line))
    report.entries = len(values)
    if values:
        report.first_time, report.last_time = values[0]["time"], values[-1]["time"]
    return values, tree


def _check_checkpoints(notes: list[bytes], log_key: Verifier, cosigners: list[Verifier],
                       tree: MerkleTree, times: list[str], report: VerifyReport) -> None:
    if not notes:
        raise BundleInvalid("the bundle has no signed checkpoint")
    previous: Checkpoint | None = None
    for index, raw in enumerate(notes):
        where = f"checkpoint {layout.checkpoint_name(index)}"
        try:
            note, signed_by = open_note(raw.decode("utf-8"), [log_key, *cosigners], strict=True)
            checkpoint = Checkpoint.parse(note.text)
        except UnicodeDecodeError as exc:
            raise BundleInvalid(f"{where}: not UTF-8") from exc
        except NoteError as exc:
            raise BundleInvalid(f"{where}: {exc}") from exc
        if log_key not in signed_by:
            raise BundleInvalid(f"{where}: not signed by the log key {log_key.name}")
        if checkpoint.origin != log_key.name:
            raise BundleInvalid(f"{where}: origin {checkpoint.origin!r} is not the log {log_key.name!r}")
        try:
            number, time = layout.parse_checkpoint_extension(checkpoint.extensions)
        except NoteError as exc:
            raise BundleInvalid(f"{where}: {exc}") from exc
        if number != index:
            raise BundleInvalid(f"{where}: signed as checkpoint {number} (checkpoints dropped, swapped or "
                                "renumbered)")
        if checkpoint.size > tree.size:
            raise BundleInvalid(f"{where}: signs {checkpoint.size} entries but the bundle has only "
                                f"{tree.size} (entries were removed)")
        if tree.root(checkpoint.size) != checkpoint.root_hash:
            raise BundleInvalid(f"{where}: root hash does not match the first {checkpoint.size} entries "
                                "(an entry was changed, removed, reordered or inserted)")
        if checkpoint.size > 0 and times[checkpoint.size - 1] > time:
            raise BundleInvalid(f"{where}: dated before the last entry it signs (time order)")
        if checkpoint.size < len(times) and times[checkpoint.size] < time:
            raise BundleInvalid(f"{where}: dated after the entry that follows it (time order)")
        if previous is not None:
            if checkpoint.size <= previous.size:
                raise BundleInvalid(f"{where}: tree size {checkpoint.size} is not larger than the previous "
                                    f"checkpoint's {previous.size} (checkpoints out of order or repeated)")
            try:
                verify_consistency(previous.size, checkpoint.size, previous.root_hash, checkpoint.root_hash,
                                   tree.consistency_proof(previous.size, checkpoint.size))
            except ProofError as exc:
                raise BundleInvalid(f"{where}: not consistent with the previous checkpoint: {exc}") from exc
        previous = checkpoint
        report.cosigned_by = [v.name for v in signed_by if v != log_key]
    report.checkpoints = len(notes)
    assert previous is not None
    report.root_hash = previous.root_hash.hex()
    if previous.size != tree.size:
        raise BundleInvalid(f"entries {previous.size}..{tree.size - 1} are not covered by any signed "
                            "checkpoint (the kiosk did not close the log, or entries were appended)")


def _tally(values: list[dict], report: VerifyReport) -> None:
    stations: dict[str, Counter] = defaultdict(Counter)
    officials: dict[str, Counter] = defaultdict(Counter)
    for value in values:
        station = value["station_id"]
        stations[station]  # every station appears, even with nothing to count
        counter = TALLIED.get(value["event"])
        if counter:
            stations[station][counter] += 1
            officials[str(value.get("official_id") or "(none)")][counter] += 1
        summary = value.get("summary")
        if value["event"] in ("export", "shutdown") and isinstance(summary, dict):
            _reconcile(value, summary, stations[station], report)
    report.stations = {k: dict(v) for k, v in stations.items()}
    report.officials = {k: dict(v) for k, v in officials.items()}


def _reconcile(entry: dict, summary: dict, counts: Counter, report: VerifyReport) -> None:
    compared = []
    for counter, keys in SUMMARY_KEYS.items():
        key = next((k for k in keys if k in summary), None)
        if key is None:
            continue
        if summary[key] != counts[counter]:
            raise BundleInvalid(f"station {entry['station_id']}: the end-of-day summary at seq {entry['seq']} "
                                f"says {key}={summary[key]!r} but the log has {counts[counter]} "
                                f"{counter} up to it")
        compared.append(f"{counter}={counts[counter]}")
    if compared:
        report.reconciled.append(f"station {entry['station_id']} summary at seq {entry['seq']}: "
                                 + ", ".join(compared))

