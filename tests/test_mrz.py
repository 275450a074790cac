"""ICAO 9303 MRZ parsing: test vectors, check digits in reject/warn modes, overflow numbers, builder."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hardware import mrz
from hardware.errors import DeviceError
from hardware.mrz import IdDocument, MrzError, build_td1, check_digit, parse

TODAY = date(2026, 11, 22)

# hardware.md section 2 (TD1, all digits valid)
TD1_UTO = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
TD1_AUT = ("IDAUT10000999<6<<<<<<<<<<<<<<<", "7109094F1112315AUT<<<<<<<<<<<4", "MUSTERFRAU<<ISOLDE<<<<<<<<<<<<")
TD1_KHM = ("IDKHM1234567897<<<<<<<<<<<<<<<", "9001011M3001019KHM<<<<<<<<<<<2", "SAMPLE<<TEST<<<<<<<<<<<<<<<<<<")
# ICAO 9303 part 5 long document number example (D23145890734, check digit 9 in the optional data)
TD1_LONG = ("I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<")
# ICAO 9303 part 6 (TD2) and part 4 (TD3 passport specimen)
TD2_UTO = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
TD3_UTO = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


def _replace(line: str, pos: int, ch: str) -> str:
    """Set 1-based position ``pos`` of ``line`` to ``ch``."""
    return line[: pos - 1] + ch + line[pos:]


def _wrong_digit(line: str, pos: int) -> str:
    return _replace(line, pos, str((int(line[pos - 1]) + 1) % 10))


# -- check digit ----------------------------------------------------------------------------------
def test_check_digit_uses_weights_731_and_letter_values():
    assert check_digit("D23145890") == "7"
    assert check_digit("740812") == "2"
    assert check_digit("L898902C3") == "6"
    assert check_digit("<<<<<<<<<") == "0"


def test_character_outside_the_alphabet_has_no_check_value():
    with pytest.raises(MrzError) as err:
        check_digit("a")
    assert err.value.code == "bad_character"


# -- test vectors ---------------------------------------------------------------------------------
def test_td1_icao_specimen():
    doc = parse(TD1_UTO, today=TODAY)
    assert doc == IdDocument(
        document_code="I", issuing_state="UTO", document_number="D23145890", birth_date=date(1974, 8, 12),
        sex="F", expiry_date=date(2012, 4, 15), nationality="UTO", surname="ERIKSSON",
        given_names="ANNA MARIA", optional_data="", format="TD1", warnings=())


def test_td1_austrian_identity_card():
    doc = parse(TD1_AUT, today=TODAY)
    assert (doc.document_code, doc.issuing_state, doc.document_number) == ("ID", "AUT", "10000999")
    assert (doc.birth_date, doc.expiry_date, doc.sex) == (date(1971, 9, 9), date(2011, 12, 31), "F")
    assert (doc.surname, doc.given_names) == ("MUSTERFRAU", "ISOLDE")


def test_td1_khmer_style_card():
    doc = parse(TD1_KHM, today=TODAY)
    assert (doc.document_code, doc.issuing_state, doc.nationality) == ("ID", "KHM", "KHM")
    assert doc.document_number == "123456789"
    assert (doc.birth_date, doc.expiry_date, doc.sex) == (date(1990, 1, 1), date(2030, 1, 1), "M")
    assert (doc.surname, doc.given_names, doc.format) == ("SAMPLE", "TEST", "TD1")


def test_td1_long_document_number_continues_in_optional_data():
    doc = parse(TD1_LONG, today=TODAY)
    assert doc.document_number == "D23145890734"
    assert doc.optional_data == ""
    assert (doc.birth_date, doc.expiry_date, doc.sex) == (date(1934, 7, 12), date(1995, 7, 12), "M")
    assert (doc.surname, doc.given_names) == ("STEVENSON", "PETER JOHN")


def test_td2_icao_specimen():
    doc = parse(TD2_UTO, today=TODAY)
    assert doc.format == "TD2"
    assert (doc.document_code, doc.issuing_state, doc.document_number) == ("I", "UTO", "D23145890")
    assert (doc.birth_date, doc.expiry_date, doc.nationality) == (date(1974, 8, 12), date(2012, 4, 15), "UTO")
    assert (doc.surname, doc.given_names) == ("ERIKSSON", "ANNA MARIA")


def test_td3_passport_specimen():
    doc = parse(TD3_UTO, today=TODAY)
    assert doc.format == "TD3"
    assert (doc.document_code, doc.issuing_state, doc.document_number) == ("P", "UTO", "L898902C3")
    assert (doc.birth_date, doc.sex, doc.expiry_date) == (date(1974, 8, 12), "F", date(2012, 4, 15))
    assert doc.optional_data == "ZE184226B"
    assert (doc.surname, doc.given_names) == ("ERIKSSON", "ANNA MARIA")


# -- normalisation --------------------------------------------------------------------------------
def test_3m_padding_lower_case_whitespace_and_control_bytes_are_normalised():
    messy = ["\x02idkhm123456789 7___ ____________\r", " 9001011m3001019khm___________2\t", "sample__test" + "_" * 18 + "\x03"]
    assert parse(messy, today=TODAY) == parse(TD1_KHM, today=TODAY)


def test_one_string_with_newlines_is_a_zone():
    assert parse("\r\n".join(TD3_UTO) + "\r\n", today=TODAY).document_number == "L898902C3"


def test_keyboard_wedge_zone_typed_as_one_line_is_split_by_width():
    assert parse("".join(TD1_KHM), today=TODAY).document_number == "123456789"


def test_bytes_are_accepted():
    assert parse([line.encode() for line in TD2_UTO], today=TODAY).format == "TD2"


# -- structural errors (raised whatever the strictness) -------------------------------------------
@pytest.mark.parametrize("strictness", ["reject", "warn"])
@pytest.mark.parametrize("lines, code", [
    ([], "empty"),
    (["", "\r\n"], "empty"),
    (TD1_KHM[:2], "bad_shape"),
    ((TD1_KHM[0], TD1_KHM[1][:-1], TD1_KHM[2]), "bad_shape"),
    ((TD1_KHM[0], TD1_KHM[1], TD1_KHM[2] + "<"), "bad_shape"),
    ((TD1_KHM[0].replace("<", "#", 1), TD1_KHM[1], TD1_KHM[2]), "bad_character"),
    ((_replace(TD1_KHM[0], 1, "X"), TD1_KHM[1], TD1_KHM[2]), "unsupported_document"),
    ((_replace(TD3_UTO[0], 1, "V"), TD3_UTO[1]), "unsupported_document"),
])
def test_structural_errors_always_raise(lines, code, strictness):
    with pytest.raises(MrzError) as err:
        parse(lines, strictness, today=TODAY)
    assert err.value.code == code


@pytest.mark.parametrize("line1", [
    "IDKHM123456789<<<<<<<<<<<<<<<<",   # full 9-character number, `<` digit, no overflow
    "IDKHM1234567<<<<<<<<<<<<<<<<<<",   # short number: overflow impossible
])
def test_filler_instead_of_the_document_number_digit_is_a_check_digit_failure(line1):
    line2 = _khm_line2_for(line1)
    with pytest.raises(MrzError) as err:
        parse((line1, line2, TD1_KHM[2]), "reject", today=TODAY)
    assert err.value.code == "check_digit_document_number"
    doc = parse((line1, line2, TD1_KHM[2]), "warn", today=TODAY)
    assert doc.warnings == ("check_digit_document_number",)
    assert doc.document_number == line1[5:14].strip("<")


def _khm_line2_for(line1: str) -> str:
    """TD1_KHM line 2 with its composite digit recomputed for ``line1``."""
    line2 = TD1_KHM[1][:29]
    return line2 + check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])


def test_mrz_error_is_a_device_error_and_a_value_error():
    assert issubclass(MrzError, DeviceError) and issubclass(MrzError, ValueError)


def test_unknown_strictness_is_refused():
    with pytest.raises(ValueError):
        parse(TD1_KHM, "lenient", today=TODAY)


# -- check digit failures in reject and warn modes ------------------------------------------------
TD1_DIGIT_FAILURES = [
    ("document_number", lambda z: (_wrong_digit(z[0], 15), z[1], z[2])),
    ("birth_date", lambda z: (z[0], _wrong_digit(z[1], 7), z[2])),
    ("expiry_date", lambda z: (z[0], _wrong_digit(z[1], 15), z[2])),
    ("composite", lambda z: (z[0], _wrong_digit(z[1], 30), z[2])),
]


@pytest.mark.parametrize("field_name, damage", TD1_DIGIT_FAILURES)
def test_td1_check_digit_failure_rejects_naming_only_the_field(field_name, damage):
    with pytest.raises(MrzError) as err:
        parse(damage(TD1_KHM), "reject", today=TODAY)
    assert err.value.code == f"check_digit_{field_name}"
    assert err.value.field == field_name
    message = str(err.value)
    assert "123456789" not in message and "IDKHM" not in message and "900101" not in message


@pytest.mark.parametrize("field_name, damage", TD1_DIGIT_FAILURES)
def test_td1_check_digit_failure_warns_and_still_returns_the_document(field_name, damage):
    doc = parse(damage(TD1_KHM), "warn", today=TODAY)
    assert f"check_digit_{field_name}" in doc.warnings
    assert (doc.document_number, doc.surname) == ("123456789", "SAMPLE")


def test_a_changed_data_character_fails_its_own_digit_and_the_composite():
    # OCR read an 8 for the 7 in the document number: both digits now disagree
    zone = (_replace(TD1_KHM[0], 12, "8"), TD1_KHM[1], TD1_KHM[2])
    doc = parse(zone, "warn", today=TODAY)
    assert doc.warnings == ("check_digit_document_number", "check_digit_composite")


TD3_DIGIT_FAILURES = [
    ("document_number", 10), ("birth_date", 20), ("expiry_date", 28), ("optional_data", 43), ("composite", 44),
]


@pytest.mark.parametrize("field_name, pos", TD3_DIGIT_FAILURES)
def test_td3_each_check_digit_failure(field_name, pos):
    zone = (TD3_UTO[0], _wrong_digit(TD3_UTO[1], pos))
    with pytest.raises(MrzError) as err:
        parse(zone, "reject", today=TODAY)
    assert err.value.code == f"check_digit_{field_name}"
    assert f"check_digit_{field_name}" in parse(zone, "warn", today=TODAY).warnings


@pytest.mark.parametrize("field_name, pos", [("document_number", 10), ("birth_date", 20), ("expiry_date", 28), ("composite", 36)])
def test_td2_each_check_digit_failure(field_name, pos):
    zone = (TD2_UTO[0], _wrong_digit(TD2_UTO[1], pos))
    with pytest.raises(MrzError) as err:
        parse(zone, "reject", today=TODAY)
    assert err.value.code == f"check_digit_{field_name}"
    assert f"check_digit_{field_name}" in parse(zone, "warn", today=TODAY).warnings


def test_td3_empty_personal_number_may_carry_a_filler_check_digit():
    line2 = TD3_UTO[1][:28] + "<" * 14 + "<"
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    doc = parse((TD3_UTO[0], line2), today=TODAY)
    assert doc.optional_data == "" and doc.warnings == ()


def test_long_document_number_with_a_wrong_check_digit():
    zone = (TD1_LONG[0].replace("7349", "7341"), TD1_LONG[1], TD1_LONG[2])
    with pytest.raises(MrzError) as err:
        parse(zone, today=TODAY)
    assert err.value.code == "check_digit_document_number"
    assert "D23145890734" not in str(err.value)


def test_letter_in_a_check_digit_position_is_a_check_digit_failure():
    zone = (TD1_KHM[0], _replace(TD1_KHM[1], 7, "A"), TD1_KHM[2])
    with pytest.raises(MrzError) as err:
        parse(zone, today=TODAY)
    assert err.value.code == "check_digit_birth_date"


# -- dates and sex --------------------------------------------------------------------------------
def _khm(birth: str, sex: str = "M", expiry: str = "300101") -> tuple[str, str, str]:
    line2 = birth + check_digit(birth) + sex + expiry + check_digit(expiry) + "KHM" + "<" * 11
    line2 += check_digit(TD1_KHM[0][5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return TD1_KHM[0], line2, TD1_KHM[2]


def test_birth_year_that_would_be_in_the_future_belongs_to_the_last_century():
    assert parse(_khm("261122"), today=TODAY).birth_date == date(2026, 11, 22)
    assert parse(_khm("261123"), today=TODAY).birth_date == date(1926, 11, 23)


def test_expiry_years_up_to_fifty_years_ahead_are_this_century():
    assert parse(_khm("900101", expiry="760101"), today=TODAY).expiry_date == date(2076, 1, 1)
    assert parse(_khm("900101", expiry="770101"), today=TODAY).expiry_date == date(1977, 1, 1)


def test_leap_day_of_2000_is_a_valid_birth_date():
    assert parse(_khm("000229"), today=TODAY).birth_date == date(2000, 2, 29)


def test_unknown_birth_date_is_none():
    doc = parse(_khm("<<<<<<"), today=TODAY)
    assert doc.birth_date is None and doc.warnings == ()


def test_impossible_date_rejects_or_warns_with_none():
    zone = _khm("901301")
    with pytest.raises(MrzError) as err:
        parse(zone, today=TODAY)
    assert err.value.code == "bad_date_birth_date"
    doc = parse(zone, "warn", today=TODAY)
    assert doc.birth_date is None and doc.warnings == ("bad_date_birth_date",)


@pytest.mark.parametrize("ch, sex", [("M", "M"), ("F", "F"), ("<", "X"), ("X", "X")])
def test_sex_codes(ch, sex):
    assert parse(_khm("900101", sex=ch), today=TODAY).sex == sex


def test_unknown_sex_code_rejects_or_warns():
    zone = _khm("900101", sex="Q")
    with pytest.raises(MrzError) as err:
        parse(zone, today=TODAY)
    assert err.value.code == "bad_sex"
    assert parse(zone, "warn", today=TODAY).warnings == ("bad_sex",)


# -- privacy --------------------------------------------------------------------------------------
def test_repr_of_a_document_leaves_out_the_number_and_optional_data():
    doc = parse(TD3_UTO, today=TODAY)
    assert "L898902C3" not in repr(doc) and "ZE184226B" not in repr(doc)


def test_parsing_logs_nothing(caplog):
    with caplog.at_level(logging.DEBUG):
        parse(TD1_KHM, today=TODAY)
        parse((TD1_KHM[0], _wrong_digit(TD1_KHM[1], 30), TD1_KHM[2]), "warn", today=TODAY)
    assert caplog.records == []


# -- builder --------------------------------------------------------------------------------------
def test_build_td1_reproduces_the_khmer_vector():
    assert build_td1("123456789", date(1990, 1, 1), "M", date(2030, 1, 1), "SAMPLE", "TEST") == TD1_KHM


def test_build_td1_reproduces_the_long_number_vector():
    lines = build_td1("D23145890734", date(1934, 7, 12), "M", date(1995, 7, 12), "STEVENSON", "PETER JOHN",
                      issuing_state="UTO", document_code="I")
    assert lines == TD1_LONG


def test_build_td1_truncates_long_names_to_the_line():
    lines = build_td1("1", date(1990, 1, 1), "F", date(2030, 1, 1), "CHHUN-SOPHEAKTRA", "BOPHA VANNARY")
    assert lines[2] == "CHHUN<SOPHEAKTRA<<BOPHA<VANNAR"


@pytest.mark.parametrize("kwargs", [
    {"document_number": ""}, {"document_number": "1234567890123456789012345"}, {"surname": "SØK"}, {"sex": "Q"},
])
def test_build_td1_refuses_what_it_cannot_encode(kwargs):
    args = {"document_number": "123456789", "birth_date": date(1990, 1, 1), "sex": "M",
            "expiry_date": date(2030, 1, 1), "surname": "SOK", "given_names": "DARA"} | kwargs
    with pytest.raises(MrzError) as err:
        build_td1(**args)
    assert err.value.code == "cannot_encode"


_names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)  # two names of two words fit in 30


@settings(max_examples=200, deadline=None)
@given(
    number=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=13),
    birth=st.one_of(st.none(), st.dates(TODAY - timedelta(days=36500 - 1), TODAY)),
    expiry=st.dates(TODAY - timedelta(days=365 * 49), TODAY + timedelta(days=365 * 49)),
    sex=st.sampled_from(["M", "F", "X"]),
    surname=st.lists(_names, min_size=1, max_size=2).map(" ".join),
    given_names=st.lists(_names, min_size=1, max_size=2).map(" ".join),
    state=st.sampled_from(["KHM", "UTO", "D<<", "THA"]),
    optional=st.text(alphabet="0123456789ABC", max_size=2),
)
def test_random_valid_td1_built_parses_back_exactly(number, birth, expiry, sex, surname, given_names, state, optional):
    lines = build_td1(number, birth, sex, expiry, surname, given_names, issuing_state=state, optional_data=optional)
    assert [len(line) for line in lines] == [30, 30, 30]
    doc = parse(lines, "reject", today=TODAY)
    assert doc.document_number == number
    assert (doc.birth_date, doc.expiry_date, doc.sex) == (birth, expiry, sex)
    assert (doc.surname, doc.given_names) == (surname, given_names)
    assert (doc.issuing_state, doc.nationality) == (state.strip("<"), state.strip("<"))
    assert doc.optional_data == optional
    assert doc.warnings == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=50), max_size=4), st.sampled_from(["reject", "warn"]))
def test_random_text_only_ever_raises_mrz_error(lines, strictness):
    try:
        doc = parse(lines, strictness, today=TODAY)
    except MrzError as err:
        assert err.code
    else:
        assert doc.format in mrz.FORMAT_SHAPES


CHECKED = set(range(5, 30)) | set(range(30, 37)) | set(range(38, 45)) | set(range(48, 60))  # 0-based in the 90 characters
CHECK_DIGITS = {14, 36, 44, 59}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CHECKED)), st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"))
def test_every_single_substitution_in_a_checked_field_is_caught(pos, ch):
    text = "".join(TD1_KHM)
    assume(ch != text[pos])
    # weights 7/3/1 are blind to value changes of 10 (e.g. 1 -> B); check digits must stay digits
    assume(pos in CHECK_DIGITS or (mrz.char_value(ch) - mrz.char_value(text[pos])) % 10 != 0)
    changed = text[:pos] + ch + text[pos + 1:]
    with pytest.raises(MrzError):
        parse([changed[i:i + 30] for i in (0, 30, 60)], "reject", today=TODAY)
