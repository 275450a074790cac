"""MRZ reader framing codecs and the IdCardReader driver against the card reader simulator on a real PTY."""
from __future__ import annotations

import functools
import logging
import operator
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import mrz
from hardware.errors import DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.idcard import (ENCODERS, FrameDecoder, IdCardReader, encode_3m, encode_desko, encode_plain)
from simulators.card_reader import CardReaderModel
from simulators.transport import PtyDevice, TcpDevice

KHM = ("IDKHM1234567897<<<<<<<<<<<<<<<", "9001011M3001019KHM<<<<<<<<<<<2", "SAMPLE<<TEST<<<<<<<<<<<<<<<<<<")
TD3 = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
OTHER = mrz.build_td1("987654321", None, "F", mrz.date(2031, 5, 6), "SOK", "DARA")
FRAMINGS = ("desko", "3m", "plain")


def xor(data: bytes) -> int:
    return functools.reduce(operator.xor, data, 0)


# -- encoders: exact bytes ------------------------------------------------------------------------
def test_desko_frame_bytes():
    assert encode_desko(TD3) == b"\x02" + TD3[0].encode() + b"\r" + TD3[1].encode() + b"\r\x03"
    assert encode_desko(TD3, soh=True) == b"\x01\x02" + TD3[0].encode() + b"\r" + TD3[1].encode() + b"\r\x03"


def test_3m_frame_bytes_pad_with_underscores_and_end_with_bcc():
    body = b"OU\x020" + b"".join(line.replace("<", "_").encode() + b"\r" for line in KHM) + b"\x03"
    length = bytes([len(body)])
    assert len(body) == 98
    assert encode_3m(KHM) == b"\x01" + length + body + bytes([xor(length + body)])


def test_plain_frame_bytes():
    assert encode_plain(TD3) == TD3[0].encode() + b"\r" + TD3[1].encode() + b"\r"
    assert encode_plain(TD3, newline=b"\r\n") == TD3[0].encode() + b"\r\n" + TD3[1].encode() + b"\r\n"


# -- decoders -------------------------------------------------------------------------------------
@pytest.mark.parametrize("framing", FRAMINGS + ("auto",))
def test_decoder_reads_a_frame_fed_one_byte_at_a_time(framing):
    data = ENCODERS["3m" if framing == "auto" else framing](KHM)
    decoder = FrameDecoder(framing)
    events = [e for i in range(len(data)) for e in decoder.feed(data[i:i + 1])]
    assert events == [KHM]
    assert not decoder.busy


def test_desko_skips_garbage_and_an_optional_soh():
    decoder = FrameDecoder("desko")
    assert decoder.feed(b"\x00\xffnoise\x03" + encode_desko(KHM, soh=True) + encode_desko(TD3)) == [KHM, TD3]


def test_desko_frame_cut_by_the_next_frame_is_reported_then_the_next_frame_read():
    decoder = FrameDecoder("desko")
    events = decoder.feed(encode_desko(KHM)[:40] + encode_desko(TD3))
    assert isinstance(events[0], ProtocolError) and events[1:] == [TD3]


def test_desko_empty_frame_is_an_error():
    [event] = FrameDecoder("desko").feed(b"\x02\r\r\x03")
    assert isinstance(event, ProtocolError)


def test_desko_unfinished_frame_keeps_the_decoder_busy():
    decoder = FrameDecoder("desko")
    assert decoder.feed(encode_desko(KHM)[:-1]) == []
    assert decoder.busy
    decoder.reset()
    assert not decoder.busy


def test_3m_bad_bcc_is_an_error_and_the_next_frame_still_reads():
    bad = bytearray(encode_3m(KHM))
    bad[-1] ^= 0x01
    events = FrameDecoder("3m").feed(bytes(bad) + encode_3m(TD3))
    assert isinstance(events[0], ProtocolError) and "BCC" in str(events[0])
    assert events[1:] == [TD3]


def test_3m_frame_missing_bytes_resyncs_on_the_next_frame():
    frame = encode_3m(KHM)
    events = FrameDecoder("3m").feed(frame[:50] + frame[53:] + encode_3m(TD3))
    assert isinstance(events[0], ProtocolError)
    assert events[-1] == TD3


def test_3m_frame_without_ou_header_is_an_error():
    [event] = FrameDecoder("3m").feed(b"\x01\x10XX")
    assert isinstance(event, ProtocolError)


@pytest.mark.parametrize("newline", [b"\r", b"\n", b"\r\n"])
def test_plain_lines_with_any_terminator(newline):
    assert FrameDecoder("plain").feed(encode_plain(KHM, newline=newline) + encode_plain(TD3, newline=newline)) == [KHM, TD3]


def test_plain_drops_control_garbage_and_spaces_inside_lines():
    assert FrameDecoder("plain").feed(b"\x00\xff\x13" + encode_plain(KHM)) == [KHM]


def test_plain_line_of_no_mrz_width_is_an_error_then_the_zone_reads():
    events = FrameDecoder("plain").feed(b"READY\r\n" + encode_plain(KHM))
    assert isinstance(events[0], ProtocolError) and events[1:] == [KHM]


def test_plain_zone_with_a_short_line_is_an_error():
    events = FrameDecoder("plain").feed(encode_plain((KHM[0], KHM[1][:-1], KHM[2])))
    assert isinstance(events[0], ProtocolError)


def test_auto_follows_each_frame_s_framing_with_garbage_between():
    stream = (b"\xfe\x00" + encode_desko(KHM) + b"xx" + encode_3m(TD3) + b"\x80" + encode_plain(OTHER, newline=b"\r\n")
              + encode_desko(TD3, soh=True))
    assert FrameDecoder("auto").feed(stream) == [KHM, TD3, OTHER, TD3]


def test_unknown_framing_is_refused():
    with pytest.raises(ValueError):
        FrameDecoder("wiegand")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FRAMINGS + ("auto",)), st.lists(st.binary(max_size=64), max_size=8))
def test_random_bytes_only_ever_yield_lines_or_protocol_errors(framing, chunks):
    decoder = FrameDecoder(framing)
    for chunk in chunks:
        for event in decoder.feed(chunk):
            assert isinstance(event, ProtocolError) or (
                isinstance(event, tuple) and all(isinstance(line, str) for line in event))


_MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_zones = st.sampled_from([(3, 30), (2, 36), (2, 44)]).flatmap(
    lambda shape: st.lists(st.text(_MRZ_ALPHABET, min_size=shape[1], max_size=shape[1]),
                           min_size=shape[0], max_size=shape[0]).map(tuple))
# line noise that is not a frame start or line end in any framing
_garbage = st.binary(max_size=12).map(lambda b: bytes(x for x in b if x < 0x20 or x > 0x7E)
                                      .translate(None, b"\x01\x02\x03\r\n"))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FRAMINGS), st.lists(st.tuples(_garbage, _zones), min_size=1, max_size=3), st.booleans(),
       st.lists(st.integers(0, 400), max_size=6))
def test_encode_then_decode_round_trips_for_every_framing(framing, frames, auto, cuts):
    stream = b"".join(garbage + ENCODERS[framing](zone) for garbage, zone in frames)
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    decoder = FrameDecoder("auto" if auto else framing)
    events = [e for a, b in zip(bounds, bounds[1:]) for e in decoder.feed(stream[a:b])]
    assert events == [zone for _, zone in frames]
    assert not decoder.busy


# -- the reader over a real PTY -------------------------------------------------------------------
@contextmanager
def reader_on_pty(framing: str = "desko", reader_framing: str = "auto", **reader_args) -> Iterator[tuple]:
    model = CardReaderModel(framing)
    device = PtyDevice(model, "card-reader")
    port = serial.Serial(device.path, 9600, timeout=0.05)
    try:
        yield model, device, IdCardReader(port, framing=reader_framing, **reader_args)
    finally:
        port.close()
        device.close()


def present_later(model: CardReaderModel, lines, delay: float = 0.1) -> threading.Timer:
    timer = threading.Timer(delay, model.present_card, args=(lines,))
    timer.start()
    return timer


@pytest.mark.parametrize("reader_framing", ["auto", "exact"])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_reader_reads_each_vendor_framing_over_a_pty(framing, reader_framing):
    with reader_on_pty(framing, framing if reader_framing == "exact" else "auto") as (model, _, reader):
        present_later(model, KHM)
        doc = reader.read_document(timeout=3)
    assert doc == mrz.parse(KHM)
    assert bytes(model.sent) == ENCODERS[framing](KHM)


def test_reader_returns_none_when_no_card_is_presented():
    with reader_on_pty() as (_, _, reader):
        assert reader.read_document(timeout=0.2) is None


def test_card_arriving_after_the_timeout_is_read_by_the_next_call():
    with reader_on_pty("3m") as (model, _, reader):
        timer = present_later(model, TD3, delay=0.6)
        assert reader.read_document(timeout=0.2) is None
        timer.join()
        assert reader.read_document(timeout=3).document_number == "L898902C3"


def test_zero_timeout_still_reads_what_has_arrived():
    port = serial.serial_for_url("loop://", timeout=0.05)
    try:
        port.write(encode_desko(KHM))
        assert IdCardReader(port).read_document(timeout=0).document_number == "123456789"
    finally:
        port.close()


def test_two_cards_are_read_in_order():
    with reader_on_pty("desko") as (model, _, reader):
        model.present_card(KHM)
        model.present_card(TD3)
        assert reader.read_document(timeout=3).format == "TD1"
        assert reader.read_document(timeout=3).format == "TD3"


def test_flush_forgets_a_card_swiped_before_the_session():
    with reader_on_pty("desko") as (model, _, reader):
        model.present_card(KHM)
        model.present_card(TD3)
        deadline = time.monotonic() + 3
        while reader.port.in_waiting < len(model.sent) and time.monotonic() < deadline:
            time.sleep(0.01)  # the PTY hands bytes over asynchronously
        reader.flush()
        assert reader.read_document(timeout=0.2) is None


def test_unplugged_mid_read_raises_device_unavailable():
    with reader_on_pty() as (_, device, reader):
        threading.Timer(0.2, device.unplug).start()
        with pytest.raises(DeviceUnavailable):
            reader.read_document(timeout=3)


def test_garbage_before_a_frame_is_skipped():
    with reader_on_pty("desko") as (model, device, reader):
        device.faults.garbage_prefix = b"\x00\xff\x7f\x13\x03"
        present_later(model, KHM)
        assert reader.read_document(timeout=3).document_number == "123456789"


def test_garbage_before_a_plain_zone_is_skipped():
    with reader_on_pty("plain") as (model, device, reader):
        device.faults.garbage_prefix = b"\x00\xff\x13"
        present_later(model, TD3)
        assert reader.read_document(timeout=3).document_number == "L898902C3"


def test_corrupted_bcc_on_the_wire_is_a_protocol_error_then_the_next_card_reads():
    with reader_on_pty("3m") as (model, device, reader):
        device.faults.corrupt_replies = True
        present_later(model, KHM)
        with pytest.raises(ProtocolError):
            reader.read_document(timeout=3)
        device.faults.clear()
        present_later(model, TD3)
        assert reader.read_document(timeout=3).format == "TD3"


def test_reader_device_with_a_wrong_bcc_is_a_protocol_error():
    with reader_on_pty("3m") as (model, _, reader):
        model.inject("bad_bcc")
        present_later(model, KHM)
        with pytest.raises(ProtocolError):
            reader.read_document(timeout=3)


def test_dropped_bytes_inside_a_desko_zone_fail_mrz_validation():
    # frame = STX + 3 x (30 + CR) + ETX = 95 bytes; every 50th byte lost: one character of line 2
    with reader_on_pty("desko") as (model, device, reader):
        device.faults.drop_every = 50
        present_later(model, KHM)
        with pytest.raises(mrz.MrzError) as err:
            reader.read_document(timeout=3)
    assert err.value.code == "bad_shape"


def test_dropped_bytes_in_a_3m_frame_time_out_the_frame():
    with reader_on_pty("3m", frame_timeout=0.3) as (model, device, reader):
        device.faults.drop_every = 40
        present_later(model, KHM)
        with pytest.raises(DeviceTimeout):
            reader.read_document(timeout=3)


def test_truncated_frame_times_out_and_the_reader_recovers():
    with reader_on_pty("desko", frame_timeout=0.3) as (model, _, reader):
        model.inject("truncated")
        present_later(model, KHM)
        with pytest.raises(DeviceTimeout):
            reader.read_document(timeout=3)
        model.clear_faults()
        present_later(model, TD3)
        assert reader.read_document(timeout=3).format == "TD3"


def test_frame_finishing_after_the_read_timeout_is_still_read():
    # the read deadline passed mid-frame; the per-frame timeout, not the read timeout, bounds it
    with reader_on_pty("desko", frame_timeout=2.0) as (model, _, reader):
        frame = encode_desko(KHM)
        model.emit(frame[:30])
        threading.Timer(0.4, model.emit, args=(frame[30:],)).start()
        assert reader.read_document(timeout=0.1).document_number == "123456789"


def test_bad_check_digit_rejects_or_warns_by_strictness():
    bad = (KHM[0], KHM[1][:-1] + "3", KHM[2])
    with reader_on_pty("desko") as (model, _, reader):
        present_later(model, bad)
        with pytest.raises(mrz.MrzError) as err:
            reader.read_document(timeout=3)
    assert err.value.code == "check_digit_composite"
    with reader_on_pty("desko", strictness="warn") as (model, _, reader):
        present_later(model, bad)
        assert reader.read_document(timeout=3).warnings == ("check_digit_composite",)


def test_reader_never_logs_the_zone(caplog):
    with caplog.at_level(logging.DEBUG), reader_on_pty("3m") as (model, device, reader):
        device.faults.corrupt_replies = True
        present_later(model, KHM)
        with pytest.raises(ProtocolError) as err:
            reader.read_document(timeout=3)
    assert "123456789" not in caplog.text and "IDKHM" not in caplog.text
    assert "123456789" not in str(err.value)


def test_reader_works_on_pyserial_loop_url():
    port = serial.serial_for_url("loop://", timeout=0.05)
    try:
        port.write(encode_3m(OTHER))
        assert IdCardReader(port).read_document(timeout=2).document_number == "987654321"
    finally:
        port.close()


def test_reader_works_over_tcp():
    model = CardReaderModel("plain")
    device = TcpDevice(model, "card-reader")
    port = serial.serial_for_url(device.path, timeout=0.05)
    try:
        present_later(model, KHM, delay=0.3)
        assert IdCardReader(port).read_document(timeout=3).surname == "SAMPLE"
    finally:
        port.close()
        device.close()


def test_simulator_refuses_bcc_fault_for_a_framing_without_bcc():
    with pytest.raises(ValueError):
        CardReaderModel("desko").inject("bad_bcc")


def test_reader_opens_a_path_itself_and_closes_it():
    model = CardReaderModel("desko")
    device = PtyDevice(model, "card-reader")
    try:
        with IdCardReader(device.path) as reader:
            present_later(model, KHM)
            assert reader.read_document(timeout=3).document_number == "123456789"
        assert not reader.port.is_open
    finally:
        device.close()


def test_missing_reader_port_is_device_unavailable():
    with pytest.raises(DeviceUnavailable):
        IdCardReader("/dev/does-not-exist-mrz")
