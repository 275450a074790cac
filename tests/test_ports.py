"""One mapping from port failures to device errors (hardware.ports), and the drivers that use it."""
from __future__ import annotations

import errno
import termios

import pytest
import serial

from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from hardware.fingerprint_sensor import FingerprintSensor
from hardware.idcard import IdCardReader
from hardware.lamp import open_lamp
from hardware.ports import PORT_FAILURES, device_error, open_port, port_errors


@pytest.mark.parametrize("failure, expected", [
    (serial.SerialTimeoutException("Write timeout"), DeviceTimeout),
    (TimeoutError("timed out"), DeviceTimeout),
    (serial.SerialException("device reports readiness to read but returned no data"), DeviceUnavailable),
    (serial.PortNotOpenError(), DeviceUnavailable),
    (OSError(errno.EIO, "Input/output error"), DeviceUnavailable),
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), DeviceUnavailable),
    (ValueError("I/O operation on closed file"), DeviceUnavailable),
    (TypeError("'NoneType' object cannot be interpreted as an integer"), DeviceUnavailable),
    (termios.error(5, "Input/output error"), DeviceUnavailable),
])
def test_each_port_failure_maps_to_one_device_error(failure, expected):
    error = device_error(failure, "card reader", "read")
    assert type(error) is expected
    assert str(error) == f"card reader port failed on read: {type(failure).__name__}"


def test_other_exceptions_are_not_port_failures():
    assert device_error(KeyError("x"), "lamp relay", "write") is None
    assert device_error(RuntimeError("x"), "lamp relay", "write") is None


def test_a_timeout_is_matched_before_the_oserror_it_also_is():
    classes = [failure for failure, _ in PORT_FAILURES]
    assert classes.index(TimeoutError) < classes.index(OSError)
    assert classes.index(serial.SerialTimeoutException) < classes.index(OSError)


def test_port_errors_chains_the_port_failure():
    with pytest.raises(DeviceUnavailable, match="fingerprint sensor port failed on write: PortNotOpenError") as caught:
        with port_errors("fingerprint sensor", "write"):
            raise serial.PortNotOpenError()
    assert isinstance(caught.value.__cause__, serial.PortNotOpenError)


def test_port_errors_lets_device_errors_and_other_exceptions_through():
    with pytest.raises(DeviceTimeout, match="no reply"):
        with port_errors("lamp relay", "read"):
            raise DeviceTimeout("no reply")
    with pytest.raises(KeyError):
        with port_errors("lamp relay", "read"):
            raise KeyError("not a port failure")


def test_opening_a_missing_device_path_is_device_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable, match="card reader port failed on open") as caught:
        open_port(str(tmp_path / "ttyUSB9"), "card reader", baudrate=9600)
    assert isinstance(caught.value.__cause__, serial.SerialException)


# --- the drivers, on pyserial's own loop:// port ---------------------------------------------------

def test_card_reader_on_a_closed_port_is_device_unavailable():
    port = serial.serial_for_url("loop://", timeout=0.01)
    port.close()
    with pytest.raises(DeviceUnavailable, match="card reader port failed on read"):
        IdCardReader(port).read_document(timeout=0)


def stuck_port() -> serial.SerialBase:
    """A loop:// port whose writes cannot finish in their write timeout (at 300 baud)."""
    return serial.serial_for_url("loop://", baudrate=300, timeout=0.01, write_timeout=0.01)


def test_fingerprint_sensor_write_that_cannot_finish_is_device_timeout():
    with pytest.raises(DeviceTimeout, match="fingerprint sensor port failed on write: SerialTimeoutException"):
        FingerprintSensor(stuck_port()).verify_password()


def test_lamp_write_that_cannot_finish_is_device_timeout():
    with pytest.raises(DeviceTimeout, match="lamp relay port failed on write: SerialTimeoutException"):
        open_lamp(stuck_port(), "numato")


@pytest.mark.parametrize("kind", ["lcus", "numato"])
def test_lamp_on_a_closed_port_is_device_unavailable(kind):
    port = serial.serial_for_url("loop://", timeout=0.01)
    port.close()
    with pytest.raises(DeviceUnavailable, match="lamp relay port failed on"):
        open_lamp(port, kind)


def test_every_device_error_of_the_mapping_is_a_device_error():
    assert all(issubclass(error, DeviceError) for _, error in PORT_FAILURES)
