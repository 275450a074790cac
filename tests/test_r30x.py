"""The R30x frame codec: worked frames from the manuals byte for byte, and a parser that never crashes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import r30x
from hardware.errors import ProtocolError
from hardware.r30x import FrameParser, Instruction, PacketId

# (description, bytes from hardware.md section 1)
WORKED_COMMANDS = [
    ("VfyPwd(0)", Instruction.VFY_PWD, bytes(4), "EF01 FFFFFFFF 01 0007 13 00000000 001B"),
    ("GenImg", Instruction.GEN_IMG, b"", "EF01 FFFFFFFF 01 0003 01 0005"),
    ("Img2Tz buf1", Instruction.IMG2TZ, b"\x01", "EF01 FFFFFFFF 01 0004 02 01 0008"),
    ("UpImage", Instruction.UP_IMAGE, b"", "EF01 FFFFFFFF 01 0003 0A 000E"),
    ("ReadSysPara", Instruction.READ_SYS_PARA, b"", "EF01 FFFFFFFF 01 0003 0F 0013"),
    ("TemplateNum", Instruction.TEMPLATE_NUM, b"", "EF01 FFFFFFFF 01 0003 1D 0021"),
]
WORKED_ACKS = [
    ("ACK OK", 0x00, b"", "EF01 FFFFFFFF 07 0003 00 000A"),
    ("ACK no finger", 0x02, b"", "EF01 FFFFFFFF 07 0003 02 000C"),
    ("Search hit", 0x00, bytes.fromhex("00050064"), "EF01 FFFFFFFF 07 0007 00 0005 0064 0077"),
]


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("name,instruction,params,wire", WORKED_COMMANDS, ids=[c[0] for c in WORKED_COMMANDS])
def test_commands_encode_to_the_manual_bytes(name, instruction, params, wire):
    assert r30x.encode_command(instruction, params) == hexbytes(wire)


@pytest.mark.parametrize("name,instruction,params,wire", WORKED_COMMANDS, ids=[c[0] for c in WORKED_COMMANDS])
def test_manual_command_bytes_decode_to_the_instruction(name, instruction, params, wire):
    frame = r30x.decode_frame(hexbytes(wire))
    assert (frame.pid, frame.payload, frame.address) == (PacketId.COMMAND, bytes([instruction]) + params, 0xFFFFFFFF)


@pytest.mark.parametrize("name,code,results,wire", WORKED_ACKS, ids=[a[0] for a in WORKED_ACKS])
def test_acknowledgements_encode_and_decode_as_in_the_manual(name, code, results, wire):
    assert r30x.encode_ack(code, results) == hexbytes(wire)
    assert r30x.decode_frame(hexbytes(wire)) == r30x.Frame(PacketId.ACK, bytes([code]) + results)


def test_parser_skips_garbage_before_a_frame_and_counts_it():
    parser = FrameParser()
    parser.feed(b"\x00\xff\xef\x55" + hexbytes("EF01 FFFFFFFF 07 0003 02 000C"))
    assert parser.next_frame() == r30x.Frame(PacketId.ACK, b"\x02")
    assert parser.discarded == 4


def test_parser_waits_for_the_rest_of_a_split_frame():
    wire = hexbytes("EF01 FFFFFFFF 07 0007 00 0005 0064 0077")
    parser = FrameParser()
    parser.feed(wire[:1])
    assert parser.next_frame() is None
    parser.feed(wire[1:10])
    assert parser.next_frame() is None
    parser.feed(wire[10:])
    assert parser.next_frame().payload == bytes.fromhex("0000050064")


def test_parser_rejects_a_bad_checksum_then_resyncs_on_the_next_frame():
    good = hexbytes("EF01 FFFFFFFF 07 0003 00 000A")
    bad = good[:-1] + b"\x0b"
    parser = FrameParser()
    parser.feed(bad + good)
    with pytest.raises(r30x.ChecksumMismatch):
        parser.next_frame()
    assert parser.next_frame() == r30x.Frame(PacketId.ACK, b"\x00")
    assert parser.next_frame() is None


def test_abandoning_a_phantom_header_uncovers_the_frame_behind_it():
    parser = FrameParser()
    parser.feed(hexbytes("EF01 FFFFFFFF 07 0040") + hexbytes("EF01 FFFFFFFF 07 0003 00 000A"))
    assert parser.next_frame() is None            # waiting for the phantom's 64 bytes
    assert parser.abandon_partial()
    assert parser.next_frame() == r30x.Frame(PacketId.ACK, b"\x00")


def test_parser_rejects_a_frame_for_another_address():
    parser = FrameParser(address=0xFFFFFFFF)
    parser.feed(r30x.encode_ack(0, address=0x12345678))
    with pytest.raises(r30x.AddressMismatch):
        parser.next_frame()
    assert parser.pending == 0


def test_parser_with_no_address_accepts_any_address():
    parser = FrameParser(address=None)
    parser.feed(r30x.encode_ack(0, address=0x12345678))
    assert parser.next_frame().address == 0x12345678


def test_parser_rejects_lengths_beyond_the_limit_without_waiting_for_them():
    parser = FrameParser()
    parser.feed(hexbytes("EF01 FFFFFFFF 02 0103"))   # 259: one byte over a 256-byte payload
    with pytest.raises(r30x.BadLength):
        parser.next_frame()


def test_parser_rejects_a_length_too_short_for_the_checksum():
    parser = FrameParser()
    parser.feed(hexbytes("EF01 FFFFFFFF 07 0001 00"))
    with pytest.raises(r30x.BadLength):
        parser.next_frame()


def test_parser_rejects_unknown_packet_ids():
    parser = FrameParser()
    parser.feed(hexbytes("EF01 FFFFFFFF 05 0003 00 0008"))
    with pytest.raises(r30x.UnknownPacketId):
        parser.next_frame()


def test_frame_errors_are_protocol_errors_with_stable_codes():
    assert issubclass(r30x.ChecksumMismatch, ProtocolError)
    assert r30x.ChecksumMismatch.code == "bad_checksum"


def test_decode_frame_refuses_trailing_and_missing_bytes():
    wire = hexbytes("EF01 FFFFFFFF 07 0003 00 000A")
    with pytest.raises(r30x.TrailingBytes):
        r30x.decode_frame(wire + b"\x00")
    with pytest.raises(r30x.IncompleteFrame):
        r30x.decode_frame(wire[:-1])


def test_data_stream_keeps_a_short_last_packet_and_marks_it_08():
    stream = r30x.encode_data(bytes(range(200)), packet_size=128)
    parser = FrameParser()
    parser.feed(stream)
    first, last = parser.next_frame(), parser.next_frame()
    assert (first.pid, len(first.payload)) == (PacketId.DATA, 128)
    assert (last.pid, last.payload) == (PacketId.END_DATA, bytes(range(128, 200)))


def test_confirmation_table_names_every_manual_code():
    names = {c: r30x.confirmation(c).name for c in (0x02, 0x04, 0x05, 0x06, 0x07, 0x13, 0x21)}
    assert names == {0x02: "no_finger", 0x04: "too_dry", 0x05: "too_wet", 0x06: "image_messy",
                     0x07: "too_few_features", 0x13: "wrong_password", 0x21: "password_not_verified"}
    assert len(r30x.CONFIRMATIONS) == 26
    assert r30x.confirmation(0x99).name == "unknown_0x99"


def test_system_parameters_decode_the_manual_layout():
    raw = bytes.fromhex("0004 0000 03E8 0003 FFFFFFFF 0002 0006".replace(" ", ""))
    params = r30x.SystemParameters.from_bytes(raw)
    assert params == r30x.SystemParameters(status=4, system_id=0, library_size=1000, security_level=3,
                                           address=0xFFFFFFFF, packet_size=128, baud=57600)
    assert params.to_bytes() == raw


def test_system_parameters_reject_an_unknown_packet_size_code():
    with pytest.raises(ProtocolError):
        r30x.SystemParameters.from_bytes(bytes.fromhex("0000 0000 03E8 0003 FFFFFFFF 0007 0006".replace(" ", "")))


def test_image_packing_puts_the_left_pixel_in_the_high_nibble():
    image = np.array([[0x10, 0xF0, 0x3F, 0x40]], dtype=np.uint8)
    assert r30x.pack_image(image) == bytes([0x1F, 0x34])
    assert r30x.unpack_image(bytes([0x1F, 0x34]), 4, 1).tolist() == [[17, 255, 51, 68]]


def test_unpack_refuses_data_of_the_wrong_length():
    with pytest.raises(ProtocolError):
        r30x.unpack_image(bytes(10), 4, 4)


# -- properties ---------------------------------------------------------------------------------
addresses = st.integers(min_value=0, max_value=0xFFFFFFFF)
pids = st.sampled_from(list(PacketId))
payloads = st.binary(max_size=r30x.MAX_PAYLOAD)


@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=40))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_ever_give_frames_typed_errors_or_nothing(data, cuts):
    parser = FrameParser()
    position = 0
    for size in cuts + [len(data)]:
        parser.feed(data[position:position + size])
        position += size
        for _ in range(len(data) + 1):
            try:
                frame = parser.next_frame()
            except r30x.FrameError:
                continue
            if frame is None:
                break
            assert r30x.encode_frame(frame.pid, frame.payload, frame.address)
    assert parser.pending <= len(data)


@given(pids, payloads, addresses)
@settings(deadline=None)
def test_encode_then_parse_round_trips(pid, payload, address):
    frame = r30x.decode_frame(r30x.encode_frame(pid, payload, address), address=address)
    assert frame == r30x.Frame(pid, payload, address)


@given(st.lists(st.tuples(pids, payloads), min_size=1, max_size=5), addresses,
       st.binary(max_size=50).filter(lambda g: 0xEF not in g), st.integers(1, 300))
@settings(deadline=None)
def test_frames_survive_garbage_prefix_and_any_chunking(frames, address, garbage, chunk):
    wire = garbage + b"".join(r30x.encode_frame(pid, payload, address) for pid, payload in frames)
    parser = FrameParser(address)
    seen = []
    for i in range(0, len(wire), chunk):
        parser.feed(wire[i:i + chunk])
        while (frame := parser.next_frame()) is not None:
            seen.append((frame.pid, frame.payload))
    assert seen == [(PacketId(pid), payload) for pid, payload in frames]
    assert parser.discarded == len(garbage)


@given(pids, st.binary(min_size=1, max_size=64), st.data())
@settings(deadline=None)
def test_any_single_corrupted_byte_after_the_header_is_never_accepted_as_the_original(pid, payload, data):
    wire = bytearray(r30x.encode_frame(pid, payload))
    index = data.draw(st.integers(2, len(wire) - 1))
    wire[index] ^= data.draw(st.integers(1, 255))
    parser = FrameParser()
    parser.feed(bytes(wire))
    try:
        frame = parser.next_frame()
    except r30x.FrameError:
        return
    assert frame != r30x.Frame(pid, payload)


@given(st.integers(1, 40).map(lambda n: n * 2), st.integers(1, 40), st.data())
@settings(deadline=None)
def test_image_pack_unpack_returns_the_quantised_image(width, height, data):
    pixels = data.draw(st.binary(min_size=width * height, max_size=width * height))
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width)
    assert np.array_equal(r30x.unpack_image(r30x.pack_image(image), width, height), r30x.quantise(image))


@given(st.binary(max_size=2000), st.sampled_from(r30x.PACKET_SIZES))
@settings(deadline=None)
def test_data_streams_round_trip_for_every_packet_size(data, packet_size):
    parser = FrameParser()
    parser.feed(r30x.encode_data(data, packet_size))
    received = bytearray()
    while (frame := parser.next_frame()) is not None:
        received += frame.payload
        last = frame.pid
    assert bytes(received) == data and last == PacketId.END_DATA


@given(pids, payloads, addresses, st.binary(max_size=20).filter(lambda g: 0xEF not in g))
@settings(deadline=None)
def test_wanted_never_asks_for_more_than_the_rest_of_the_frame(pid, payload, address, garbage):
    wire = r30x.encode_frame(pid, payload, address)
    parser = FrameParser(address)
    parser.feed(garbage)
    position = 0
    while True:
        assert parser.next_frame() is None
        wanted = parser.wanted
        assert 1 <= wanted <= len(wire) - position
        parser.feed(wire[position:position + wanted])
        position += wanted
        if position == len(wire):
            break
    assert parser.next_frame() == r30x.Frame(pid, payload, address)
