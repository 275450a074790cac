"""Names of the files in a log directory and in a bundle, and the keys file both share.

Log directory (``<data_dir>/audit/`` for the kiosk)::

    lock                  held (flock) by the one writer
    entries.log           append-only records, see kiosk.audit.records
    checkpoints/NNNNNN.note   signed checkpoints, numbered from 000000, written atomically
    keys.txt              "log <verifier key>" and "cosigner <verifier key>" lines

Bundle (a directory, or the same files in one ``.kab`` file, see kiosk.audit.bundle)::

    entries.jsonl         the entries, one canonical JSON object per line
    checkpoints/NNNNNN.note
    keys.txt
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from kiosk.audit.errors import NoteError
from kiosk.audit.note import Verifier

ENTRIES_LOG = "entries.log"
ENTRIES_BUNDLE = "entries.jsonl"
CHECKPOINTS = "checkpoints"
KEYS = "keys.txt"
LOCK = "lock"
CHECKPOINT_NAME = re.compile(r"[0-9]{6}\.note")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_EXTENSION = re.compile(r"checkpoint (0|[1-9][0-9]{0,8}) (\S+)")
ROLES = ("log", "cosigner")


def checkpoint_name(index: int) -> str:
    return f"{index:06d}.note"


def checkpoint_extension(index: int, time: str) -> str:
    """The one extension line of our checkpoints: ``checkpoint <index> <UTC time>``.

    The index ties a signed checkpoint to its file number, so a checkpoint cannot be dropped and
    the rest renumbered; the time places it among the entries' times.
    """
    return f"checkpoint {index} {time}"


def parse_checkpoint_extension(extensions: tuple[str, ...]) -> tuple[int, str]:
    match = _EXTENSION.fullmatch(extensions[0]) if len(extensions) == 1 else None
    if match is None or not TIME.fullmatch(match.group(2)):
        raise NoteError("checkpoint must have exactly one extension line 'checkpoint <index> <UTC time>'")
    return int(match.group(1)), match.group(2)


def format_keys(log_key: Verifier, cosigners: list[Verifier]) -> bytes:
    lines = [f"log {log_key.vkey}\n"] + [f"cosigner {v.vkey}\n" for v in cosigners]
    return "".join(lines).encode("utf-8")


def parse_keys(data: bytes) -> tuple[Verifier, list[Verifier]]:
    """Strictly parse keys.txt: exactly one log key, then any number of distinct cosigner keys."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("keys.txt is not UTF-8") from exc
    if not text.endswith("\n"):
        raise NoteError("keys.txt does not end with a newline")
    log_key, cosigners, names = None, [], set()
    for number, line in enumerate(text[:-1].split("\n"), 1):
        role, _, vkey = line.partition(" ")
        if role not in ROLES:
            raise NoteError(f"keys.txt line {number}: unknown role (expected 'log' or 'cosigner')")
        verifier = Verifier.parse(vkey)
        if verifier.name in names:
            raise NoteError(f"keys.txt line {number}: key name {verifier.name!r} appears twice")
        names.add(verifier.name)
        if role == "log":
            if log_key is not None or number != 1:
                raise NoteError(f"keys.txt line {number}: the log key must be the one and only first line")
            log_key = verifier
        else:
            cosigners.append(verifier)
    if log_key is None:
        raise NoteError("keys.txt has no log key")
    return log_key, cosigners


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file so that a crash leaves either the old or the new content, then fsync."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
