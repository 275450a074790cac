"""The PTY transport carries a device model's bytes to a real pyserial port, with faults."""
from __future__ import annotations

import serial

from simulators.transport import PtyDevice, TcpDevice


class Echo:
    """A toy device model: answers every chunk with ``OK:<chunk>``."""

    def receive(self, data: bytes) -> bytes:
        return b"OK:" + data


def test_host_talks_to_model_over_a_real_pty():
    dev = PtyDevice(Echo(), "echo")
    try:
        with serial.Serial(dev.path, 9600, timeout=1) as port:
            port.write(b"ping")
            assert port.read(7) == b"OK:ping"
    finally:
        dev.close()


def test_corrupt_and_garbage_faults_change_the_reply_bytes():
    dev = PtyDevice(Echo(), "echo")
    dev.faults.garbage_prefix = b"\x00\xff"
    dev.faults.corrupt_replies = True
    try:
        with serial.Serial(dev.path, 9600, timeout=1) as port:
            port.write(b"A")
            assert port.read(6) == b"\x00\xffOK:" + bytes([ord("A") ^ 0xFF])
    finally:
        dev.close()


def test_model_can_speak_unprompted():
    model = Echo()
    dev = PtyDevice(model, "echo")
    try:
        with serial.Serial(dev.path, 9600, timeout=1) as port:
            model.emit(b"CARD")
            assert port.read(4) == b"CARD"
    finally:
        dev.close()


def test_tcp_transport_serves_pyserial_socket_urls():
    dev = TcpDevice(Echo(), "echo")
    try:
        port = serial.serial_for_url(dev.path, timeout=1)
        port.write(b"x")
        assert port.read(4) == b"OK:x"
        port.close()
    finally:
        dev.close()


def test_close_returns_even_when_the_host_stopped_reading_mid_reply():
    import threading

    class Flood:
        def receive(self, data: bytes) -> bytes:
            return b"\x55" * (1 << 20)   # far more than a PTY buffer holds

    dev = PtyDevice(Flood(), "flood")
    port = serial.Serial(dev.path, 9600, timeout=1)
    port.write(b"go")
    port.read(10)                      # read a little, then stop reading
    closer = threading.Thread(target=dev.close)
    closer.start()
    closer.join(timeout=5)
    port.close()
    assert not closer.is_alive()
