"""The entry file's framing: intact records are read back, a torn tail is found, inner damage is refused."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import canonical
from kiosk.audit.errors import LogCorrupt
from kiosk.audit.records import decode_record, encode_record, scan

entries = st.lists(st.dictionaries(st.text(max_size=6), st.text(max_size=10) | st.integers(), max_size=4)
                   .map(canonical.encode), max_size=12)


@settings(max_examples=150)
@given(entries)
def test_records_round_trip(items):
    data = b"".join(encode_record(e) for e in items)
    result = scan(data)
    assert result.entries == items and result.intact_length == len(data) and result.torn_bytes == 0


@settings(max_examples=150)
@given(entries.filter(bool), st.data())
def test_any_cut_leaves_the_records_before_it_and_reports_the_rest_as_torn(items, data):
    blob = b"".join(encode_record(e) for e in items)
    cut = data.draw(st.integers(0, len(blob)))
    result = scan(blob[:cut])
    boundaries = [0]
    for e in items:
        boundaries.append(boundaries[-1] + len(encode_record(e)))
    complete = max(i for i, b in enumerate(boundaries) if b <= cut)
    assert result.entries == items[:complete]
    assert result.intact_length == boundaries[complete]
    assert result.torn_bytes == cut - boundaries[complete]


def test_a_zero_filled_tail_after_power_loss_is_torn_not_corrupt():
    data = encode_record(b'{"seq":0}') + b"\x00" * 4096
    result = scan(data)
    assert result.entries == [b'{"seq":0}'] and result.torn_bytes == 4096


def test_a_damaged_record_before_an_intact_one_is_corruption_not_a_torn_tail():
    first, second = encode_record(b'{"seq":0}'), encode_record(b'{"seq":1}')
    damaged = first.replace(b"0", b"7", 1) + second
    with pytest.raises(LogCorrupt, match="record 0 .* later records are intact"):
        scan(damaged)


def test_a_record_with_a_wrong_checksum_is_not_intact():
    line = encode_record(b'{"a":1}')[:-1]
    assert decode_record(line) == b'{"a":1}'
    assert decode_record(line[:-1] + b"0" if not line.endswith(b"0") else line[:-1] + b"1") is None
    assert decode_record(b"no tab here") is None
