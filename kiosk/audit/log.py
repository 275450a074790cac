"""The kiosk's audit log: durable appends, a Merkle tree over them and signed checkpoints.

One process writes a log directory at a time (``lock`` is held with flock while it is open). Every
append is fsynced before :meth:`AuditLog.append` returns; concurrent appenders share one fsync
(group commit) and :meth:`AuditLog.append_many` writes a batch under one fsync. Checkpoints are
signed at open, after every ``checkpoint_every`` entries or ``checkpoint_interval_s`` seconds (on
the clock passed in, checked on append and on :meth:`AuditLog.tick`) and at close. A checkpoint is
only signed over entries already on disk, so a crash never leaves a signature over lost entries.

On open a torn tail (a record cut short by a crash) is cut off, never an intact record, and a
``log_recovered`` entry says how many bytes went (when the log was opened with its kiosk and
station ids). Times never go backwards in the log: if the
clock steps back, entries keep the last time written until the clock catches up.
"""
from __future__ import annotations

import fcntl
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.audit import canonical, layout, records
from kiosk.audit.errors import AuditError, LogClosed, LogCorrupt, LogLocked, NoteError
from kiosk.audit.events import MAX_INT, validate_fields
from kiosk.audit.merkle import MerkleTree, leaf_hash
from kiosk.audit.note import Checkpoint, Signer, Verifier, add_signature, open_note, sign_note

Clock = Callable[[], datetime]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("the audit clock must return timezone-aware datetimes")
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


class AuditLog:
    """Use :meth:`open`; the constructor expects an already locked and recovered directory."""

    def __init__(self, directory: Path, signer: Signer, *, lock_fd: int, fd: int, tree: MerkleTree,
                 last_time: str, checkpoint_count: int, last_checkpoint_size: int,
                 cosigners: list[Verifier], kiosk_id: str | None, station_id: str | None,
                 clock: Clock, checkpoint_every: int, checkpoint_interval_s: float,
                 torn_bytes: int) -> None:
        self.directory = directory
        self.signer = signer
        self.kiosk_id = kiosk_id
        self.station_id = station_id
        self.torn_bytes_removed = torn_bytes
        self._lock_fd, self._fd = lock_fd, fd
        self._tree = tree
        self._last_time = last_time
        self._cosigners = cosigners
        self._clock = clock
        self._every = checkpoint_every
        self._interval = checkpoint_interval_s
        self._checkpoint_count = checkpoint_count
        self._checkpointed = last_checkpoint_size
        self._checkpoint_time = clock()
        self._lock = threading.RLock()          # entry file, tree, checkpoints
        self._sync = threading.Condition()      # group commit bookkeeping
        self._written = tree.size - 1           # last seq written to the file
        self._synced = tree.size - 1            # last seq known to be on disk
        self._syncing = False
        self._failed: BaseException | None = None
        self._closed = False

    # -- opening ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: str | os.PathLike, signing_key: Ed25519PrivateKey, origin: str, *,
             kiosk_id: str | None = None, station_id: str | None = None, clock: Clock = utc_now,
             checkpoint_every: int = 100, checkpoint_interval_s: float = 300.0) -> "AuditLog":
        """Lock, recover and open the log in ``directory`` (created if missing), then sign a checkpoint.

        ``origin`` names the log in its checkpoints and is the signing key's note name (no spaces
        or '+'), e.g. ``kiosk.example/PS-0001/kiosk-01``. ``kiosk_id``/``station_id`` are written
        into every entry that does not carry them.
        """
        if checkpoint_every < 1 or checkpoint_interval_s <= 0:
            raise ValueError("checkpoint_every and checkpoint_interval_s must be positive")
        try:
            signer = Signer(origin, signing_key)
        except NoteError as exc:
            raise AuditError(f"origin cannot name a signing key: {exc}") from exc
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (directory / layout.CHECKPOINTS).mkdir(exist_ok=True)
        lock_fd = os.open(directory / layout.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise LogLocked(f"audit log {directory} is already open in another writer") from None
        try:
            return cls._recover(directory, signer, lock_fd, kiosk_id=kiosk_id, station_id=station_id,
                                clock=clock, checkpoint_every=checkpoint_every,
                                checkpoint_interval_s=checkpoint_interval_s)
        except BaseException:
            os.close(lock_fd)  # closing the descriptor releases the lock
            raise

    @classmethod
    def _recover(cls, directory: Path, signer: Signer, lock_fd: int, **options: Any) -> "AuditLog":
        cosigners = _load_or_write_keys(directory, signer.verifier)
        checkpoints = read_checkpoints(directory)
        latest = None
        if checkpoints:
            try:
                note, _ = open_note(checkpoints[-1], [signer.verifier, *cosigners])
                latest = Checkpoint.parse(note.text)
            except NoteError as exc:
                raise LogCorrupt(f"latest checkpoint of {directory} is invalid: {exc}") from exc
            if latest.origin != signer.name:
                raise LogCorrupt("latest checkpoint names another origin")
            try:
                index, checkpoint_time = layout.parse_checkpoint_extension(latest.extensions)
            except NoteError as exc:
                raise LogCorrupt(f"latest checkpoint of {directory}: {exc}") from exc
            if index != len(checkpoints) - 1:
                raise LogCorrupt("latest checkpoint's index does not match its file number")
        path = directory / layout.ENTRIES_LOG
        data = path.read_bytes() if path.exists() else b""
        scanned = records.scan(data)
        if latest is not None and len(scanned.entries) < latest.size:
            raise LogCorrupt(f"the latest checkpoint covers {latest.size} entries but only "
                             f"{len(scanned.entries)} are intact: signed entries were lost")
        tree, last_time = MerkleTree(), checkpoint_time if latest is not None else ""
        for seq, entry in enumerate(scanned.entries):
            try:
                value = canonical.decode(entry)
            except canonical.NotCanonical as exc:
                raise LogCorrupt(f"audit entry {seq} is not canonical JSON: {exc}") from exc
            if not isinstance(value, dict) or value.get("seq") != seq:
                raise LogCorrupt(f"audit entry {seq} does not carry sequence number {seq}")
            last_time = max(last_time, str(value.get("time", "")))
            tree.append_hash(leaf_hash(entry))
        if latest is not None and tree.root(latest.size) != latest.root_hash:
            raise LogCorrupt("the entries on disk do not match the latest signed checkpoint")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if scanned.torn_bytes:
            os.ftruncate(fd, scanned.intact_length)  # only bytes no append ever acknowledged
            os.fsync(fd)
        layout.fsync_dir(directory)
        for stale in (directory / layout.CHECKPOINTS).glob("*.tmp"):
            stale.unlink()
        log = cls(directory, signer, lock_fd=lock_fd, fd=fd, tree=tree, last_time=last_time,
                  checkpoint_count=len(checkpoints), last_checkpoint_size=latest.size if latest else -1,
                  cosigners=cosigners, torn_bytes=scanned.torn_bytes, **options)
        try:
            if scanned.torn_bytes and log.kiosk_id and log.station_id:
                log.append({"event": "log_recovered", "reason": "torn_tail",
                            "bytes_removed": min(scanned.torn_bytes, MAX_INT)})
            log.checkpoint()
        except BaseException:
            os.close(fd)  # the caller closes the lock descriptor
            raise
        return log

    # -- appending ----------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._tree.size

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def append(self, event: Mapping[str, Any]) -> int:
        """Validate, write and fsync one event; return its sequence number once it is durable."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[Mapping[str, Any]]) -> list[int]:
        """Append a batch under one fsync; all or none are validated before anything is written."""
        with self._lock:
            self._check_open()
            entries = self._build(list(events))
            if not entries:
                return []
            data = b"".join(records.encode_record(e) for e in entries)
            try:
                layout.write_all(self._fd, data)
            except OSError as exc:
                self._failed = exc
                raise AuditError(f"audit log write failed ({exc.strerror}); reopen the log to repair it") from exc
            first = self._tree.size
            for entry in entries:
                self._tree.append_hash(leaf_hash(entry))
            self._written = self._tree.size - 1
        self._sync_to(first + len(entries) - 1)
        self._maybe_checkpoint()
        return list(range(first, first + len(entries)))

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosed("the audit log is closed")
        if self._failed is not None:
            raise AuditError("an earlier audit write failed; reopen the log to repair it")

    def _build(self, events: list[Mapping[str, Any]]) -> list[bytes]:
        now = max(format_time(self._clock()), self._last_time)
        out = []
        for offset, event in enumerate(events):
            validate_fields(event)
            entry = dict(event)
            for name, default in (("kiosk_id", self.kiosk_id), ("station_id", self.station_id)):
                given = entry.get(name)
                if given is None:
                    if default is None:
                        raise AuditError(f"audit event has no {name} and the log was opened without one")
                    entry[name] = default
                elif default is not None and given != default:
                    raise AuditError(f"audit event {name} differs from this log's {name}")
            entry["seq"] = self._tree.size + offset
            entry["time"] = now
            out.append(canonical.encode(entry))
        self._last_time = now
        return out

    def _sync_to(self, seq: int) -> None:
        """Return once entry ``seq`` is on disk, sharing fsyncs between concurrent appenders."""
        while True:
            with self._sync:
                while self._syncing and self._synced < seq:
                    self._sync.wait()
                if self._synced >= seq:
                    return
                if self._failed is not None:
                    # after a failed fsync a retry may "succeed" without the data (fsyncgate): stop
                    raise AuditError("an earlier audit fsync failed; the entry is not durable, reopen the log")
                self._syncing = True
                target = self._written  # every entry up to here is already in the file
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._failed = exc
                raise AuditError(f"audit log fsync failed ({exc.strerror}); the entry is not durable") from exc
            finally:
                with self._sync:
                    self._syncing = False
                    if self._failed is None:
                        self._synced = max(self._synced, target)
                    self._sync.notify_all()

    # -- checkpoints --------------------------------------------------------------------------------
    def _maybe_checkpoint(self) -> None:
        with self._lock:
            if self._closed or self._failed is not None:
                return
            pending = self._tree.size - max(self._checkpointed, 0)
            elapsed = (self._clock() - self._checkpoint_time).total_seconds()
            if pending >= self._every or (pending > 0 and elapsed >= self._interval):
                self.checkpoint()

    def tick(self) -> None:
        """Sign a checkpoint if the interval has passed with unsigned entries (call periodically)."""
        self._maybe_checkpoint()

    def checkpoint(self) -> str:
        """Sign and store a checkpoint over every entry written so far; return the signed note."""
        with self._lock:
            self._check_open()
            size = self._tree.size
            self._sync_to(size - 1)
            if size == self._checkpointed:
                return self.latest_checkpoint()
            now = max(format_time(self._clock()), self._last_time)
            self._last_time = now  # entries after this checkpoint are not dated before it
            extension = layout.checkpoint_extension(self._checkpoint_count, now)
            text = Checkpoint(self.signer.name, size, self._tree.root(size), (extension,)).text()
            note = sign_note(text, [self.signer])
            name = layout.checkpoint_name(self._checkpoint_count)
            layout.write_atomically(self.directory / layout.CHECKPOINTS / name, note.encode("utf-8"))
            self._checkpoint_count += 1
            self._checkpointed = size
            self._checkpoint_time = self._clock()
            return note

    def latest_checkpoint(self) -> str:
        with self._lock:
            notes = read_checkpoints(self.directory)
            if not notes:
                raise AuditError("the log has no checkpoint yet")
            return notes[-1]

    def cosign(self, signer: Signer) -> str:
        """Add ``signer``'s signature (presiding officer, party agent) to the latest checkpoint."""
        with self._lock:
            self._check_open()
            self.checkpoint()
            index = self._checkpoint_count - 1
            path = self.directory / layout.CHECKPOINTS / layout.checkpoint_name(index)
            note = add_signature(path.read_bytes().decode("utf-8"), signer, [self.verifier, *self._cosigners])
            if signer.verifier not in self._cosigners:
                if signer.name in {v.name for v in [self.verifier, *self._cosigners]}:
                    raise AuditError(f"another key is already registered under the name {signer.name!r}")
                self._cosigners.append(signer.verifier)
                layout.write_atomically(self.directory / layout.KEYS,
                                        layout.format_keys(self.verifier, self._cosigners))
            layout.write_atomically(path, note.encode("utf-8"))
            return note

    # -- reading ------------------------------------------------------------------------------------
    def snapshot(self) -> tuple[list[bytes], list[str], bytes]:
        """Entries, checkpoint notes and keys.txt, consistent with each other (for export)."""
        with self._lock:
            self._check_open()
            data = (self.directory / layout.ENTRIES_LOG).read_bytes()
            entries = records.scan(data).entries[:self._tree.size]
            return (entries, read_checkpoints(self.directory),
                    (self.directory / layout.KEYS).read_bytes())

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        with self._lock:
            return self._tree.inclusion_proof(seq, size)

    # -- closing ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Sign a final checkpoint, then release the file and the lock. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._failed is None:
                    self.checkpoint()
            finally:
                self._closed = True
                os.close(self._fd)
                os.close(self._lock_fd)

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_checkpoints(directory: Path) -> list[str]:
    """Checkpoint notes of a log or bundle directory in order; the names must be contiguous."""
    folder = Path(directory) / layout.CHECKPOINTS
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".tmp"))
    for index, name in enumerate(names):
        if name != layout.checkpoint_name(index):
            raise LogCorrupt(f"checkpoint files are not numbered 000000, 000001, ...: found {name!r}")
    try:
        return [(folder / name).read_bytes().decode("utf-8") for name in names]  # no newline translation
    except UnicodeDecodeError as exc:
        raise LogCorrupt("a checkpoint file is not UTF-8") from exc


def _load_or_write_keys(directory: Path, log_key: Verifier) -> list[Verifier]:
    path = directory / layout.KEYS
    if not path.exists():
        layout.write_atomically(path, layout.format_keys(log_key, []))
        return []
    try:
        existing, cosigners = layout.parse_keys(path.read_bytes())
    except NoteError as exc:
        raise LogCorrupt(f"{path} is invalid: {exc}") from exc
    if existing != log_key:
        raise AuditError(f"audit log {directory} belongs to another signing key or origin "
                         f"({existing.name}); open it with its own key")
    return cosigners
