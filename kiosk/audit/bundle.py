"""Export bundles: what a commission takes away from the kiosk and verifies offline.

A bundle holds ``entries.jsonl`` (one canonical JSON entry per line, LF-terminated),
``checkpoints/NNNNNN.note`` (signed checkpoints, numbered from 000000) and ``keys.txt`` (the log's
verifier key, then co-signers' keys). It is either a directory with those files or one file
(suffix ``.kab``) that concatenates them::

    kiosk-audit-bundle 1 LF
    file <name> <length in bytes> LF <that many bytes> LF      (entries.jsonl, keys.txt, checkpoints in order)
    end LF

The single-file form is parsed strictly (names, order, lengths, no trailing bytes), so every byte of
either form is covered by a check of the verifier.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kiosk.audit import layout, records
from kiosk.audit.errors import AuditError, BundleInvalid
from kiosk.audit.log import AuditLog, read_checkpoints
from kiosk.audit.note import Signer, add_signature

MAGIC = b"kiosk-audit-bundle 1\n"
FILE_SUFFIX = ".kab"
_FILE_HEADER = re.compile(rb"file (entries\.jsonl|keys\.txt|checkpoints/[0-9]{6}\.note) (0|[1-9][0-9]{0,11})\n")


@dataclass
class Bundle:
    entries: bytes               # the entries.jsonl bytes
    checkpoints: list[bytes]     # note bytes, in order
    keys: bytes                  # keys.txt bytes

    def files(self) -> list[tuple[str, bytes]]:
        return ([(layout.ENTRIES_BUNDLE, self.entries), (layout.KEYS, self.keys)]
                + [(f"{layout.CHECKPOINTS}/{layout.checkpoint_name(i)}", c)
                   for i, c in enumerate(self.checkpoints)])

    def to_file_bytes(self) -> bytes:
        parts = [MAGIC]
        for name, data in self.files():
            parts += [b"file %s %d\n" % (name.encode(), len(data)), data, b"\n"]
        parts.append(b"end\n")
        return b"".join(parts)

    @classmethod
    def from_file_bytes(cls, data: bytes) -> "Bundle":
        if not data.startswith(MAGIC):
            raise BundleInvalid("bundle file does not start with 'kiosk-audit-bundle 1'")
        pos, files = len(MAGIC), []
        while not data.startswith(b"end\n", pos):
            match = _FILE_HEADER.match(data, pos)
            if match is None:
                raise BundleInvalid(f"bundle file: malformed file header at byte {pos}")
            name, length = match.group(1).decode(), int(match.group(2))
            start = match.end()
            if data[start + length:start + length + 1] != b"\n":
                raise BundleInvalid(f"bundle file: {name} is not {length} bytes long followed by a newline")
            files.append((name, data[start:start + length]))
            pos = start + length + 1
        if pos + 4 != len(data):
            raise BundleInvalid("bundle file: bytes after the 'end' line")
        names = [n for n, _ in files]
        expected = [layout.ENTRIES_BUNDLE, layout.KEYS] + [
            f"{layout.CHECKPOINTS}/{layout.checkpoint_name(i)}" for i in range(len(files) - 2)]
        if names != expected:
            raise BundleInvalid("bundle file: files are missing, repeated or out of order "
                                "(expected entries.jsonl, keys.txt, checkpoints/000000.note, ...)")
        return cls(files[0][1], [d for _, d in files[2:]], files[1][1])


def read_bundle(path: str | os.PathLike) -> Bundle:
    """Load a bundle directory or ``.kab`` file; structure errors raise :class:`BundleInvalid`."""
    path = Path(path)
    if path.is_file():
        return Bundle.from_file_bytes(path.read_bytes())
    if not path.is_dir():
        raise BundleInvalid(f"no bundle at {path}")
    allowed = {layout.ENTRIES_BUNDLE, layout.KEYS, layout.CHECKPOINTS}
    extra = sorted(p.name for p in path.iterdir() if p.name not in allowed)
    if extra:
        raise BundleInvalid(f"unexpected file in bundle: {extra[0]}")
    for name in (layout.ENTRIES_BUNDLE, layout.KEYS):
        if not (path / name).is_file():
            raise BundleInvalid(f"bundle has no {name}")
    folder = path / layout.CHECKPOINTS
    strays = sorted(p.name for p in folder.iterdir() if not layout.CHECKPOINT_NAME.fullmatch(p.name)) \
        if folder.is_dir() else []
    if strays:
        raise BundleInvalid(f"unexpected file in bundle: checkpoints/{strays[0]}")
    try:
        notes = read_checkpoints(path)
    except AuditError as exc:
        raise BundleInvalid(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise BundleInvalid("a checkpoint file is not UTF-8") from exc
    return Bundle((path / layout.ENTRIES_BUNDLE).read_bytes(), [n.encode("utf-8") for n in notes],
                  (path / layout.KEYS).read_bytes())


def write_bundle(bundle: Bundle, out: str | os.PathLike) -> Path:
    """Write a bundle as a directory, or as one file when ``out`` ends in ``.kab``."""
    out = Path(out)
    if out.suffix == FILE_SUFFIX:
        layout.write_atomically(out, bundle.to_file_bytes())
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AuditError(f"export target {out} exists and is not an empty directory")
    (out / layout.CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    for name, data in bundle.files():
        layout.write_atomically(out / name, data)
    return out


def _bundle_from(entries: list[bytes], notes: list[str], keys: bytes) -> Bundle:
    return Bundle(b"".join(e + b"\n" for e in entries), [n.encode("utf-8") for n in notes], keys)


def export_bundle(source: AuditLog | str | os.PathLike, out: str | os.PathLike, *,
                  official_id: str | None = None, summary: Mapping[str, int] | None = None) -> Path:
    """Export a bundle from an open :class:`AuditLog` or, read-only, from a log directory.

    From an open log an ``export`` entry (with the end-of-day ``summary`` if given) is appended
    and a checkpoint signed first, so the bundle is complete and covered by a signature. A log
    directory is copied as it is: entries after its last checkpoint (a kiosk that crashed, or is
    still running) are included and the verifier will report them as unsigned.
    """
    if isinstance(source, AuditLog):
        event: dict[str, Any] = {"event": "export"}
        if official_id is not None:
            event["official_id"] = official_id
        if summary is not None:
            event["summary"] = dict(summary)
        source.append(event)
        source.checkpoint()
        return write_bundle(_bundle_from(*source.snapshot()), out)
    directory = Path(source)
    entries_path = directory / layout.ENTRIES_LOG
    if not entries_path.exists():
        raise AuditError(f"no audit log in {directory}")
    notes = read_checkpoints(directory)  # before the entries: every checkpoint then covers a prefix
    entries = records.scan(entries_path.read_bytes()).entries
    return write_bundle(_bundle_from(entries, notes, (directory / layout.KEYS).read_bytes()), out)


def cosign_bundle(path: str | os.PathLike, signer: Signer) -> str:
    """Add ``signer``'s signature to the bundle's latest checkpoint and its key to keys.txt.

    The bundle is verified first, so nobody co-signs a log that does not verify.
    """
    from kiosk.audit.verify import verify_bundle  # verify imports this module

    report = verify_bundle(path)
    if not report.ok:
        raise BundleInvalid(f"refusing to co-sign a bundle that does not verify: {report.error}")
    bundle = read_bundle(path)
    log_key, cosigners = layout.parse_keys(bundle.keys)
    if signer.name in {v.name for v in [log_key, *cosigners]} and signer.verifier not in cosigners:
        raise AuditError(f"another key is already named {signer.name!r} in this bundle")
    note = add_signature(bundle.checkpoints[-1].decode("utf-8"), signer, [log_key, *cosigners])
    bundle.checkpoints[-1] = note.encode("utf-8")
    if signer.verifier not in cosigners:
        bundle.keys = layout.format_keys(log_key, [*cosigners, signer.verifier])
    path = Path(path)
    if path.is_file():
        layout.write_atomically(path, bundle.to_file_bytes())
    else:
        for name, data in bundle.files():
            layout.write_atomically(path / name, data)
    return note


def copy_bundle(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a bundle (directory or file) as it is, for tests and for handing out copies."""
    src, dst = Path(src), Path(dst)
    if src.is_file():
        shutil.copyfile(src, dst)
    else:
        shutil.copytree(src, dst)
    return dst
