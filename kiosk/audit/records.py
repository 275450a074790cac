"""Framing of the append-only entry file: one record per line, each with its own checksum.

    <canonical JSON entry> TAB <CRC-32 of the entry, 8 lower-case hex digits> LF

Canonical JSON never contains a raw tab or newline (both are escaped inside strings), so the
framing is unambiguous. The checksum only detects torn or garbled writes; integrity against
tampering comes from the Merkle tree and the signed checkpoints.

:func:`scan` returns the intact prefix. A damaged record followed only by damaged bytes is a torn
tail (a crash mid-write, or zero-filled blocks after a power loss) and may be cut off; a damaged
record followed by an intact one is damage inside the log and is reported, never repaired.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from kiosk.audit.errors import LogCorrupt

_CRC = re.compile(rb"[0-9a-f]{8}")


def encode_record(entry: bytes) -> bytes:
    return entry + b"\t" + b"%08x" % zlib.crc32(entry) + b"\n"


def decode_record(line: bytes) -> bytes | None:
    """The entry in one line (without its LF), or None when the line is not an intact record."""
    entry, tab, crc = line.rpartition(b"\t")
    if not tab or not entry or not _CRC.fullmatch(crc) or b"\t" in entry:
        return None
    if int(crc, 16) != zlib.crc32(entry):
        return None
    return entry


@dataclass(frozen=True)
class ScanResult:
    entries: list[bytes]
    intact_length: int  # bytes of intact records from the start of the file
    torn_bytes: int     # bytes after them that belong to no intact record


def scan(data: bytes) -> ScanResult:
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            break  # the last record was never finished
        entry = decode_record(data[pos:end])
        if entry is None:
            break
        entries.append(entry)
        pos = end + 1
    if pos < len(data):
        rest = data[pos:]
        if any(decode_record(line) is not None for line in rest.split(b"\n")[1:-1]):
            raise LogCorrupt(f"audit record {len(entries)} (byte {pos}) is damaged but later records "
                             "are intact: this is not a torn tail, refusing to repair")
    return ScanResult(entries, pos, len(data) - pos)
