"""The fingerprint driver against the simulated module over a real pseudo-terminal, faults included."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import fingerprint_sensor as fs
from hardware import r30x
from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.fingerprint_sensor import FingerprintSensor
from simulators.fingerprint_sensor import FingerprintModule, Variant, fit_to_sensor, serve_on_pty
from simulators.transport import PtyDevice, TcpDevice

FRAME_TIMEOUT = 2.0   # generous: the machine may be loaded, and a frame normally takes milliseconds
SHORT_TIMEOUT = 0.3   # only where a timeout is the behaviour under test


class Rig:
    """A simulated module on a PTY, the host's pyserial port on it, and the driver."""

    def __init__(self, variant: str = "r307", **module_options):
        self.module = FingerprintModule(variant, **module_options)
        self.device = serve_on_pty(self.module)
        self.port = serial.Serial(self.device.path, self.module.baud, timeout=0.05)
        self.sensor = FingerprintSensor(self.port, password=self.module.password, frame_timeout=FRAME_TIMEOUT)

    def close(self) -> None:
        # Read what the module is still sending (an upload the test abandoned): PtyDevice.close()
        # blocks while its writer thread is stuck in a write to a full PTY.
        try:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and self.port.read(65536):
                pass
            self.port.close()
        except (OSError, ValueError):
            pass
        self.device.close()


@pytest.fixture
def rig():
    made = Rig()
    yield made
    made.close()


@pytest.fixture
def r503():
    made = Rig("r503")
    yield made
    made.close()


@pytest.fixture(scope="module")
def fvc_image(tests_data: Path) -> np.ndarray:
    image = cv2.imread(str(tests_data / "sensor" / "fvc2002_db1_101_1.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape == (374, 388)
    return image


def finger(seed: int, shape=(288, 256)) -> np.ndarray:
    """A synthetic ridge pattern (sinusoid with a seed-dependent angle) filling the sensor."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    angle = 0.3 + seed
    ridges = 127 + 100 * np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / 9)
    return ridges.astype(np.uint8)


# -- raw bytes: any R30x client sees the manual's frames ----------------------------------------
def test_module_answers_the_manual_vfypwd_bytes_with_the_manual_ack_bytes(rig):
    rig.port.write(bytes.fromhex("EF01FFFFFFFF0100071300000000001B"))
    assert rig.port.read(12) == bytes.fromhex("EF01FFFFFFFF07000300000A")


def test_module_answers_genimg_without_a_finger_with_the_manual_no_finger_ack(rig):
    rig.port.write(bytes.fromhex("EF01FFFFFFFF010003010005"))
    assert rig.port.read(12) == bytes.fromhex("EF01FFFFFFFF07000302000C")


def test_module_answers_a_command_with_a_bad_checksum_with_receive_error(rig):
    rig.port.write(bytes.fromhex("EF01FFFFFFFF010003010006"))
    assert rig.port.read(12) == r30x.encode_ack(0x01)


def test_module_ignores_frames_for_another_address(rig):
    rig.port.write(r30x.encode_command(r30x.Instruction.GEN_IMG, address=0x12345678))
    assert rig.port.read(12) == b""


# -- commands -----------------------------------------------------------------------------------
def test_verify_password_succeeds_with_the_default_password(rig):
    rig.sensor.verify_password()
    assert rig.module.password_verified


def test_read_system_parameters_reports_the_r307_library_packet_size_and_baud(rig):
    params = rig.sensor.read_system_parameters()
    assert (params.library_size, params.packet_size, params.baud, params.address) == (1000, 128, 57600, 0xFFFFFFFF)


def test_read_system_parameters_reports_the_r503_library(r503):
    assert r503.sensor.read_system_parameters().library_size == 200


def test_capture_image_returns_the_placed_finger_at_r307_size(rig):
    rig.module.place_finger(finger(1))
    image = rig.sensor.capture_image(timeout=1.0)
    assert image.shape == (288, 256) and image.dtype == np.uint8
    assert np.array_equal(image, r30x.quantise(finger(1)))
    assert rig.sensor.dpi == 500


def test_capture_image_learns_the_r503_size_and_dpi_from_the_upload(r503):
    r503.module.place_finger(finger(2, (192, 192)))
    image = r503.sensor.capture_image(timeout=1.0)
    assert image.shape == (192, 192)
    assert np.array_equal(image, r30x.quantise(finger(2, (192, 192))))
    assert r503.sensor.dpi == 508


def test_capture_image_waits_for_a_finger_placed_while_polling(rig):
    timer = threading.Timer(0.2, rig.module.place_finger, args=(finger(3),))
    timer.start()
    try:
        image = rig.sensor.capture_image(timeout=3.0, poll_interval=0.05)
    finally:
        timer.cancel()
    assert np.array_equal(image, r30x.quantise(finger(3)))


def test_capture_image_without_a_finger_raises_no_finger_after_the_timeout(rig):
    with pytest.raises(fs.NoFinger) as raised:
        rig.sensor.capture_image(timeout=0.2, poll_interval=0.05)
    assert raised.value.code == "no_finger"


def test_capture_after_lifting_the_finger_sees_no_finger(rig):
    rig.module.place_finger(finger(1))
    rig.module.lift_finger()
    with pytest.raises(fs.NoFinger):
        rig.sensor.generate_image()


def test_upload_without_a_captured_image_raises_no_valid_image(rig):
    with pytest.raises(fs.NoValidImage) as raised:
        rig.sensor.upload_image()
    assert raised.value.code == "no_valid_image"


@pytest.mark.parametrize("packet_code,packet_size", [(0, 32), (3, 256)])
def test_upload_follows_the_packet_size_set_in_the_system_parameters(rig, packet_code, packet_size):
    rig.sensor.set_system_parameter(r30x.SystemRegister.PACKET_SIZE, packet_code)
    rig.module.place_finger(finger(4))
    image = rig.sensor.capture_image(timeout=1.0)
    assert rig.sensor.system_parameters.packet_size == packet_size
    assert np.array_equal(image, r30x.quantise(finger(4)))


def test_same_image_templates_match_on_the_module(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    rig.sensor.image_to_template(2)
    assert rig.sensor.match() == fs.MatchResult(True, 200)


def test_different_images_do_not_match_on_the_module(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    rig.module.place_finger(finger(2))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(2)
    assert rig.sensor.match() == fs.MatchResult(False, 0)


def test_stored_template_is_found_by_search_and_counted(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    rig.sensor.store(7)
    assert rig.sensor.template_count() == 1
    assert rig.sensor.search(1) == fs.SearchHit(7, 200)


def test_search_without_a_stored_match_returns_none(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    assert rig.sensor.search(1, 0, 100) is None


def test_store_beyond_the_library_raises_page_out_of_range(r503):
    r503.module.place_finger(finger(1, (192, 192)))
    r503.sensor.generate_image()
    r503.sensor.image_to_template(1)
    with pytest.raises(fs.PageOutOfRange):
        r503.sensor.store(200)


def test_delete_and_empty_clear_the_library(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    for page in (1, 2, 3):
        rig.sensor.store(page)
    rig.sensor.delete(2)
    assert rig.sensor.template_count() == 2
    rig.sensor.empty()
    assert rig.sensor.template_count() == 0


def test_register_model_and_load_put_the_template_back_in_a_buffer(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    rig.sensor.image_to_template(2)
    rig.sensor.register_model()
    rig.sensor.store(0)
    rig.sensor.load(0, buffer=2)
    assert rig.sensor.match().matched


def test_upload_template_returns_the_512_byte_placeholder_deterministically(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    first = rig.sensor.upload_template(1)
    assert len(first) == 512 and first.startswith(b"SIMT")
    rig.sensor.image_to_template(2)
    assert rig.sensor.upload_template(2) == first


def test_aura_led_sets_the_r503_ring(r503):
    r503.sensor.led("flashing", "red", speed=50, count=3)
    assert (r503.module.led.control, r503.module.led.colour, r503.module.led.count) == (2, 1, 3)


def test_aura_led_on_an_r307_raises_led_unsupported(rig):
    with pytest.raises(fs.LedUnsupported) as raised:
        rig.sensor.led("on", "blue")
    assert raised.value.code == "led_unsupported"


def test_soft_reset_waits_for_the_ready_byte_and_clears_buffers(r503):
    r503.module.place_finger(finger(1, (192, 192)))
    r503.sensor.generate_image()
    r503.sensor.soft_reset()
    assert r503.module.image_buffer is None
    with pytest.raises(fs.NoValidImage):
        r503.sensor.upload_image()


# -- passwords ----------------------------------------------------------------------------------
def test_wrong_password_raises_wrong_password():
    made = Rig(password=0x12345678)
    try:
        sensor = FingerprintSensor(made.port, password=0, frame_timeout=FRAME_TIMEOUT)
        with pytest.raises(fs.WrongPassword) as raised:
            sensor.verify_password()
        assert raised.value.code == "wrong_password"
        with pytest.raises(fs.PasswordNotVerified):
            sensor.generate_image()
    finally:
        made.close()


def test_right_non_default_password_unlocks_the_module():
    made = Rig(password=0x12345678)
    try:
        made.sensor.verify_password()
        assert made.sensor.template_count() == 0
    finally:
        made.close()


def test_injected_wrong_password_fault_refuses_verification(rig):
    rig.module.inject("wrong_password")
    with pytest.raises(fs.WrongPassword):
        rig.sensor.verify_password()


def test_password_error_messages_do_not_contain_the_password():
    made = Rig(password=0x12345678)
    try:
        with pytest.raises(fs.SensorError) as raised:
            FingerprintSensor(made.port, password=0x0BADF00D, frame_timeout=FRAME_TIMEOUT).verify_password()
        assert "0BADF00D" not in str(raised.value).upper() and "12345678" not in str(raised.value)
    finally:
        made.close()


# -- sensor faults ------------------------------------------------------------------------------
GENIMG_ERRORS = [("capture_failed", fs.CaptureFailed), ("too_dry", fs.TooDry), ("too_wet", fs.TooWet)]
IMG2TZ_ERRORS = [("image_messy", fs.ImageMessy), ("too_few_features", fs.TooFewFeatures),
                 ("too_dry", fs.TooDry), ("too_wet", fs.TooWet)]


@pytest.mark.parametrize("code,error", GENIMG_ERRORS, ids=[c for c, _ in GENIMG_ERRORS])
def test_sensor_errors_on_capture_raise_their_typed_error(rig, code, error):
    rig.module.place_finger(finger(1))
    rig.module.inject("sensor_error", code=code, stage="genimg")
    with pytest.raises(error) as raised:
        rig.sensor.capture_image(timeout=1.0)
    assert raised.value.code == code


@pytest.mark.parametrize("code,error", IMG2TZ_ERRORS, ids=[c for c, _ in IMG2TZ_ERRORS])
def test_sensor_errors_on_feature_extraction_raise_their_typed_error(rig, code, error):
    rig.module.place_finger(finger(1))
    rig.module.inject("sensor_error", code=code, stage="img2tz")
    rig.sensor.generate_image()
    with pytest.raises(error) as raised:
        rig.sensor.image_to_template(1)
    assert raised.value.code == code


def test_no_finger_fault_hides_a_placed_finger(rig):
    rig.module.place_finger(finger(1))
    rig.module.inject("no_finger")
    with pytest.raises(fs.NoFinger):
        rig.sensor.capture_image(timeout=0.1, poll_interval=0.05)


def test_every_manual_confirmation_code_maps_to_a_sensor_error_with_its_stable_code():
    for value, entry in r30x.CONFIRMATIONS.items():
        if value == r30x.OK:
            continue
        error = fs.error_for(value)
        assert isinstance(error, fs.SensorError) and error.code == entry.name and error.confirmation == value
    assert fs.error_for(0x99).code == "unknown_confirmation"


# -- transport faults ---------------------------------------------------------------------------
def test_garbage_before_every_reply_is_skipped(rig):
    rig.device.faults.garbage_prefix = b"\x00\xef\x13\xff\xef"
    rig.module.place_finger(finger(5))
    assert np.array_equal(rig.sensor.capture_image(timeout=1.0), r30x.quantise(finger(5)))


def test_a_reply_behind_a_phantom_header_in_the_noise_is_found_at_the_frame_deadline(rig):
    # noise that reads as the start of a 62-byte frame would swallow the real 12-byte reply
    rig.sensor.frame_timeout = SHORT_TIMEOUT
    rig.device.faults.garbage_prefix = bytes.fromhex("EF01FFFFFFFF070040")
    rig.sensor.verify_password()
    assert rig.module.password_verified


def test_corrupted_checksums_raise_a_protocol_error(rig):
    rig.device.faults.corrupt_replies = True
    with pytest.raises(r30x.ChecksumMismatch):
        rig.sensor.read_system_parameters()


class CorruptFirstReply:
    """Wraps a module so its first reply has its last byte flipped (one burst of line noise)."""

    def __init__(self, module: FingerprintModule):
        self.module, self.corrupted = module, False

    def receive(self, data: bytes) -> bytes:
        reply = self.module.receive(data)
        if reply and not self.corrupted:
            self.corrupted = True
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        return reply


def test_a_single_corrupted_reply_is_recovered_by_resending_the_command():
    module = FingerprintModule("r307")
    device = PtyDevice(CorruptFirstReply(module), "fingerprint")
    try:
        with serial.Serial(device.path, 57600, timeout=0.05) as port:
            sensor = FingerprintSensor(port, frame_timeout=FRAME_TIMEOUT, retries=1)
            assert sensor.read_system_parameters().library_size == 1000
    finally:
        device.close()


def test_dropped_bytes_fail_the_command_and_the_driver_recovers_when_the_line_is_clean(rig):
    rig.sensor.frame_timeout = SHORT_TIMEOUT
    rig.device.faults.drop_every = 5
    with pytest.raises((ProtocolError, DeviceTimeout)):
        rig.sensor.read_system_parameters()
    rig.device.faults.clear()
    rig.sensor.frame_timeout = FRAME_TIMEOUT
    assert rig.sensor.read_system_parameters().library_size == 1000


def test_dropped_bytes_during_an_image_upload_never_return_a_short_image(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.read_system_parameters()
    rig.sensor.generate_image()
    rig.sensor.frame_timeout = SHORT_TIMEOUT
    rig.device.faults.drop_every = 1000
    with pytest.raises((ProtocolError, DeviceTimeout)):
        rig.sensor.upload_image()


def test_slow_replies_beyond_the_frame_timeout_raise_device_timeout(rig):
    rig.sensor.frame_timeout = SHORT_TIMEOUT
    rig.device.faults.reply_delay_s = SHORT_TIMEOUT + 0.3
    with pytest.raises(DeviceTimeout):
        rig.sensor.verify_password()
    rig.device.faults.clear()
    time.sleep(0.6)            # let the late reply arrive; the next command discards it
    rig.sensor.frame_timeout = FRAME_TIMEOUT
    assert rig.sensor.template_count() == 0


def test_slow_replies_within_the_frame_timeout_are_fine(rig):
    rig.device.faults.reply_delay_s = 0.2
    rig.sensor.verify_password()


def test_an_upload_that_stalls_raises_device_timeout(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.frame_timeout = SHORT_TIMEOUT
    rig.module.inject("upload_stall", after_packets=100)
    with pytest.raises(DeviceTimeout):
        rig.sensor.upload_image()


def test_unplugging_mid_upload_raises_device_unavailable(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.module.inject("upload_stall", after_packets=100)
    rig.sensor.frame_timeout = 5.0
    timer = threading.Timer(0.3, rig.device.unplug)
    timer.start()
    try:
        with pytest.raises(DeviceUnavailable):
            rig.sensor.upload_image()
    finally:
        timer.cancel()


def test_commands_to_an_unplugged_module_raise_device_unavailable(rig):
    rig.device.unplug()
    with pytest.raises(DeviceUnavailable):
        rig.sensor.verify_password()


# -- baud rate ----------------------------------------------------------------------------------
def test_probe_baud_finds_a_module_at_115200_from_a_port_opened_at_9600():
    made = Rig(baud=115200)
    try:
        made.port.baudrate = 9600
        assert fs.probe_baud(made.port, frame_timeout=0.6) == 115200
        assert made.port.baudrate == 115200
    finally:
        made.close()


def test_the_module_ignores_a_host_at_the_wrong_baud_rate():
    made = Rig(baud=57600)
    try:
        made.port.baudrate = 9600
        made.sensor.frame_timeout = SHORT_TIMEOUT
        with pytest.raises(DeviceTimeout):
            made.sensor.verify_password()
    finally:
        made.close()


def test_probe_baud_raises_device_unavailable_when_no_rate_answers():
    made = Rig(baud=19200)
    try:
        with pytest.raises(DeviceUnavailable):
            fs.probe_baud(made.port, rates=(57600, 9600), frame_timeout=SHORT_TIMEOUT)
    finally:
        made.close()


def test_probe_counts_a_wrong_password_reply_as_alive():
    made = Rig(password=0x1, baud=9600)
    try:
        assert fs.probe_baud(made.port, rates=(57600, 9600), frame_timeout=0.6) == 9600
    finally:
        made.close()


def test_baud_change_moves_module_and_host_port_to_the_new_rate(rig):
    rig.sensor.set_system_parameter(r30x.SystemRegister.BAUD, 12)
    assert (rig.module.baud, rig.port.baudrate) == (115200, 115200)
    assert rig.sensor.read_system_parameters().baud == 115200


def test_open_sensor_on_a_pty_path_probes_and_verifies():
    made = Rig(baud=38400)
    try:
        sensor = fs.open_sensor(made.device.path, frame_timeout=FRAME_TIMEOUT)
        try:
            assert sensor.system_parameters.baud == 38400 and sensor.port.baudrate == 38400
        finally:
            sensor.port.close()
    finally:
        made.close()


def test_open_sensor_on_a_missing_path_raises_device_unavailable():
    with pytest.raises(DeviceUnavailable):
        fs.open_sensor("/dev/does-not-exist-fingerprint", baud=57600)


def test_open_sensor_works_over_tcp_socket_urls():
    module = FingerprintModule("r503")
    device = TcpDevice(module, "fingerprint")
    try:
        module.place_finger(finger(1, (192, 192)))
        sensor = fs.open_sensor(device.path, baud=57600, frame_timeout=FRAME_TIMEOUT)
        try:
            assert sensor.capture_image(timeout=1.0).shape == (192, 192)
        finally:
            sensor.port.close()
    finally:
        device.close()


# -- real fingerprint images --------------------------------------------------------------------
def test_an_fvc_image_uploads_as_its_4_bit_quantised_crop(rig, fvc_image):
    placement = rig.module.place_finger(fvc_image, source_dpi=500)
    image = rig.sensor.capture_image(timeout=1.0)
    assert placement.scale == 1.0
    window = fvc_image[placement.top:placement.top + 288, placement.left:placement.left + 256]
    assert np.array_equal(image, r30x.quantise(window))


def test_an_fvc_image_uploads_from_an_r503_as_its_quantised_crop(r503, fvc_image):
    placement = r503.module.place_finger(fvc_image, source_dpi=500)
    image = r503.sensor.capture_image(timeout=1.0)
    window = fvc_image[placement.top:placement.top + 192, placement.left:placement.left + 192]
    assert placement.scale == 1.0 and np.array_equal(image, r30x.quantise(window))


def test_a_sensor_sized_fvc_image_uploads_equal_to_its_quantised_original(rig, fvc_image):
    original = fvc_image[40:328, 60:316]
    rig.module.place_finger(original)
    assert np.array_equal(rig.sensor.capture_image(timeout=1.0), r30x.quantise(original))


def test_fitting_crops_around_the_finger_not_the_image_centre():
    image = np.full((400, 400), 255, dtype=np.uint8)
    image[250:390, 240:390] = finger(1, (140, 150))     # finger in the lower right corner
    _, placement = fit_to_sensor(image, r30x.R30X_GEOMETRY)
    assert placement.scale == 1.0
    assert (placement.top, placement.left) == (112, 144)  # clamped to the corner; centred would be (56, 72)


def test_fitting_pads_a_small_image_with_white_around_it():
    fitted, placement = fit_to_sensor(finger(1, (100, 120)), r30x.R30X_GEOMETRY)
    assert (placement.top, placement.left) == (-94, -68)
    assert (fitted[:94] == 255).all() and (fitted[:, :68] == 255).all()
    assert np.array_equal(fitted[94:194, 68:188], finger(1, (100, 120)))


def test_fitting_scales_only_for_a_different_resolution_or_a_far_larger_image():
    assert fit_to_sensor(finger(1, (374, 388)), r30x.R30X_GEOMETRY)[1].scale == 1.0
    assert fit_to_sensor(finger(1, (374, 388)), r30x.R30X_GEOMETRY, source_dpi=1000)[1].scale == 0.5
    photo = fit_to_sensor(finger(1, (1200, 1000)), r30x.R30X_GEOMETRY)[1]
    assert photo.scale == pytest.approx(288 / 1200, abs=1e-3) or photo.scale == pytest.approx(256 / 1000, abs=1e-3)


def test_fvc_db2_images_at_569_dpi_are_scaled_to_the_sensor_resolution(rig, datasets):
    image = cv2.imread(str(datasets / "fingerprints/fvc2002/DB2_B/101_1.tif"), cv2.IMREAD_GRAYSCALE)
    placement = rig.module.place_finger(image, source_dpi=569)
    uploaded = rig.sensor.capture_image(timeout=1.0)
    assert placement.scale == pytest.approx(500 / 569)
    assert uploaded.shape == (288, 256) and np.array_equal(uploaded, rig.module.finger)


def test_every_fvc_db3_image_uploads_as_its_quantised_crop_on_an_r503(r503, datasets):
    for path in sorted((datasets / "fingerprints/fvc2002/DB3_B").glob("10[1-3]_1.tif")):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        placement = r503.module.place_finger(image, source_dpi=500)
        window = image[placement.top:placement.top + 192, placement.left:placement.left + 192]
        assert np.array_equal(r503.sensor.capture_image(timeout=1.0), r30x.quantise(window)), path.name


def test_errors_are_device_errors(rig):
    assert issubclass(fs.SensorError, DeviceError) and issubclass(fs.TooWet, fs.SensorError)


ODD_SENSOR = r30x.SensorGeometry("odd", 100, 90, 500)   # 4,500 bytes: the last packet holds 20


def odd_module_rig() -> Rig:
    made = Rig(Variant("odd", ODD_SENSOR, library_size=100, system_id=0, has_aura_led=False))
    made.module.place_finger(finger(6, (90, 100)))
    return made


def test_a_short_last_data_packet_is_kept_when_the_caller_names_the_geometry():
    made = odd_module_rig()
    try:
        sensor = FingerprintSensor(made.port, frame_timeout=FRAME_TIMEOUT, geometry=ODD_SENSOR)
        assert np.array_equal(sensor.capture_image(timeout=1.0), r30x.quantise(finger(6, (90, 100))))
    finally:
        made.close()


def test_an_image_size_the_driver_does_not_know_is_refused_not_guessed():
    made = odd_module_rig()
    try:
        with pytest.raises(ProtocolError, match="4500 bytes"):
            made.sensor.capture_image(timeout=1.0)
    finally:
        made.close()


# -- the simulated module as a parser of host bytes ---------------------------------------------


def replies(data: bytes) -> list[r30x.Frame]:
    # any address: SetAdder (0x15) is acknowledged from the module's new address, as the manuals say
    parser = r30x.FrameParser(address=None)
    parser.feed(data)
    frames = []
    while (frame := parser.next_frame()) is not None:
        frames.append(frame)
    return frames


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_the_module_answers_random_host_bytes_only_with_valid_frames(data):
    module = FingerprintModule("r503")
    reply = module.receive(data)
    frames = replies(reply.rstrip(b"\x55"))   # SoftReset's ready byte is not a frame
    assert all(f.pid in (r30x.PacketId.ACK, r30x.PacketId.DATA, r30x.PacketId.END_DATA) for f in frames)


@given(st.integers(0, 255), st.binary(max_size=8), st.sampled_from(["r307", "r503"]))
@settings(max_examples=300, deadline=None)
def test_every_instruction_with_any_parameters_gets_one_acknowledgement(instruction, params, variant):
    module = FingerprintModule(variant)
    module.place_finger(finger(1, (module.geometry.height, module.geometry.width)))
    frames = replies(module.receive(r30x.encode_command(instruction, params)))
    assert frames[0].pid == r30x.PacketId.ACK and len(frames[0].payload) >= 1


def test_set_address_is_acknowledged_from_the_new_address():
    module = FingerprintModule("r307")
    reply = module.receive(r30x.encode_command(r30x.Instruction.SET_ADDR, bytes(4)))
    parser = r30x.FrameParser(address=0x00000000)
    parser.feed(reply)
    frame = parser.next_frame()
    assert frame.pid == r30x.PacketId.ACK and frame.payload[0] == 0x00


# -- module address -----------------------------------------------------------------------------
def test_a_module_at_a_non_default_address_answers_a_driver_using_that_address():
    made = Rig(address=0x12345678)
    try:
        sensor = FingerprintSensor(made.port, address=0x12345678, frame_timeout=FRAME_TIMEOUT)
        assert sensor.read_system_parameters().address == 0x12345678
    finally:
        made.close()


def test_a_module_at_another_address_stays_silent_and_the_driver_times_out():
    made = Rig(address=0x12345678)
    try:
        made.sensor.frame_timeout = SHORT_TIMEOUT
        with pytest.raises(DeviceTimeout):
            made.sensor.verify_password()
    finally:
        made.close()


# -- host -> module data ------------------------------------------------------------------------
def test_a_downloaded_template_matches_the_one_it_was_uploaded_from(rig):
    rig.module.place_finger(finger(1))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(1)
    template = rig.sensor.upload_template(1)
    rig.module.place_finger(finger(2))
    rig.sensor.generate_image()
    rig.sensor.image_to_template(2)
    assert not rig.sensor.match().matched
    rig.sensor.download_template(template, buffer=2)
    assert rig.sensor.match() == fs.MatchResult(True, 200)


def test_a_downloaded_image_uploads_back_quantised(rig, fvc_image):
    original = fvc_image[40:328, 60:316]
    rig.sensor.download_image(original)
    assert np.array_equal(rig.sensor.upload_image(), r30x.quantise(original))


def test_a_short_download_is_dropped_by_the_module(rig):
    rig.sensor.download_template(b"\x01" * 100, buffer=1)
    assert rig.module.char_buffers[1] is None
    with pytest.raises(fs.BadTemplate):
        rig.sensor.match()
