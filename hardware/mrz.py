"""ICAO 9303 machine-readable zone parser (TD1, TD2, TD3) and a TD1 builder.

Pure functions: text in, :class:`IdDocument` out. Nothing here does I/O; "today" (needed to pick
the century of two-digit years) is passed in, defaulting to the local date.

Two kinds of failure:

* *structural* (wrong number of lines, wrong lengths, characters outside ``A-Z0-9<``, unknown
  document code): the zone cannot be read at all, so :class:`MrzError` is raised whatever the
  strictness;
* *field* problems (a check digit, an impossible date, an unknown sex code): with
  ``strictness="reject"`` they raise :class:`MrzError`; with ``"warn"`` the document is returned
  with the problem codes in ``warnings`` and the unreadable field set to ``None``. Field OCR of
  real Cambodian cards sometimes fails the document-number or composite digit, hence the option.

Privacy: error messages and warnings name the *field* that failed, never its content. The
document number and optional data are left out of ``repr(IdDocument)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Literal, Sequence

from hardware.errors import DeviceError

Strictness = Literal["reject", "warn"]
MrzFormat = Literal["TD1", "TD2", "TD3"]

# (lines, characters per line) for each format
FORMAT_SHAPES: dict[MrzFormat, tuple[int, int]] = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44)}

_MRZ_CHARS = re.compile(r"^[A-Z0-9<]*$")
_FRAMING_LEFTOVERS = re.compile(r"[\x00-\x1f\x7f\s]")  # control bytes and whitespace of any kind
_WEIGHTS = (7, 3, 1)


class MrzError(DeviceError, ValueError):
    """The zone cannot be accepted. ``code`` is stable; ``field`` names the failing field, if any.

    Codes: ``empty``, ``bad_shape`` (line count/lengths match no format), ``bad_character``,
    ``unsupported_document``, ``check_digit_<field>`` (also for a `<` check digit with no
    long-number overflow after it), ``bad_date_<field>``, ``bad_sex``, ``cannot_encode`` (builder input).
    """

    code = "mrz_error"

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class IdDocument:
    """A parsed travel/identity document. ``optional_data`` joins the optional fields with a space."""

    document_code: str
    issuing_state: str
    document_number: str = field(repr=False)
    birth_date: date | None
    sex: str  # "M", "F" or "X" (unspecified)
    expiry_date: date | None
    nationality: str
    surname: str
    given_names: str
    optional_data: str = field(repr=False)
    format: MrzFormat
    warnings: tuple[str, ...] = ()


# -- check digits ---------------------------------------------------------------------------------
def char_value(ch: str) -> int:
    """ICAO value of one MRZ character: digits as is, A=10 ... Z=35, filler `<` = 0."""
    if ch.isdigit():
        return ord(ch) - 48
    if "A" <= ch <= "Z":
        return ord(ch) - 55
    if ch == "<":
        return 0
    raise MrzError("bad_character", "character outside the MRZ alphabet")


def check_digit(text: str) -> str:
    """The ICAO 9303 check digit of ``text`` (weights 7, 3, 1 repeating, sum mod 10)."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(text)) % 10)


# -- normalisation --------------------------------------------------------------------------------
def normalise(lines: str | bytes | Iterable[str | bytes]) -> list[str]:
    """Turn what a reader or a keyboard wedge delivered into clean MRZ lines.

    Strips control bytes and whitespace (framing leftovers), maps `_` (3M padding) to `<`,
    upper-cases, drops empty lines. A single line holding a whole zone (90, 72 or 88 characters,
    as keyboard-wedge readers type it) is split into its lines.
    """
    if isinstance(lines, (str, bytes)):
        lines = re.split(r"[\r\n]+", lines.decode("latin-1") if isinstance(lines, bytes) else lines)
    out = []
    for raw in lines:
        text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        text = _FRAMING_LEFTOVERS.sub("", text).replace("_", "<").upper()
        if text:
            out.append(text)
    if len(out) == 1:
        for count, width in FORMAT_SHAPES.values():
            if len(out[0]) == count * width:
                return [out[0][i * width:(i + 1) * width] for i in range(count)]
    return out


def detect_format(lines: Sequence[str]) -> MrzFormat:
    if not lines:
        raise MrzError("empty", "no machine-readable zone")
    for name, (count, width) in FORMAT_SHAPES.items():
        if len(lines) == count and all(len(line) == width for line in lines):
            return name
    raise MrzError("bad_shape", f"zone of {len(lines)} line(s) matches no ICAO format (TD1 3x30, TD2 2x36, TD3 2x44)")


# -- field helpers --------------------------------------------------------------------------------
class _Fields:
    """Collects field problems so "reject" and "warn" share one code path."""

    def __init__(self, strictness: Strictness):
        if strictness not in ("reject", "warn"):
            raise ValueError("strictness must be 'reject' or 'warn'")
        self.strictness = strictness
        self.warnings: list[str] = []

    def problem(self, code: str, message: str, field_name: str) -> None:
        if self.strictness == "reject":
            raise MrzError(code, message, field_name)
        self.warnings.append(code)

    def check(self, field_name: str, data: str, digit: str, *, filler_ok: bool = False) -> None:
        if filler_ok and digit == "<" and set(data) <= {"<"}:
            return  # an empty optional field may carry `<` instead of its check digit
        if not digit.isdigit() or check_digit(data) != digit:
            self.problem(f"check_digit_{field_name}", f"check digit of the {field_name.replace('_', ' ')} does not match", field_name)

    def yymmdd(self, field_name: str, text: str, today: date, *, birth: bool) -> date | None:
        if text == "<<<<<<" and birth:
            return None  # unknown birth date is allowed by ICAO 9303
        try:
            yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
            return _century(yy, mm, dd, today, birth=birth)
        except ValueError:
            self.problem(f"bad_date_{field_name}", f"{field_name.replace('_', ' ')} is not a valid date", field_name)
            return None

    def sex(self, ch: str) -> str:
        if ch in ("M", "F"):
            return ch
        if ch in ("<", "X"):
            return "X"
        self.problem("bad_sex", "sex field is not M, F or <", "sex")
        return "X"


def _century(yy: int, mm: int, dd: int, today: date, *, birth: bool) -> date:
    """Pick the century: a birth date is never in the future; an expiry date lies within 50 years."""
    recent = date(2000 + yy, mm, dd) if _valid(2000 + yy, mm, dd) else None
    if recent is None:
        return date(1900 + yy, mm, dd)  # raises ValueError for an impossible date
    older = date(1900 + yy, mm, dd) if _valid(1900 + yy, mm, dd) else recent  # 29 Feb 2000 has no 1900 twin
    if birth:
        return recent if recent <= today else older
    return recent if recent.year <= today.year + 50 else older


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
        return True
    except ValueError:
        return False


def _strip(text: str) -> str:
    return text.strip("<")


def parse_name(text: str) -> tuple[str, str]:
    """``SURNAME<<GIVEN<NAMES`` -> ("SURNAME", "GIVEN NAMES"); single `<` separate words."""
    surname, _, given = text.partition("<<")
    return _words(surname), _words(given)


def _words(text: str) -> str:
    return " ".join(word for word in text.split("<") if word)


def _document_number(fields: _Fields, number_field: str, digit: str, optional: str) -> tuple[str, str]:
    """Apply the long-document-number rule; returns (number, optional data left over).

    When the check-digit position holds `<`, the number continues in the optional data up to the
    first filler, and the last character before that filler is the check digit of the whole number.
    """
    if digit != "<":
        fields.check("document_number", number_field, digit)
        return _strip(number_field), optional
    overflow, _, rest = optional.partition("<")
    if number_field.endswith("<") or len(overflow) < 2:
        # no overflow to follow: most likely OCR read the check digit as `<`
        fields.problem("check_digit_document_number", "check digit of the document number is missing", "document_number")
        return _strip(number_field), optional
    number = number_field + overflow[:-1]
    fields.check("document_number", number, overflow[-1])
    return number, rest


def _join_optional(*parts: str) -> str:
    return " ".join(p for p in (_strip(x) for x in parts) if p)


# -- parsers --------------------------------------------------------------------------------------
def parse(lines: str | bytes | Iterable[str | bytes], strictness: Strictness = "reject", *, today: date | None = None) -> IdDocument:
    """Parse a TD1, TD2 or TD3 zone. Raises :class:`MrzError` (see the module docstring)."""
    zone = normalise(lines)
    fmt = detect_format(zone)
    if not all(_MRZ_CHARS.match(line) for line in zone):
        raise MrzError("bad_character", "zone contains characters outside A-Z, 0-9 and <")
    code = zone[0][0:2]
    allowed = "P" if fmt == "TD3" else "IAC"
    if code[0] not in allowed:
        raise MrzError("unsupported_document", f"document code is not a {fmt} identity or travel document", "document_code")
    fields = _Fields(strictness)
    today = today or date.today()
    return {"TD1": _parse_td1, "TD2": _parse_td2, "TD3": _parse_td3}[fmt](zone, fields, today)


def _parse_td1(zone: list[str], f: _Fields, today: date) -> IdDocument:
    l1, l2, l3 = zone
    number, optional1 = _document_number(f, l1[5:14], l1[14], l1[15:30])
    f.check("birth_date", l2[0:6], l2[6])
    f.check("expiry_date", l2[8:14], l2[14])
    f.check("composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = parse_name(l3)
    return IdDocument(
        document_code=_strip(l1[0:2]), issuing_state=_strip(l1[2:5]), document_number=number,
        birth_date=f.yymmdd("birth_date", l2[0:6], today, birth=True), sex=f.sex(l2[7]),
        expiry_date=f.yymmdd("expiry_date", l2[8:14], today, birth=False), nationality=_strip(l2[15:18]),
        surname=surname, given_names=given, optional_data=_join_optional(optional1, l2[18:29]),
        format="TD1", warnings=tuple(f.warnings))


def _parse_td2(zone: list[str], f: _Fields, today: date) -> IdDocument:
    l1, l2 = zone
    number, optional = _document_number(f, l2[0:9], l2[9], l2[28:35])
    f.check("birth_date", l2[13:19], l2[19])
    f.check("expiry_date", l2[21:27], l2[27])
    f.check("composite", l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    surname, given = parse_name(l1[5:36])
    return IdDocument(
        document_code=_strip(l1[0:2]), issuing_state=_strip(l1[2:5]), document_number=number,
        birth_date=f.yymmdd("birth_date", l2[13:19], today, birth=True), sex=f.sex(l2[20]),
        expiry_date=f.yymmdd("expiry_date", l2[21:27], today, birth=False), nationality=_strip(l2[10:13]),
        surname=surname, given_names=given, optional_data=_join_optional(optional),
        format="TD2", warnings=tuple(f.warnings))


def _parse_td3(zone: list[str], f: _Fields, today: date) -> IdDocument:
    l1, l2 = zone
    f.check("document_number", l2[0:9], l2[9])
    f.check("birth_date", l2[13:19], l2[19])
    f.check("expiry_date", l2[21:27], l2[27])
    f.check("optional_data", l2[28:42], l2[42], filler_ok=True)
    f.check("composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    surname, given = parse_name(l1[5:44])
    return IdDocument(
        document_code=_strip(l1[0:2]), issuing_state=_strip(l1[2:5]), document_number=_strip(l2[0:9]),
        birth_date=f.yymmdd("birth_date", l2[13:19], today, birth=True), sex=f.sex(l2[20]),
        expiry_date=f.yymmdd("expiry_date", l2[21:27], today, birth=False), nationality=_strip(l2[10:13]),
        surname=surname, given_names=given, optional_data=_join_optional(l2[28:42]),
        format="TD3", warnings=tuple(f.warnings))


# -- builder --------------------------------------------------------------------------------------
def mrz_text(text: str) -> str:
    """Upper-case ``text`` and turn spaces, hyphens and apostrophes into `<`; other characters are refused."""
    out = re.sub(r"[\s\-']", "<", text.strip().upper())
    if not _MRZ_CHARS.match(out):
        raise MrzError("cannot_encode", "text has characters that need transliteration first")
    return out


def _field(text: str, width: int, name: str) -> str:
    if len(text) > width:
        raise MrzError("cannot_encode", f"{name} does not fit in {width} characters", name)
    return text.ljust(width, "<")


def build_td1(document_number: str, birth_date: date | None, sex: str, expiry_date: date,
              surname: str, given_names: str, *, issuing_state: str = "KHM", nationality: str | None = None,
              document_code: str = "ID", optional_data: str = "", optional_data_2: str = "") -> tuple[str, str, str]:
    """Three valid TD1 lines with correct check digits (long numbers use the overflow rule).

    Names longer than the 30-character name line are truncated, as ICAO allows.
    """
    number = mrz_text(document_number)
    if not number or "<" in number:
        raise MrzError("cannot_encode", "document number must be non-empty letters/digits", "document_number")
    if len(number) <= 9:
        head = _field(number, 9, "document_number") + check_digit(_field(number, 9, "document_number"))
        optional1 = _field(mrz_text(optional_data), 15, "optional_data")
    else:
        overflow = number[9:] + check_digit(number) + "<"
        head = number[:9] + "<"
        optional1 = _field(overflow + mrz_text(optional_data), 15, "optional_data")
    if sex not in ("M", "F", "X", "<"):
        raise MrzError("cannot_encode", "sex must be M, F or X", "sex")
    line1 = _field(mrz_text(document_code), 2, "document_code") + _field(mrz_text(issuing_state), 3, "issuing_state") + head + optional1
    birth = birth_date.strftime("%y%m%d") if birth_date else "<<<<<<"
    expiry = expiry_date.strftime("%y%m%d")
    nat = _field(mrz_text(nationality or issuing_state), 3, "nationality")
    body = (birth + check_digit(birth) + ("<" if sex == "X" else sex) + expiry + check_digit(expiry)
            + nat + _field(mrz_text(optional_data_2), 11, "optional_data_2"))
    line2 = body + check_digit(line1[5:30] + body[0:7] + body[8:15] + body[18:29])
    name = mrz_text(surname) + "<<" + mrz_text(given_names)
    line3 = name[:30].ljust(30, "<")
    return line1, line2, line3
