"""Import a commission export (see :mod:`kiosk.registry.export_format`) into the registry.

Two passes: validate every row (decoding every template, so a bad one is found before anything is
written), then write all accepted rows in one transaction. A validation report lists each bad row
by line number and reason, never by ID number or template content.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Sequence, TextIO

from kiosk.audit.note import Signer, Verifier
from kiosk.registry import commission
from kiosk.registry import export_format as fmt
from kiosk.registry.errors import ImportRejected
from kiosk.registry.models import FINGER_NAMES
from kiosk.registry.storage import Registry


_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID_NUMBER = re.compile(r"[A-Za-z0-9]{5,20}")   # ASCII only: str.isalnum() also takes Arabic-Indic digits
MAX_NAME_LENGTH = 200


@dataclass
class RowProblem:
    line: int
    code: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    imported: bool = False
    notices: list[RowProblem] = field(default_factory=list)   # accepted rows worth a second look (not refused)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.line > 0})

    def as_dict(self) -> dict:
        return {"rows": self.rows, "accepted": self.accepted, "rejected": self.rejected,
                "imported": self.imported,
                "problems": [{"line": p.line, "code": p.code, "message": p.message} for p in self.problems],
                "notices": [{"line": p.line, "code": p.code, "message": p.message} for p in self.notices]}


@dataclass
class _Row:
    line: int
    id_number: str
    name: str
    birth_date: date | None
    sex: str
    station_id: str
    fingers: dict[str, bytes]
    face: bytes | None
    pseudonym: str | None = None
    notices: list[tuple[str, str]] = field(default_factory=list)   # (code, message)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_digit(text: str) -> str:
    from hardware.mrz import check_digit  # the ICAO 9303 rule, shared with the card reader

    return check_digit(text)


class ProgressBar:
    """A plain-text progress bar on a terminal stream (silent when the stream is not a TTY)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None):
        self.total, self.label, self.stream = max(total, 1), label, stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int) -> None:
        if self.enabled:
            width = 30
            filled = int(width * done / self.total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _read_manifest(export_dir: Path, report: ImportReport, commission_keys: Sequence[Verifier]) -> dict | None:
    try:
        raw = (export_dir / fmt.MANIFEST).read_bytes()
    except FileNotFoundError:
        report.problems.append(RowProblem(0, "manifest_missing", f"{fmt.MANIFEST} not found in the export"))
        return None
    sig_path = export_dir / commission.SIGNATURE
    try:
        note = sig_path.read_text(encoding="utf-8") if sig_path.is_file() else None
        commission.verify_manifest(raw, note, commission_keys)  # before anything else is trusted
    except UnicodeDecodeError:
        report.problems.append(RowProblem(0, "bad_signature", f"{commission.SIGNATURE} is not UTF-8"))
        return None
    except commission.ExportSignatureError as exc:
        report.problems.append(RowProblem(0, exc.code, str(exc)))
        return None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.problems.append(RowProblem(0, "manifest_invalid", f"{fmt.MANIFEST} is not valid JSON: {exc}"))
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT_NAME \
            or manifest.get("version") != fmt.FORMAT_VERSION:
        report.problems.append(RowProblem(0, "unsupported_format",
                                          f"expected {fmt.FORMAT_NAME} version {fmt.FORMAT_VERSION}"))
        return None
    manifest["_sha256"] = hashlib.sha256(raw).hexdigest()
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(m, dict) for m in files.values()):
        report.problems.append(RowProblem(0, "manifest_invalid", "'files' must be an object of file name: "
                                                                 "{\"sha256\": ...}"))
        return manifest
    for name, meta in files.items():
        path = (export_dir / name).resolve()
        if export_dir.resolve() not in path.parents:
            report.problems.append(RowProblem(0, "manifest_invalid", f"file {name!r} is outside the export"))
            continue
        if not path.is_file():
            report.problems.append(RowProblem(0, "file_missing", f"{name} is listed but missing"))
        elif _sha256(path) != meta.get("sha256"):
            report.problems.append(RowProblem(0, "hash_mismatch", f"{name} does not match its SHA-256"))
    if fmt.VOTERS not in files:
        report.problems.append(RowProblem(0, "manifest_invalid", f"{fmt.VOTERS} is not listed"))
    return manifest


def _validate_row(obj: dict, line: int, export_dir: Path, encode_face: Callable,
                  listed: frozenset[str] = frozenset()) -> _Row:
    """Raise ValueError(code, message) for the first problem found."""
    from matcher import face as face_engine
    from matcher import fingerprint
    from matcher.fingerprint.calibration import SPARSE_MINUTIAE

    notices: list[tuple[str, str]] = []
    if not isinstance(obj, dict):
        raise ValueError("row_invalid", "row is not a JSON object")
    id_number = obj.get("id_number")
    if not isinstance(id_number, str) or not _ID_NUMBER.fullmatch(id_number):
        raise ValueError("id_invalid", "id_number must be 5-20 letters or digits")
    if obj.get("id_check") != _check_digit(id_number.upper()):
        raise ValueError("id_check_digit", "ID number check digit does not match")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name_missing", "name is missing")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError("name_invalid", f"name is longer than {MAX_NAME_LENGTH} characters")
    try:
        birth = date.fromisoformat(obj["birth_date"]) if obj.get("birth_date") else None
    except (TypeError, ValueError):
        raise ValueError("birth_date_invalid", "birth_date is not YYYY-MM-DD") from None
    sex = obj.get("sex")
    if sex not in fmt.SEXES:
        raise ValueError("sex_invalid", "sex must be M, F or X")
    station = obj.get("station_id")
    if not isinstance(station, str) or not station:
        raise ValueError("station_missing", "station_id is missing")
    fingers: dict[str, bytes] = {}
    if not isinstance(obj.get("fingers") or {}, dict):
        raise ValueError("fingers_invalid", "fingers must be an object of finger name: template")
    for finger, b64 in (obj.get("fingers") or {}).items():
        if finger not in FINGER_NAMES:
            raise ValueError("finger_unknown", f"unknown finger name {finger!r}")
        try:
            data = base64.b64decode(b64, validate=True)
            views = fingerprint.views_from_iso(data)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ValueError("template_unreadable", f"{finger} template is unreadable: {exc}") from None
        if len(views) > fmt.MAX_FINGER_VIEWS:
            raise ValueError("template_too_many_views", f"{finger} record has {len(views)} impressions; a finger "
                             f"is enrolled from at most {fmt.MAX_FINGER_VIEWS}")
        for number, tpl in enumerate(views):
            which = f"{finger} template" if len(views) == 1 else f"{finger} template's view {number}"
            if not fingerprint.comparable(tpl):
                # Enrolment refuses such a capture; the matcher would score it 0 against every probe.
                raise ValueError("template_too_few_minutiae",
                                 f"{which} has {len(tpl.minutiae)} minutiae, fewer than the "
                                 f"{fingerprint.MIN_MINUTIAE} a comparison needs")
            if len(tpl.minutiae) < SPARSE_MINUTIAE:
                notices.append(("finger_sparse", f"{which} has {len(tpl.minutiae)} minutiae, fewer than "
                                f"{SPARSE_MINUTIAE}: impostors match such a template more often than the score "
                                "says (matcher.fingerprint.calibration); re-enrol the finger if possible"))
        # Stored normalised as ISO 19794-2:2005 (ANSI input converted), the best-quality impression first
        # (a national shard keeps the order: Shard.finger is the first view); every comparison uses all.
        fingers[finger] = fingerprint.views_to_iso(sorted(views, key=lambda view: -view.quality))
    face_bytes = None
    face_obj = obj.get("face")
    if face_obj:
        if not isinstance(face_obj, dict):
            raise ValueError("face_unusable", "face must be an object with 'encoding' or 'photo'")
        try:
            if "encoding" in face_obj:
                face_bytes = face_engine.Template.from_bytes(
                    base64.b64decode(face_obj["encoding"], validate=True)).to_bytes()
            elif "photo" in face_obj:
                if face_obj["photo"] not in listed:  # the signature covers only files the manifest hashes
                    raise ValueError("photo is not listed (and hashed) in the signed manifest")
                photo = (export_dir / face_obj["photo"]).resolve()
                if export_dir.resolve() not in photo.parents or not photo.is_file():
                    raise ValueError("photo missing from the export")
                face_bytes = encode_face(photo).to_bytes()
            else:
                raise ValueError("face needs 'encoding' or 'photo'")
        except face_engine.CaptureError as exc:
            # The enrolment policy refused the photo: say which rule and what was measured.
            raise ValueError("face_unusable", f"face photo refused ({exc.reason}): {exc}") from None
        except (binascii.Error, TypeError, ValueError, face_engine.FaceError) as exc:
            raise ValueError("face_unusable", f"face is unusable: {exc}") from None
    if not fingers and face_bytes is None:
        raise ValueError("no_biometrics", "row has neither fingerprints nor a face")
    voter_pseudonym = obj.get("pseudonym")
    if voter_pseudonym is not None and not (isinstance(voter_pseudonym, str) and _HEX64.fullmatch(voter_pseudonym)):
        raise ValueError("pseudonym_invalid", "pseudonym must be 64 lower-case hex characters")
    return _Row(line, id_number.upper(), name.strip(), birth, sex, station, fingers, face_bytes, voter_pseudonym,
                notices)


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _encode_photo(path: Path):
    import cv2

    from matcher import face as face_engine

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("photo is not a readable image")
    return face_engine.encode(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), policy=face_engine.ENROLMENT)


def import_export(registry: Registry, export_dir: str | Path, *, commission_keys: Sequence[Verifier],
                  skip_bad_rows: bool = False, progress: TextIO | None = None,
                  encode_face: Callable = _encode_photo) -> ImportReport:
    """Validate and import an export signed by one of ``commission_keys`` (see kiosk.registry.commission).
    Raises :class:`ImportRejected` (nothing written) when the export is unsigned, wrongly signed or
    unusable, or when any row is bad and ``skip_bad_rows`` is False."""
    export_dir = Path(export_dir)
    report = ImportReport()
    manifest = _read_manifest(export_dir, report, commission_keys)
    if manifest is None or report.problems:
        raise ImportRejected("the export's manifest is unusable; nothing was imported", report)
    # (line number in the file, text or None when not UTF-8): blank lines are skipped but still counted
    lines = [(n, _decode(raw)) for n, raw in enumerate((export_dir / fmt.VOTERS).read_bytes().split(b"\n"), start=1)
             if raw.strip()]
    report.rows = len(lines)
    if report.rows != manifest.get("voters"):
        report.problems.append(RowProblem(0, "count_mismatch",
                                          f"manifest says {manifest.get('voters')} voters, file has {report.rows}"))
        raise ImportRejected("row count does not match the manifest; nothing was imported", report)

    bar = ProgressBar(report.rows, "validating", progress)
    accepted: list[_Row] = []
    seen: dict[str, int] = {}
    for done, (n, text) in enumerate(lines, start=1):
        try:
            if text is None:
                raise ValueError("row_invalid", "line is not UTF-8")
            obj = json.loads(text)
            row = _validate_row(obj, n, export_dir, encode_face, frozenset(manifest.get("files") or {}))
            if row.id_number in seen:
                raise ValueError("duplicate_id", f"same ID number as line {seen[row.id_number]}")
            if registry.find_voter(row.id_number) is not None:
                raise ValueError("duplicate_id", "ID number is already in the registry")
            seen[row.id_number] = n
            accepted.append(row)
        except json.JSONDecodeError:
            report.problems.append(RowProblem(n, "row_invalid", "line is not valid JSON"))
        except ValueError as exc:
            code, message = exc.args if len(exc.args) == 2 else ("row_invalid", str(exc))
            report.problems.append(RowProblem(n, code, message))
        except RecursionError:
            report.problems.append(RowProblem(n, "row_invalid", "line is nested too deeply"))
        bar.update(done)
    bar.close()
    report.accepted = len(accepted)
    report.notices = [RowProblem(row.line, code, message) for row in accepted for code, message in row.notices]
    if report.problems and not skip_bad_rows:
        raise ImportRejected(f"{report.rejected} of {report.rows} rows are bad; nothing was imported", report)

    bar = ProgressBar(len(accepted), "importing ", progress)
    with registry.transaction():
        for i, row in enumerate(accepted, start=1):
            voter_id = registry.add_voter(id_number=row.id_number, name=row.name, birth_date=row.birth_date,
                                          sex=row.sex, station_id=row.station_id, fingers=row.fingers, face=row.face)
            if row.pseudonym is not None:
                registry.set_pseudonym(voter_id, row.pseudonym)
            bar.update(i)
        registry.record_import(manifest["_sha256"], len(accepted))
    bar.close()
    report.imported = True
    return report


def write_export(export_dir: str | Path, rows: list[dict], photos: dict[str, bytes] | None = None, *,
                 signer: Signer | None = None) -> Path:
    """Write a version-1 export, signed by ``signer`` (the commission's registry key) when given (used by
    the demo builder and tests; a commission tool would do the same)."""
    from datetime import datetime, timezone

    export_dir = Path(export_dir)
    (export_dir / "photos").mkdir(parents=True, exist_ok=True)
    files = {}
    for name, data in (photos or {}).items():
        (export_dir / name).write_bytes(data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest()}
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    (export_dir / fmt.VOTERS).write_text(body, encoding="utf-8")
    files[fmt.VOTERS] = {"sha256": hashlib.sha256(body.encode()).hexdigest(), "lines": len(rows)}
    manifest = {"format": fmt.FORMAT_NAME, "version": fmt.FORMAT_VERSION,
                "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "voters": len(rows), "files": files}
    raw = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    (export_dir / fmt.MANIFEST).write_bytes(raw)
    if signer is not None:
        (export_dir / commission.SIGNATURE).write_text(commission.sign_manifest(raw, signer), encoding="utf-8")
    return export_dir
