"""ISO/IEC 19794-2:2005 and ANSI/INCITS 378-2004 minutiae record codec (matcher.fingerprint.iso)."""
from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.fingerprint import iso
from matcher.fingerprint.iso import FingerRecord, FingerView, Minutia, TemplateFormatError

POSITIONS = ["UNKNOWN", "RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE",
             "LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE"]
SCAN_TYPES = {"LIVE_PLAIN": 0, "LIVE_ROLLED": 1, "NONLIVE_PLAIN": 2, "NONLIVE_ROLLED": 3, "SWIPE": 8}


@pytest.fixture(scope="module")
def templates(tests_data: Path) -> Path:
    return tests_data / "templates"


def read(path: Path) -> bytes:
    return path.read_bytes()


# ------------------------------------------------------------------ builders straight from the spec

def iso_bytes(*, width=300, height=400, res=197, views=((1, 0, 0, 60, [(1, 10, 20, 30, 40)], b""),),
              reserved=0, length_delta=0, version=b" 20\x00") -> bytes:
    """An ISO record; each view is (position, view number, impression, quality, minutiae, extended)
    with minutiae as (type code, x, y, angle, quality)."""
    body = b"".join(_view_bytes(*v) for v in views)
    length = 24 + len(body) + length_delta
    return (b"FMR\x00" + version + struct.pack(">IHHHHHBB", length, 0x00B5, width, height, res, res,
                                               len(views), reserved) + body)


def ansi_bytes(*, views=((2, 0, 0, 70, [(2, 5, 6, 90, 50)], b""),), long_length=False) -> bytes:
    body = b"".join(_view_bytes(*v) for v in views)
    tail = struct.pack(">IHHHHHBB", 0x0042_0011, 0x00B5, 512, 512, 197, 197, len(views), 0)
    if long_length:
        length = 30 + len(body)
        return b"FMR\x00 20\x00" + struct.pack(">HI", 0, length) + tail + body
    return b"FMR\x00 20\x00" + struct.pack(">H", 26 + len(body)) + tail + body


def _view_bytes(position, view_number, impression, quality, minutiae, extended) -> bytes:
    out = bytes((position, view_number << 4 | impression, quality, len(minutiae)))
    for code, x, y, angle, q in minutiae:
        out += struct.pack(">HHBB", code << 14 | x, y, angle, q)
    return out + struct.pack(">H", len(extended)) + extended


# ------------------------------------------------------------------ reference samples

def assert_matches_json(record: FingerRecord, expected: dict, *, ansi: bool) -> None:
    assert record.certified == expected["sensorCertified"]
    assert record.device_id == expected["sensorId"]
    assert (record.width, record.height) == (expected["width"], expected["height"])
    assert (record.x_resolution, record.y_resolution) == (expected["resolutionX"], expected["resolutionY"])
    assert len(record.views) == len(expected["fingerprints"])
    for view, fp in zip(record.views, expected["fingerprints"]):
        assert POSITIONS[view.position] == fp["position"]
        assert view.view_number == fp["view"]
        assert view.impression_type == SCAN_TYPES[fp["scanType"]]
        assert view.quality == fp["quality"]
        got = [(m.kind.upper(), m.x, m.y, m.angle, m.quality) for m in view.minutiae]
        want = [(m["type"], m["positionX"], m["positionY"],
                 iso.ansi_angle_to_iso(m["angle"] % 180) if ansi else m["angle"], m["quality"])
                for m in fp["minutiae"]]
        assert got == want


def test_iso_sample_decodes_to_its_reference_decoding(templates):
    data = read(templates / "fingerprintio_iso19794p2v2005-sample.dat")
    expected = json.loads((templates / "fingerprintio_iso19794p2v2005-sample.json").read_text())
    record = iso.decode(data)
    assert record.format == iso.ISO_19794_2_2005
    assert_matches_json(record, expected, ansi=False)


def test_iso_sample_keeps_extension_blocks_raw(templates):
    record = iso.decode(read(templates / "fingerprintio_iso19794p2v2005-sample.dat"))
    expected = json.loads((templates / "fingerprintio_iso19794p2v2005-sample.json").read_text())
    for view, fp in zip(record.views, expected["fingerprints"]):
        blocks = b"".join(struct.pack(">HH", e["type"], len(base64.b64decode(e["data"])))
                          + base64.b64decode(e["data"]) for e in fp["extensions"])
        assert view.extended == blocks
    assert record.views[1].extended != b""


def test_iso_sample_round_trips_byte_exact(templates):
    data = read(templates / "fingerprintio_iso19794p2v2005-sample.dat")
    assert iso.encode_iso(iso.decode(data)) == data


def test_ansi_sample_is_rejected_by_the_strict_reader(templates):
    # The fingerprintio ANSI sample has version "020", a record length 2 bytes short of its
    # content and angles above 179: not a valid ANSI 378 record.
    with pytest.raises(TemplateFormatError, match="version"):
        iso.decode(read(templates / "fingerprintio_ansi378v2004-sample.dat"))


def test_ansi_sample_decodes_leniently_to_its_reference_decoding_in_iso_angle_units(templates):
    expected = json.loads((templates / "fingerprintio_ansi378v2004-sample.json").read_text())
    record = iso.decode(read(templates / "fingerprintio_ansi378v2004-sample.dat"), strict=False)
    assert record.format == iso.ANSI_378_2004
    assert record.product_id == expected["vendorId"] << 16 | expected["subformat"]
    assert_matches_json(record, expected, ansi=True)


def test_ansi_sample_ridge_count_block_is_kept_raw(templates):
    record = iso.decode(read(templates / "fingerprintio_ansi378v2004-sample.dat"), strict=False)
    ext = record.views[1].extended
    block_type, = struct.unpack(">H", ext[:2])
    assert block_type == 1                           # ridge counts
    assert ext[4] == 1                               # four-neighbour ("QUADRANTS") method
    assert tuple(ext[5:8]) == (68, 188, 54)          # the edge in the reference decoding


def test_ansi_sample_converted_to_iso_has_the_same_minutiae_positions(templates):
    ansi = iso.decode(read(templates / "fingerprintio_ansi378v2004-sample.dat"), strict=False)
    again = iso.decode(iso.encode_iso(ansi))
    assert again.format == iso.ISO_19794_2_2005
    assert again.views == ansi.views


@pytest.mark.parametrize("name", ["sourceafis_iso-probe.dat", "sourceafis_iso-matching.dat",
                                  "sourceafis_iso-nonmatching.dat"])
def test_sourceafis_record_length_is_honoured_and_padding_ignored(templates, name):
    data = read(templates / name)
    length, = struct.unpack(">I", data[8:12])
    assert len(data) == 384 and length < len(data) and not any(data[length:])
    record = iso.decode(data)
    assert len(record.views) == 1 and len(record.views[0].minutiae) > 30
    assert iso.encode_iso(record) == data[:length]


@pytest.mark.parametrize("name", ["101_1_truncate_1_byte.iso", "101_1_truncate_2_bytes.iso",
                                  "101_1_truncate_3_bytes.iso"])
@pytest.mark.parametrize("strict", [True, False])
def test_openafis_truncated_records_are_rejected_with_an_offset(templates, name, strict):
    with pytest.raises(TemplateFormatError, match="truncated") as caught:
        iso.decode(read(templates / "openafis_invalid" / name), strict=strict)
    assert caught.value.offset is not None and f"offset {caught.value.offset}" in str(caught.value)


def test_bundled_fvc_templates_decode_in_the_stretched_frame(templates):
    files = sorted((templates / "fvc2002").glob("*.iso"))
    assert len(files) == 4
    for path in files:
        data = read(path)
        record = iso.decode(data)
        assert (record.width, record.height) == (300, 400)
        assert all(m.quality == 0 for v in record.views for m in v.minutiae)
        assert iso.encode_iso(record) == data


def test_every_fvc2002_template_decodes_and_round_trips(datasets):
    files = sorted((datasets / "fingerprints" / "fvc2002").glob("DB*_B/*.iso"))
    assert len(files) == 320
    for path in files:
        data = read(path)
        record = iso.decode(data)
        assert record.views and record.views[0].minutiae, path.name
        assert iso.encode_iso(record) == data, path.name


# ------------------------------------------------------------------ specific defects

def test_bad_format_identifier_is_rejected():
    with pytest.raises(TemplateFormatError, match="format identifier") as caught:
        iso.decode(b"FIR\x00" + iso_bytes()[4:])
    assert caught.value.offset == 0


def test_bad_version_is_rejected():
    with pytest.raises(TemplateFormatError, match="version") as caught:
        iso.decode(iso_bytes(version=b" 30\x00"))
    assert caught.value.offset == 4


def test_record_length_longer_than_the_data_is_truncation():
    with pytest.raises(TemplateFormatError, match="truncated: record length field says 40"):
        iso.decode(iso_bytes(length_delta=4))


def test_record_length_shorter_than_the_content_is_inconsistent():
    # The declared length ends inside the extended-data length field of the last view.
    with pytest.raises(TemplateFormatError, match="extended data length") as caught:
        iso.decode(iso_bytes(length_delta=-1) + b"\x00")
    assert caught.value.offset == 34


def test_record_length_longer_than_the_content_is_inconsistent():
    data = iso_bytes(length_delta=2) + b"\x00\x00"
    with pytest.raises(TemplateFormatError, match="inconsistent: record length field says 38 bytes"):
        iso.decode(data)


def test_record_length_below_the_header_size_is_rejected():
    data = bytearray(ansi_bytes(long_length=True))
    data[10:14] = struct.pack(">I", 29)
    with pytest.raises(TemplateFormatError, match="29 bytes, less than the 30-byte") as caught:
        iso.decode(bytes(data))
    assert caught.value.offset == 10


def test_minutiae_count_overrunning_the_record_is_rejected():
    data = bytearray(iso_bytes())
    data[27] = 9                                   # claims 9 minutiae, 1 present
    with pytest.raises(TemplateFormatError, match="minutiae count 9 needs 54 bytes") as caught:
        iso.decode(bytes(data))
    assert caught.value.offset == 27


def test_coordinate_outside_the_image_is_rejected_without_echoing_it():
    data = iso_bytes(width=300, views=((1, 0, 0, 60, [(1, 4321, 20, 30, 40)], b""),))
    with pytest.raises(TemplateFormatError, match="x is outside the image width") as caught:
        iso.decode(data)
    assert caught.value.offset == 28 and "4321" not in str(caught.value)


def test_y_outside_the_image_is_rejected():
    with pytest.raises(TemplateFormatError, match="y is outside the image height") as caught:
        iso.decode(iso_bytes(height=400, views=((1, 0, 0, 60, [(1, 1, 400, 30, 40)], b""),)))
    assert caught.value.offset == 30


def test_zero_image_size_means_unknown_and_does_not_bound_coordinates():
    record = iso.decode(iso_bytes(width=0, height=0, views=((1, 0, 0, 60, [(1, 9000, 9000, 3, 0)], b""),)))
    assert record.views[0].minutiae[0].x == 9000


def test_minutia_quality_above_100_is_rejected():
    with pytest.raises(TemplateFormatError, match="quality is above 100") as caught:
        iso.decode(iso_bytes(views=((1, 0, 0, 60, [(1, 1, 2, 3, 101)], b""),)))
    assert caught.value.offset == 33


def test_finger_quality_above_100_is_rejected():
    with pytest.raises(TemplateFormatError, match="finger quality 101"):
        iso.decode(iso_bytes(views=((1, 0, 0, 101, [], b""),)))


def test_undefined_minutia_type_is_rejected():
    with pytest.raises(TemplateFormatError, match="type bits 11"):
        iso.decode(iso_bytes(views=((1, 0, 0, 60, [(3, 1, 2, 3, 4)], b""),)))


def test_reserved_y_bits_are_rejected():
    data = bytearray(iso_bytes())
    data[30] |= 0x40
    with pytest.raises(TemplateFormatError, match="reserved bits") as caught:
        iso.decode(bytes(data))
    assert caught.value.offset == 30


def test_finger_position_above_10_is_rejected():
    with pytest.raises(TemplateFormatError, match="finger position 11"):
        iso.decode(iso_bytes(views=((11, 0, 0, 60, [], b""),)))


def test_unknown_impression_type_is_rejected():
    with pytest.raises(TemplateFormatError, match="impression type 5"):
        iso.decode(iso_bytes(views=((1, 0, 5, 60, [], b""),)))


def test_zero_resolution_is_rejected():
    with pytest.raises(TemplateFormatError, match="x resolution is zero") as caught:
        iso.decode(iso_bytes(res=0))
    assert caught.value.offset == 18


def test_extended_data_overrunning_the_record_is_rejected():
    data = bytearray(iso_bytes(views=((1, 0, 0, 60, [], b"\x00\x01\x00\x02\xaa\xbb"),)))
    data[28:30] = struct.pack(">H", 60)
    with pytest.raises(TemplateFormatError, match="extended data length 60 overruns") as caught:
        iso.decode(bytes(data))
    assert caught.value.offset == 28


def test_error_messages_never_quote_record_bytes(templates):
    data = bytearray(read(templates / "fingerprintio_iso19794p2v2005-sample.dat"))
    data[8:12] = struct.pack(">I", len(data) + 1)
    with pytest.raises(TemplateFormatError) as caught:
        iso.decode(bytes(data))
    text = str(caught.value)
    assert data[24:40].hex() not in text and repr(bytes(data[24:40])) not in text


def test_non_bytes_input_is_a_type_error():
    with pytest.raises(TypeError):
        iso.decode("FMR")  # type: ignore[arg-type]


# ------------------------------------------------------------------ ANSI 378

def test_ansi_record_is_detected_and_angles_converted_from_2_degree_units():
    record = iso.decode(ansi_bytes(views=((2, 0, 0, 70, [(2, 5, 6, 90, 50), (1, 7, 8, 179, 0)], b""),)))
    assert record.format == iso.ANSI_378_2004
    assert record.product_id == 0x0042_0011
    assert [m.angle for m in record.views[0].minutiae] == [128, 255]   # 180 deg, 358 deg
    assert record.views[0].minutiae[0] == Minutia(x=5, y=6, angle=128, kind="bifurcation", quality=50)


def test_ansi_record_with_long_length_is_read():
    record = iso.decode(ansi_bytes(long_length=True))
    assert record.format == iso.ANSI_378_2004 and record.views[0].position == 2


def test_ansi_angle_above_179_is_rejected_strictly_and_wrapped_leniently():
    data = ansi_bytes(views=((2, 0, 0, 70, [(1, 5, 6, 200, 50)], b""),))
    with pytest.raises(TemplateFormatError, match="ANSI angle is above 179") as caught:
        iso.decode(data)
    assert caught.value.offset == 34
    assert iso.decode(data, strict=False).views[0].minutiae[0].angle == iso.ansi_angle_to_iso(20)


def test_ansi_angle_conversion_rounds_to_nearest_iso_unit():
    for raw in range(180):
        converted = iso.ansi_angle_to_iso(raw)
        error = (converted * 360 / 256 - raw * 2 + 180) % 360 - 180
        assert abs(error) <= 360 / 512


# ------------------------------------------------------------------ angle convention

def test_angle_helpers_follow_counter_clockwise_from_plus_x():
    assert iso.angle_to_radians(0) == 0.0
    assert iso.angle_to_radians(64) == pytest.approx(math.pi / 2)   # pointing up the image (-y)
    assert iso.radians_to_angle(math.pi) == 128
    assert iso.radians_to_angle(-math.pi / 2) == 192                 # pointing down the image


def test_angle_helpers_round_trip_every_iso_unit():
    assert [iso.radians_to_angle(iso.angle_to_radians(a)) for a in range(256)] == list(range(256))


def test_radians_to_angle_rejects_non_finite_values():
    with pytest.raises(ValueError):
        iso.radians_to_angle(float("nan"))


# ------------------------------------------------------------------ encoder validation

def test_encoder_rejects_a_coordinate_wider_than_14_bits():
    record = FingerRecord(iso.ISO_19794_2_2005, 0, 0, 197, 197, 0,
                          (FingerView(1, 0, 0, 50, (Minutia(20000, 1, 0, "ending", 0),)),))
    with pytest.raises(TemplateFormatError, match="x does not fit in 14 bits"):
        iso.encode_iso(record)


def test_encoder_rejects_an_unknown_minutia_kind():
    record = FingerRecord(iso.ISO_19794_2_2005, 300, 400, 197, 197, 0,
                          (FingerView(1, 0, 0, 50, (Minutia(1, 1, 0, "core", 0),)),))
    with pytest.raises(TemplateFormatError, match="kind must be one of"):
        iso.encode_iso(record)


def test_encoder_rejects_a_minutia_outside_the_image():
    record = FingerRecord(iso.ISO_19794_2_2005, 300, 400, 197, 197, 0,
                          (FingerView(1, 0, 0, 50, (Minutia(300, 1, 0, "ending", 0),)),))
    with pytest.raises(TemplateFormatError, match="outside the image"):
        iso.encode_iso(record)


# ------------------------------------------------------------------ properties

@st.composite
def records(draw) -> FingerRecord:
    width = draw(st.integers(0, 0xFFFF))
    height = draw(st.integers(0, 0xFFFF))
    max_x = min(width - 1, 0x3FFF) if width else 0x3FFF
    max_y = min(height - 1, 0x3FFF) if height else 0x3FFF
    minutia = st.builds(Minutia, x=st.integers(0, max_x), y=st.integers(0, max_y),
                        angle=st.integers(0, 255), kind=st.sampled_from(iso.MINUTIA_KINDS),
                        quality=st.integers(0, 100))
    view = st.builds(FingerView, position=st.integers(0, 10), view_number=st.integers(0, 15),
                     impression_type=st.sampled_from([0, 1, 2, 3, 8]), quality=st.integers(0, 100),
                     minutiae=st.lists(minutia, max_size=40).map(tuple),
                     extended=st.binary(max_size=40))
    return FingerRecord(format=iso.ISO_19794_2_2005, width=width, height=height,
                        x_resolution=draw(st.integers(1, 0xFFFF)), y_resolution=draw(st.integers(1, 0xFFFF)),
                        equipment=draw(st.integers(0, 0xFFFF)),
                        views=tuple(draw(st.lists(view, max_size=4))))


@given(records())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_records_survive_encoding_and_decoding(record):
    assert iso.decode(iso.encode_iso(record)) == record


@given(records(), st.binary(max_size=64).map(lambda b: bytes(len(b))))
@settings(max_examples=100, deadline=None)
def test_zero_padding_after_the_record_is_ignored(record, padding):
    data = iso.encode_iso(record)
    assert iso.encode_iso(iso.decode(data + padding)) == data


@given(st.binary(max_size=200), st.booleans())
@settings(max_examples=500, deadline=None)
def test_random_bytes_raise_only_template_format_errors(data, strict):
    try:
        iso.decode(data, strict=strict)
    except TemplateFormatError:
        pass


@given(st.binary(max_size=200), st.booleans())
@settings(max_examples=300, deadline=None)
def test_random_bytes_after_a_valid_magic_raise_only_template_format_errors(tail, strict):
    try:
        iso.decode(b"FMR\x00 20\x00" + tail, strict=strict)
    except TemplateFormatError:
        pass


@given(records(), st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_corrupted_records_are_rejected_or_round_trip_exactly(record, data):
    """Any byte string the strict reader accepts is written back identically (up to its length)."""
    original = bytearray(iso.encode_iso(record))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(original) - 1))
        original[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    corrupted = bytes(original[:cut])
    try:
        decoded = iso.decode(corrupted)
    except TemplateFormatError:
        return
    if decoded.format == iso.ISO_19794_2_2005:    # a corrupted length field can make it ANSI
        assert corrupted.startswith(iso.encode_iso(decoded))
