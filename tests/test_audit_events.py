"""Entries are canonical JSON, and nothing that identifies a voter or carries biometrics gets in."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import canonical
from kiosk.audit.errors import EventRejected
from kiosk.audit.events import EVENT_TYPES, pseudonym, validate_fields

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200)
@given(json_values)
def test_canonical_encoding_round_trips(value):
    assert canonical.decode(canonical.encode(value)) == value


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=6))
def test_canonical_encoding_sorts_keys_and_has_no_spaces(value):
    data = canonical.encode(value)
    assert data == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_non_ascii_text_is_written_as_utf8_not_escaped():
    assert canonical.encode({"reason": "ភ្លើង"}) == '{"reason":"ភ្លើង"}'.encode("utf-8")


@pytest.mark.parametrize("data", [b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1.5}', b'{"a":"\\u0041"}',
                                  b'{"a":1,"a":2}', b'{"a":NaN}', b'\xff', b'{"a":1} '])
def test_decode_accepts_only_the_one_canonical_form(data):
    with pytest.raises(canonical.NotCanonical):
        canonical.decode(data)


def test_floats_cannot_be_encoded():
    with pytest.raises(canonical.NotCanonical, match="floats"):
        canonical.encode({"score": 41.5})


def test_every_documented_event_type_is_accepted():
    for event in EVENT_TYPES:
        validate_fields({"event": event, "official_id": "po-1", "outcome": "ok", "reason": "none"})


def test_unknown_event_types_are_rejected():
    with pytest.raises(EventRejected, match="unknown audit event type 'coffee_break'"):
        validate_fields({"event": "coffee_break"})


@pytest.mark.parametrize("key", ["template", "face_template", "probe_image", "image", "photo", "mrz",
                                 "mrz_lines", "id_number", "national_id", "document_number", "minutiae",
                                 "embedding", "name", "birth_date", "iso"])
def test_keys_that_name_raw_biometric_or_identity_data_are_rejected(key):
    with pytest.raises(EventRejected, match=f"'{key}'.*raw biometric or identity data"):
        validate_fields({"event": "capture", key: "x"})


SECRET_VALUES = {
    "id number": ("reason", "voter 123456789 refused", "ID number"),
    "MRZ line": ("reason", "IDKHM1234<<<<<<<<<<<<<<<<<<<<", "MRZ"),
    "MRZ filler": ("outcome", "SOK<<DARA", "MRZ"),
    "base64 template": ("reason", "Rk1SACAyMAAAAAFiAAABLAGQAMUAxQEAAABGQICVQNmAXQBkQI", "encoded binary"),
    "big integer": ("count", 123456789, "ID number"),
    "float": ("score", 40.5, "floats"),
    "bytes": ("blob", b"\x00\x01", "raw bytes"),
}


@pytest.mark.parametrize("case", sorted(SECRET_VALUES))
def test_values_that_look_like_secrets_are_rejected_without_repeating_them(case):
    key, value, why = SECRET_VALUES[case]
    with pytest.raises(EventRejected, match=why) as info:
        validate_fields({"event": "card_read", key: value})
    assert str(value) not in str(info.value)


def test_secrets_nested_in_objects_and_lists_are_found():
    with pytest.raises(EventRejected, match="'summary.extra'"):
        validate_fields({"event": "export", "summary": {"votes_marked": 3, "extra": "doc 98765432"}})
    with pytest.raises(EventRejected, match=r"'codes\[1\]'"):
        validate_fields({"event": "match", "codes": ["a", 12345678]})
    with pytest.raises(EventRejected, match=r"'nested.image'"):
        validate_fields({"event": "capture", "nested": {"image": None}})


def test_numpy_arrays_are_rejected():
    with pytest.raises(EventRejected, match="arrays"):
        validate_fields({"event": "capture", "quality_map": np.zeros((2, 2), np.uint8)})


def test_the_log_writes_seq_and_time_itself():
    with pytest.raises(EventRejected, match="'seq'.*written by the log"):
        validate_fields({"event": "boot", "seq": 4})


def test_the_voter_field_must_be_a_pseudonym():
    validate_fields({"event": "match", "voter": pseudonym("123456789", b"k" * 32)})
    with pytest.raises(EventRejected, match="'voter'.*64 lower-case hex"):
        validate_fields({"event": "match", "voter": "123456789"})


def test_pseudonym_is_hmac_sha256_of_the_normalised_number():
    import hashlib
    import hmac
    key = bytes(range(32))
    expected = hmac.new(key, b"AB123456", hashlib.sha256).hexdigest()
    assert pseudonym(" ab123456 ", key) == pseudonym("AB123456", key) == expected


def test_pseudonyms_differ_under_different_keys_and_numbers():
    assert pseudonym("123456789", b"a" * 32) != pseudonym("123456789", b"b" * 32)
    assert pseudonym("123456789", b"a" * 32) != pseudonym("123456780", b"a" * 32)


def test_pseudonym_refuses_short_keys_and_empty_numbers():
    with pytest.raises(ValueError, match="key"):
        pseudonym("123", b"short")
    with pytest.raises(ValueError, match="ID number"):
        pseudonym("  ", b"k" * 32)


@settings(max_examples=300)
@given(st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode()))
def test_decoding_arbitrary_bytes_either_fails_cleanly_or_gives_a_value_that_re_encodes_identically(data):
    try:
        value = canonical.decode(data)
    except canonical.NotCanonical:
        return
    assert canonical.encode(value) == data


def test_an_escaped_lone_surrogate_is_not_canonical():
    with pytest.raises(canonical.NotCanonical, match="lone surrogate"):
        canonical.decode(b'{"a":"\\ud800"}')


def test_a_key_that_is_itself_an_id_number_is_rejected_without_being_repeated():
    for fields in ({"event": "card_read", "v123456789": True}, {"event": "card_read", "123456789": True},
                   {"event": "export", "summary": {"n987654321": 1}}):
        with pytest.raises(EventRejected, match="keys are lower-case identifiers") as info:
            validate_fields(fields)
        assert "123456789" not in str(info.value) and "987654321" not in str(info.value)


def test_an_unknown_event_type_made_of_digits_is_not_echoed():
    with pytest.raises(EventRejected, match="unknown audit event type;") as info:
        validate_fields({"event": "123456789"})
    assert "123456789" not in str(info.value)
