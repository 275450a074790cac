"""UV lamp relays: LCUS and Numato codecs, and the lamp driver against the relay simulators on a real PTY."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.lamp import (LampError, UvLamp, lcus_frame, numato_command, numato_relay_name, numato_reply_text,
                           open_lamp, parse_lcus_frame, parse_lcus_status, parse_numato_state)
from simulators.lamp import LcusBoardModel, NumatoRelayModel
from simulators.transport import PtyDevice, TcpDevice

ON_1, OFF_1, STATUS = bytes.fromhex("A00101A2"), bytes.fromhex("A00100A1"), b"\xff"


class OffsetClock:
    """Real monotonic time plus a jump the test controls (the driver's reply timeouts keep working)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def wait_until(predicate, limit_s: float = 5.0) -> bool:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@contextmanager
def lamp_on_pty(model, kind: str, **lamp_args) -> Iterator[tuple]:
    device = PtyDevice(model, kind)
    lamp = open_lamp(device.path, kind, **lamp_args)
    try:
        yield model, device, lamp
    finally:
        lamp.close()
        device.close()


# -- codecs ---------------------------------------------------------------------------------------
def test_lcus_frames_from_the_manual():
    assert lcus_frame(1, True) == ON_1
    assert lcus_frame(1, False) == OFF_1
    assert lcus_frame(2, True) == bytes.fromhex("A00201A3")
    assert lcus_frame(8, False) == bytes.fromhex("A00800A8")


@pytest.mark.parametrize("channel", [0, 9])
def test_lcus_channel_out_of_range_is_refused(channel):
    with pytest.raises(ValueError):
        lcus_frame(channel, True)


@given(st.integers(1, 8), st.booleans())
def test_lcus_frame_round_trips(channel, on):
    assert parse_lcus_frame(lcus_frame(channel, on)) == (channel, on)


@given(st.binary(min_size=0, max_size=6))
def test_random_bytes_are_an_lcus_frame_or_a_protocol_error(data):
    try:
        channel, on = parse_lcus_frame(data)
    except ProtocolError:
        return
    assert lcus_frame(channel, on) == data


def test_lcus_status_lines_parse_only_when_complete():
    assert parse_lcus_status(b"CH1: ON\r\nCH2: OFF\r\n") == {1: True, 2: False}
    assert parse_lcus_status(b"\x00CH1: OFF\r\nCH2: O") == {1: False}


def test_numato_commands_and_letter_names():
    assert numato_command("on", 0) == b"relay on 0\r"
    assert numato_command("read", 3) == b"relay read 3\r"
    assert [numato_relay_name(i) for i in (9, 10, 11, 31)] == ["9", "A", "B", "V"]
    with pytest.raises(ValueError):
        numato_relay_name(32)


def test_numato_reply_is_what_follows_the_echo():
    assert numato_reply_text(b"relay read 0\n\ron\n\r>", b"relay read 0\r") == "on"
    assert parse_numato_state("on") is True and parse_numato_state("off") is False
    with pytest.raises(ProtocolError):
        numato_reply_text(b"rela read 0\n\ron\n\r>", b"relay read 0\r")
    with pytest.raises(ProtocolError):
        parse_numato_state("")


@given(st.binary(max_size=40))
def test_random_numato_replies_are_text_or_protocol_errors(data):
    try:
        state = parse_numato_state(numato_reply_text(data, b"relay read 0\r"))
    except ProtocolError:
        return
    assert isinstance(state, bool)


@given(st.binary(max_size=64))
def test_relay_simulators_take_any_bytes(data):
    lcus, numato = LcusBoardModel(4), NumatoRelayModel(16)
    assert isinstance(lcus.receive(data), bytes) and isinstance(numato.receive(data), bytes)


def test_lcus_simulator_ignores_frames_with_a_bad_checksum():
    model = LcusBoardModel(2)
    assert model.receive(bytes.fromhex("A00101A3")) == b""
    assert (model.lit, model.rejected_frames) == (False, 1)


def test_numato_simulator_echoes_then_prompts():
    model = NumatoRelayModel(1)
    assert model.receive(b"relay on 0\r") == b"relay on 0\n\r>"
    assert model.receive(b"relay read 0\r") == b"relay read 0\n\ron\n\r>"
    assert model.lit


# -- LCUS over a PTY ------------------------------------------------------------------------------
def test_lcus_open_switches_off_and_probes_status_then_on_and_off_are_confirmed():
    with lamp_on_pty(LcusBoardModel(2), "lcus") as (model, _, lamp):
        assert bytes(model.received) == OFF_1 + STATUS
        assert not lamp.is_on
        lamp.on()
        assert bytes(model.received) == OFF_1 + STATUS + ON_1 + STATUS
        assert model.lit and lamp.is_on
        lamp.off()
        assert bytes(model.received) == OFF_1 + STATUS + ON_1 + STATUS + OFF_1 + STATUS
        assert not model.lit and not lamp.is_on


def test_lcus_single_channel_board_without_status_gets_bare_frames():
    with lamp_on_pty(LcusBoardModel(1), "lcus") as (model, _, lamp):
        lamp.on()
        # no acknowledgement to wait for: give the simulator thread time to take the bytes
        assert wait_until(lambda: bytes(model.received) == OFF_1 + STATUS + ON_1)
        assert model.lit


def test_lcus_lamp_on_channel_two():
    with lamp_on_pty(LcusBoardModel(2, lamp_channel=2), "lcus", channel=2) as (model, _, lamp):
        lamp.on()
        assert bytes(model.received) == bytes.fromhex("A00200A2") + STATUS + bytes.fromhex("A00201A3") + STATUS
        assert model.lit and not model.relays[1]


def test_lcus_commands_are_spaced_by_the_board_s_gap():
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    with lamp_on_pty(LcusBoardModel(1), "lcus", sleep=sleep) as (_, _, lamp):
        lamp.on()
        lamp.off()
    assert pauses and all(0 < p <= 0.1 for p in pauses)


def test_lcus_lamp_failing_to_light_raises_and_switches_off():
    with lamp_on_pty(LcusBoardModel(2), "lcus") as (model, _, lamp):
        model.inject("fails_to_light")
        with pytest.raises(LampError, match="failed to light"):
            lamp.on()
        assert bytes(model.received).endswith(ON_1 + STATUS + OFF_1 + STATUS)
        assert not lamp.is_on and not model.lit


def test_lcus_unplugged_raises_device_unavailable():
    with lamp_on_pty(LcusBoardModel(2), "lcus") as (_, device, lamp):
        device.unplug()
        with pytest.raises(DeviceUnavailable):
            lamp.on()
        assert not lamp.is_on


def test_lcus_garbage_before_the_status_reply_is_ignored():
    with lamp_on_pty(LcusBoardModel(2), "lcus") as (model, device, lamp):
        device.faults.garbage_prefix = b"\x00\xff\x13"
        lamp.on()
        assert lamp.is_on and model.lit


def test_lcus_corrupted_last_byte_of_the_status_reply_is_tolerated():
    # the flip hits the final LF; "CH2: ON\r" is still a complete line, so the lamp is confirmed
    with lamp_on_pty(LcusBoardModel(2, lamp_channel=2), "lcus", channel=2) as (model, device, lamp):
        device.faults.corrupt_replies = True
        lamp.on()
        assert lamp.is_on and model.lit


def test_lcus_status_reply_missing_the_lamp_channel_is_a_timeout_and_the_lamp_is_switched_off():
    with lamp_on_pty(LcusBoardModel(2, lamp_channel=2), "lcus", channel=2) as (model, device, lamp):
        device.faults.drop_every = 12  # every 12th byte lost: the CH2 line never arrives whole
        with pytest.raises(DeviceTimeout):
            lamp.on()
        assert not lamp.is_on
        device.faults.clear()
        assert wait_until(lambda: not model.lit)


def test_lcus_dropped_reply_bytes_cannot_confirm_the_lamp():
    with lamp_on_pty(LcusBoardModel(2), "lcus") as (model, device, lamp):
        device.faults.drop_every = 3
        with pytest.raises(DeviceTimeout):
            lamp.on()
        assert not lamp.is_on and not model.lit


def test_lcus_slow_status_reply_beyond_the_timeout():
    with lamp_on_pty(LcusBoardModel(2), "lcus", reply_timeout=0.2) as (model, device, lamp):
        device.faults.reply_delay_s = 0.6
        with pytest.raises(DeviceTimeout):
            lamp.on()
        assert not lamp.is_on
        device.faults.clear()
        assert wait_until(lambda: not model.lit)


# -- Numato over a PTY ----------------------------------------------------------------------------
NUMATO_OPEN = b"\r" + b"relay off 0\r" + b"relay read 0\r"


def test_numato_open_then_on_and_off_with_read_back():
    with lamp_on_pty(NumatoRelayModel(1), "numato") as (model, _, lamp):
        assert bytes(model.received) == NUMATO_OPEN
        lamp.on()
        assert bytes(model.received) == NUMATO_OPEN + b"relay on 0\rrelay read 0\r"
        assert model.lit and lamp.is_on
        lamp.off()
        assert bytes(model.received) == NUMATO_OPEN + b"relay on 0\rrelay read 0\rrelay off 0\rrelay read 0\r"
        assert not model.lit


def test_numato_relay_ten_and_up_are_letters():
    with lamp_on_pty(NumatoRelayModel(16, lamp_relay=11), "numato", channel=11) as (model, _, lamp):
        lamp.on()
        assert bytes(model.received).endswith(b"relay on B\rrelay read B\r")
        assert model.lit


def test_numato_lamp_failing_to_light_raises_and_switches_off():
    with lamp_on_pty(NumatoRelayModel(1), "numato") as (model, _, lamp):
        model.inject("fails_to_light")
        with pytest.raises(LampError, match="failed to light"):
            lamp.on()
        assert bytes(model.received).endswith(b"relay on 0\rrelay read 0\rrelay off 0\rrelay read 0\r")
        assert not lamp.is_on and not model.lit


def test_numato_garbage_before_the_reply_is_ignored():
    with lamp_on_pty(NumatoRelayModel(1), "numato") as (model, device, lamp):
        device.faults.garbage_prefix = b"\x00\xff\x13"
        lamp.on()
        assert lamp.is_on and model.lit


def test_numato_corrupted_prompt_is_a_timeout():
    with lamp_on_pty(NumatoRelayModel(1), "numato", reply_timeout=0.2) as (model, device, lamp):
        device.faults.corrupt_replies = True
        with pytest.raises(DeviceTimeout):
            lamp.on()
        assert not lamp.is_on


def test_numato_dropped_bytes_break_the_echo():
    with lamp_on_pty(NumatoRelayModel(1), "numato", reply_timeout=0.2) as (model, device, lamp):
        device.faults.drop_every = 4
        with pytest.raises(DeviceError):
            lamp.on()
        assert not lamp.is_on


def test_numato_slow_reply_beyond_the_timeout():
    with lamp_on_pty(NumatoRelayModel(1), "numato", reply_timeout=0.2) as (model, device, lamp):
        device.faults.reply_delay_s = 0.5
        with pytest.raises(DeviceTimeout):
            lamp.on()
        assert not lamp.is_on
        device.faults.clear()
        assert wait_until(lambda: not model.lit)  # the switch-off sent after the failure lands


def test_numato_unplugged_raises_device_unavailable():
    with lamp_on_pty(NumatoRelayModel(1), "numato") as (_, device, lamp):
        lamp.on()
        device.unplug()
        with pytest.raises(DeviceUnavailable):
            lamp.off()


def test_numato_over_tcp():
    model = NumatoRelayModel(1)
    device = TcpDevice(model, "numato")
    try:
        with open_lamp(device.path, "numato") as lamp:
            lamp.on()
            assert model.lit
        assert not model.lit
    finally:
        device.close()


# -- safety: watchdog, context manager, close -----------------------------------------------------
def test_watchdog_step_switches_off_after_the_on_time_limit():
    clock = OffsetClock()
    with lamp_on_pty(NumatoRelayModel(1), "numato", max_on_seconds=5.0, clock=clock, watchdog=False) as (model, _, lamp):
        lamp.on()
        clock.advance(4.9)
        assert lamp.enforce_on_limit() is False and model.lit
        clock.advance(0.2)
        assert lamp.enforce_on_limit() is True
        assert not model.lit and not lamp.is_on
        assert bytes(model.received).endswith(b"relay off 0\rrelay read 0\r")


def test_switching_on_again_does_not_extend_the_on_time():
    clock = OffsetClock()
    with lamp_on_pty(LcusBoardModel(2), "lcus", max_on_seconds=5.0, clock=clock, watchdog=False) as (model, _, lamp):
        lamp.on()
        clock.advance(3.0)
        lamp.on()
        clock.advance(2.1)
        assert lamp.enforce_on_limit() is True and not model.lit


def test_watchdog_thread_switches_the_lamp_off():
    clock = OffsetClock()
    with lamp_on_pty(LcusBoardModel(2), "lcus", max_on_seconds=5.0, clock=clock) as (model, _, lamp):
        lamp.on()
        assert model.lit
        clock.advance(6.0)
        assert wait_until(lambda: not lamp.is_on)
        assert not model.lit
        assert bytes(model.received).endswith(ON_1 + STATUS + OFF_1 + STATUS)


def test_with_block_switches_off_on_error_and_reraises():
    model = NumatoRelayModel(1)
    device = PtyDevice(model, "numato")
    try:
        with pytest.raises(RuntimeError, match="camera"):
            with open_lamp(device.path, "numato") as lamp:
                lamp.on()
                assert model.lit
                raise RuntimeError("camera fell over")
        assert not model.lit
        with pytest.raises(DeviceUnavailable):
            lamp.on()
    finally:
        device.close()


def test_with_block_switches_off_on_normal_exit():
    model = LcusBoardModel(2)
    device = PtyDevice(model, "lcus")
    try:
        with open_lamp(device.path, "lcus") as lamp:
            lamp.on()
        assert not model.lit
        assert bytes(model.received).endswith(OFF_1 + STATUS)
    finally:
        device.close()


def test_close_is_idempotent_and_leaves_a_caller_s_port_open():
    model = LcusBoardModel(2)
    device = PtyDevice(model, "lcus")
    port = serial.Serial(device.path, 9600, timeout=0.05)
    try:
        lamp = open_lamp(port, "lcus")
        lamp.on()
        lamp.close()
        lamp.close()
        assert not model.lit and port.is_open
    finally:
        port.close()
        device.close()


def test_close_after_unplug_logs_without_raising(caplog):
    with caplog.at_level(logging.ERROR), lamp_on_pty(LcusBoardModel(2), "lcus") as (_, device, lamp):
        device.unplug()
        lamp.close()
    assert "device_unavailable" in caplog.text


def test_missing_port_is_device_unavailable():
    with pytest.raises(DeviceUnavailable):
        open_lamp("/dev/does-not-exist-uv", "lcus")


def test_unknown_kind_and_bad_on_time_are_refused():
    port = serial.serial_for_url("loop://", timeout=0.05)
    try:
        with pytest.raises(ValueError):
            open_lamp(port, "x10")
    finally:
        port.close()
    with pytest.raises(ValueError):
        UvLamp(relay=None, max_on_seconds=0, clock=time.monotonic, watchdog=False)  # type: ignore[arg-type]
