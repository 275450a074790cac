"""The simulator suite serves every device on real PTYs; the real drivers talk to it byte for byte.

Every device's simulator is part of the checkout: a module that fails to import fails these tests
(there is no "not available" state to hide it).
"""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
import serial

from hardware.camera import BlankFrame, Camera, CameraUnavailable, FrozenFrame
from hardware.errors import DeviceError
from simulator_fixtures import KHM_CARD
from simulators.suite import (BadImage, DeviceNotAvailable, NoDemoVoters, SimulatorSuite, UnknownDevice, UnknownFault,
                              UnknownVoter)

# the worked frames in ../shared/reference/hardware.md, byte for byte
VFY_PWD = bytes.fromhex("EF01 FFFFFFFF 01 0007 13 00000000 001B")
ACK_OK = bytes.fromhex("EF01 FFFFFFFF 07 0003 00 000A")


@pytest.fixture
def suite(voters_file):
    sim = SimulatorSuite(voters_file).start()
    yield sim
    sim.stop()


def finger_image(tests_data) -> np.ndarray:
    return cv2.imread(str(tests_data / "simulators" / "fvc2002_db1_101_2.png"), cv2.IMREAD_GRAYSCALE)


def read_exactly(port: serial.Serial, n: int, timeout_s: float = 3.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += port.read(n - len(out))
    return out


# -- describe ---------------------------------------------------------------------------------------

def test_describe_lists_every_device_with_a_pty_path(suite):
    described = suite.describe()
    assert list(described["devices"]) == ["card_reader", "fingerprint", "lamp", "camera"]
    for name in ("card_reader", "fingerprint", "lamp"):
        entry = described["devices"][name]
        assert entry["status"] == "ok" and entry["path"].startswith("/dev/pts/")
    assert described["devices"]["camera"]["url"].startswith("http://127.0.0.1:")
    assert described["control"].startswith("http://127.0.0.1:")
    json.dumps(described)  # the CLI prints it as JSON


def test_describe_is_json_and_carries_contract_keys(suite):
    devices = suite.describe()["devices"]
    assert "baud" in devices["fingerprint"] and devices["fingerprint"]["baud"] == 57600
    assert devices["card_reader"]["framing"] == "desko"
    assert devices["lamp"]["kind"] == "lcus" and devices["lamp"]["channel"] == 1


def test_tcp_transport_gives_socket_urls():
    with SimulatorSuite(transport="tcp", control_port=None) as sim:
        entry = sim.describe()["devices"]["fingerprint"]
        assert entry["path"].startswith("socket://127.0.0.1:")
        port = serial.serial_for_url(entry["path"], timeout=0.5)
        try:
            port.write(VFY_PWD)
            assert read_exactly(port, 12) == ACK_OK
        finally:
            port.close()


# -- ID card reader ---------------------------------------------------------------------------------

def test_presented_voter_card_is_read_by_the_real_idcard_driver(suite):
    from hardware.idcard import IdCardReader

    with serial.Serial(suite.describe()["devices"]["card_reader"]["path"], 9600, timeout=0.05) as port:
        reader = IdCardReader(port)
        suite.present_voter_card("V0001")
        document = reader.read_document(timeout=3)
    assert document is not None
    assert document.issuing_state == "KHM" and document.document_number == "123456789"
    assert suite.state()["card"] == {"voter_id": "V0001", "lines": 3}


def test_card_reader_garbage_fault_is_survived_by_the_driver(suite):
    from hardware.idcard import IdCardReader

    suite.inject("card_reader", "garbage", data="00ff7e")
    with serial.Serial(suite.describe()["devices"]["card_reader"]["path"], 9600, timeout=0.05) as port:
        reader = IdCardReader(port)
        suite.present_card(KHM_CARD)
        document = reader.read_document(timeout=3)
    assert document is not None and document.surname == "SAMPLE"


def test_card_reader_truncated_frame_times_out_in_the_driver(suite):
    from hardware.errors import DeviceTimeout
    from hardware.idcard import IdCardReader

    suite.inject("card_reader", "truncated")
    with serial.Serial(suite.describe()["devices"]["card_reader"]["path"], 9600, timeout=0.05) as port:
        reader = IdCardReader(port, frame_timeout=0.3)
        suite.present_card(KHM_CARD)
        with pytest.raises(DeviceTimeout):
            reader.read_document(timeout=2)


# -- fingerprint sensor -----------------------------------------------------------------------------

def test_fingerprint_port_answers_the_exact_vfypwd_frame_from_the_manual(suite):
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.2) as port:
        port.write(VFY_PWD)
        assert read_exactly(port, 12) == ACK_OK


def test_placed_voter_finger_is_captured_by_the_real_driver(suite, tests_data):
    from hardware.fingerprint_sensor import FingerprintSensor

    suite.place_voter_finger("V0001", "right_index")
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.05) as port:
        sensor = FingerprintSensor(port)
        sensor.verify_password()
        image = sensor.capture_image(timeout=5)
    assert image.dtype == np.uint8 and image.shape == (288, 256)
    assert image.std() > 20  # ridges, not a blank
    assert suite.state()["finger"]["voter_id"] == "V0001"


def test_wrong_password_fault_gives_the_driver_a_typed_error(suite):
    from hardware.fingerprint_sensor import FingerprintSensor

    suite.inject("fingerprint", "wrong_password")
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.05) as port:
        with pytest.raises(DeviceError) as info:
            FingerprintSensor(port).verify_password()
    assert "password" in info.value.code


def test_messy_image_fault_maps_to_the_sensor_error_code(suite, tests_data):
    from hardware.fingerprint_sensor import FingerprintSensor

    suite.place_finger(finger_image(tests_data))
    suite.inject("fingerprint", "messy_image")
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.05) as port:
        sensor = FingerprintSensor(port)
        sensor.verify_password()
        sensor.generate_image()
        with pytest.raises(DeviceError) as info:
            sensor.image_to_template(1)
    assert "messy" in info.value.code
    assert suite.state()["faults"]["fingerprint"] == ["messy_image"]


def test_corrupt_fault_breaks_the_checksum_and_clearing_restores_it(suite):
    path = suite.describe()["devices"]["fingerprint"]["path"]
    suite.inject("fingerprint", "corrupt")
    with serial.Serial(path, 57600, timeout=0.2) as port:
        port.write(VFY_PWD)
        reply = read_exactly(port, 12)
        assert reply[:-1] == ACK_OK[:-1] and reply != ACK_OK
        suite.clear_faults("fingerprint")
        port.write(VFY_PWD)
        assert read_exactly(port, 12) == ACK_OK


def test_unplugged_fingerprint_port_vanishes_and_comes_back_on_a_new_path(suite):
    old_path = suite.describe()["devices"]["fingerprint"]["path"]
    port = serial.Serial(old_path, 57600, timeout=0.2)
    suite.inject("fingerprint", "unplugged")
    assert suite.describe()["devices"]["fingerprint"]["status"] == "unplugged"
    with pytest.raises(serial.SerialException):
        port.write(VFY_PWD)
        port.read(12)
    port.close()
    suite.clear_faults("fingerprint")
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.2) as fresh:
        fresh.write(VFY_PWD)
        assert read_exactly(fresh, 12) == ACK_OK


def test_slow_fault_delays_replies(suite):
    suite.inject("fingerprint", "slow", delay_s=0.6)
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.2) as port:
        port.write(VFY_PWD)
        assert port.read(12) == b""          # nothing within the first 0.2 s
        assert read_exactly(port, 12) == ACK_OK


def test_dropped_fault_loses_bytes(suite):
    suite.inject("fingerprint", "dropped", every=3)
    with serial.Serial(suite.describe()["devices"]["fingerprint"]["path"], 57600, timeout=0.3) as port:
        port.write(VFY_PWD)
        assert read_exactly(port, 12, timeout_s=0.6) == bytes(b for i, b in enumerate(ACK_OK, 1) if i % 3)


# -- camera -----------------------------------------------------------------------------------------

def test_camera_shows_the_voter_probe_face(suite, tests_data):
    suite.show_voter_face("V0001")
    expected = cv2.cvtColor(cv2.imread(str(tests_data / "simulators" / "obama-240p.jpg")), cv2.COLOR_BGR2RGB)
    with Camera(suite.describe()["devices"]["camera"]["url"]) as cam:
        frame = cam.read_frame()
    assert frame.shape == expected.shape
    assert np.abs(frame.astype(int) - expected.astype(int)).mean() < 4


def test_camera_faults_through_the_suite_give_typed_errors(suite, tests_data):
    suite.show_voter_face("V0001")
    url = suite.describe()["devices"]["camera"]["url"]
    with Camera(url) as cam:
        suite.inject("camera", "black")
        with pytest.raises(BlankFrame):
            cam.read_frame()
        suite.clear_faults("camera")
        cam.read_frame()
        suite.inject("camera", "frozen")
        with pytest.raises(FrozenFrame):
            cam.read_frame()
        suite.inject("camera", "unplugged")
        with pytest.raises(CameraUnavailable):
            cam.read_frame()
        suite.clear_faults("camera")
        assert cam.read_frame().ndim == 3


def test_camera_scene_defaults_to_face_then_finger(suite, tests_data):
    suite.place_finger(finger_image(tests_data))
    assert suite.state()["camera"]["showing"] == "finger"
    suite.show_voter_face("V0001")
    assert suite.state()["camera"]["showing"] == "face"
    suite.set_camera_scene("finger")
    assert suite.state()["camera"]["showing"] == "finger"


def blue_glow(frame: np.ndarray) -> float:
    """Fraction of pixels in the blue ink's emission band (hardware.md section 4)."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    band = (hsv[..., 0] >= 95) & (hsv[..., 0] <= 130) & (hsv[..., 1] >= 60) & (hsv[..., 2] >= 80)
    return float(band.mean())


def test_finger_glows_only_when_the_lamp_driver_lit_it_and_the_finger_is_inked(suite, tests_data):
    from hardware.lamp import open_lamp

    suite.place_finger(finger_image(tests_data))
    suite.set_camera_scene("finger")
    url = suite.describe()["devices"]["camera"]["url"]

    glow = {}
    with serial.Serial(suite.describe()["devices"]["lamp"]["path"], 9600, timeout=0.1) as port, \
            Camera(url) as cam:
        lamp = open_lamp(port, kind="lcus")
        for inked in (False, True):
            suite.set_ink(inked)
            for lit in (False, True):
                lamp.on() if lit else lamp.off()
                glow[(inked, lit)] = blue_glow(cam.read_frame())
        lamp.off()
        lamp.close()
    assert glow[(True, True)] > 5 * max(glow[(True, False)], glow[(False, True)], glow[(False, False)], 1e-4)


def test_lamp_that_fails_to_light_is_caught_by_the_driver_and_the_ink_does_not_glow(suite, tests_data):
    from hardware.lamp import LampError, open_lamp

    suite.place_finger(finger_image(tests_data))
    suite.set_ink(True)
    suite.inject("lamp", "fails_to_light")
    assert suite.state()["faults"]["lamp"] == ["fails_to_light"]
    with serial.Serial(suite.describe()["devices"]["lamp"]["path"], 9600, timeout=0.1) as port, \
            Camera(suite.describe()["devices"]["camera"]["url"]) as cam:
        lamp = open_lamp(port, kind="lcus")
        with pytest.raises(LampError):
            lamp.on()
        assert suite.state()["lamp"]["lit"] is False
        assert blue_glow(cam.read_frame()) < 0.002
        lamp.close()


# -- demo voters and errors -------------------------------------------------------------------------

def test_unknown_device_fault_and_voter_are_typed_errors(suite):
    with pytest.raises(UnknownDevice):
        suite.inject("printer", "unplugged")
    with pytest.raises(UnknownFault):
        suite.inject("fingerprint", "on_fire")
    with pytest.raises(UnknownFault):
        suite.inject("camera", "upside_down")
    with pytest.raises(UnknownVoter):
        suite.place_voter_finger("V9999", "right_index")


def test_voter_actions_without_demo_voters_say_so():
    with SimulatorSuite(control_port=None) as sim:
        with pytest.raises(NoDemoVoters):
            sim.show_voter_face("V0001")


def test_place_finger_rejects_colour_images(suite):
    with pytest.raises(BadImage):
        suite.place_finger(np.zeros((10, 10, 3), np.uint8))


def test_an_unplugged_serial_device_takes_no_other_fault_until_cleared(suite):
    suite.inject("lamp", "unplugged")
    assert suite.describe()["devices"]["lamp"] == {"path": "", "kind": "lcus", "channel": 1, "status": "unplugged"}
    with pytest.raises(DeviceNotAvailable):
        suite.inject("lamp", "slow")
    suite.clear_faults("lamp")
    assert suite.describe()["devices"]["lamp"]["status"] == "ok"


def test_every_device_is_driven_through_its_binding_found_by_name():
    from simulators.bindings import BINDINGS, SERIAL_DEVICES

    assert list(BINDINGS) == ["card_reader", "fingerprint", "lamp", "camera"]
    assert SERIAL_DEVICES == ("card_reader", "fingerprint", "lamp")
    assert all(BINDINGS[name].name == name for name in BINDINGS)


def test_state_never_contains_the_raw_mrz(suite):
    suite.present_card(KHM_CARD)
    text = json.dumps(suite.state())
    assert "IDKHM" not in text and "123456789" not in text


# -- control API ------------------------------------------------------------------------------------

def call(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_control_api_places_a_finger_and_reports_state(suite):
    base = suite.describe()["control"]
    status, reply = call(base, "POST", "/finger", {"voter_id": "V0001", "finger": "right_index"})
    assert status == 200 and reply["state"]["finger"]["voter_id"] == "V0001"
    status, reply = call(base, "DELETE", "/finger")
    assert status == 200 and reply["state"]["finger"] is None


def test_control_api_sets_ink_face_scene_and_faults(suite):
    base = suite.describe()["control"]
    assert call(base, "POST", "/ink", {"inked": True})[1]["state"]["inked"] is True
    assert call(base, "POST", "/face", {"voter_id": "V0001"})[1]["state"]["face"]["voter_id"] == "V0001"
    assert call(base, "POST", "/camera", {"scene": "finger"})[1]["state"]["camera_scene"] == "finger"
    assert call(base, "DELETE", "/face")[1]["state"]["face"] is None
    status, reply = call(base, "POST", "/faults/fingerprint", {"fault": "slow", "delay_s": 0.5})
    assert status == 200 and reply["state"]["faults"]["fingerprint"] == ["slow"]
    assert call(base, "DELETE", "/faults/fingerprint")[1]["state"]["faults"]["fingerprint"] == []


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/faults/printer", {"fault": "unplugged"}, 404, "unknown_device"),
    ("POST", "/faults/fingerprint", {"fault": "on_fire"}, 400, "unknown_fault"),
    ("POST", "/card", {"voter_id": "V9999"}, 404, "unknown_voter"),
    ("POST", "/ink", {"inked": "yes"}, 400, "bad_request"),
    ("POST", "/finger", {"image_b64": "bm90IGFuIGltYWdl"}, 400, "bad_image"),
    ("GET", "/nowhere", None, 404, "no_such_route"),
    ("PUT", "/card", {}, 405, "method_not_allowed"),
    ("POST", "/faults/fingerprint", {"fault": "garbage", "data": "not hex"}, 400, "bad_request"),
    ("POST", "/faults/fingerprint", {"fault": "dropped", "every": "often"}, 400, "bad_request"),
    ("POST", "/faults/fingerprint", {"fault": "sensor_error", "code": "on_fire"}, 400, "bad_request"),
])
def test_control_api_errors_have_stable_codes(suite, method, path, body, status, code):
    got_status, reply = call(suite.describe()["control"], method, path, body)
    assert (got_status, reply["ok"], reply["error"]["code"]) == (status, False, code)


def test_control_api_accepts_an_uploaded_image(suite, tests_data):
    import base64

    raw = (tests_data / "simulators" / "fvc2002_db1_101_2.png").read_bytes()
    status, reply = call(suite.describe()["control"], "POST", "/finger",
                         {"image_b64": base64.b64encode(raw).decode()})
    assert status == 200 and reply["state"]["finger"]["width"] == 388


def test_stop_closes_the_ptys(voters_file):
    sim = SimulatorSuite(voters_file).start()
    path = sim.describe()["devices"]["fingerprint"]["path"]
    port = serial.Serial(path, 57600, timeout=0.1)
    sim.stop()
    with pytest.raises(serial.SerialException):
        port.write(VFY_PWD)
        port.read(12)
    port.close()


def test_control_api_places_a_dataset_finger_at_its_own_resolution(suite, datasets):
    status, reply = call(suite.describe()["control"], "POST", "/finger",
                         {"dataset": "fingerprints/fvc2002/DB2_B/101_1.tif", "dpi": 569})
    assert status == 200 and reply["state"]["finger"]["dataset"].endswith("101_1.tif")
    status, reply = call(suite.describe()["control"], "POST", "/finger", {"dataset": "../../etc/passwd"})
    assert status == 400 and reply["error"]["code"] == "bad_request"


def test_3m_framing_with_a_bad_bcc_is_a_protocol_error_in_the_driver(voters_file):
    from hardware.errors import ProtocolError
    from hardware.idcard import IdCardReader

    with SimulatorSuite(voters_file, control_port=None, card_framing="3m") as sim:
        assert sim.describe()["devices"]["card_reader"]["framing"] == "3m"
        sim.inject("card_reader", "bad_bcc")
        with serial.Serial(sim.describe()["devices"]["card_reader"]["path"], 9600, timeout=0.05) as port:
            reader = IdCardReader(port, framing="3m")
            sim.present_voter_card("V0001")
            with pytest.raises(ProtocolError):
                reader.read_document(timeout=3)


def test_tcp_device_unplugged_refuses_connections_and_comes_back_on_the_same_url():
    with SimulatorSuite(transport="tcp", control_port=None) as sim:
        url = sim.describe()["devices"]["fingerprint"]["path"]
        sim.inject("fingerprint", "unplugged")
        with pytest.raises(serial.SerialException):
            serial.serial_for_url(url, timeout=0.5)
        sim.clear_faults("fingerprint")
        assert sim.describe()["devices"]["fingerprint"]["path"] == url
        port = serial.serial_for_url(url, timeout=0.5)
        try:
            port.write(VFY_PWD)
            assert read_exactly(port, 12) == ACK_OK
        finally:
            port.close()


def test_a_camera_port_in_use_fails_start_and_leaves_nothing_open():
    busy = socket.create_server(("127.0.0.1", 0))
    before = threading.active_count()
    try:
        sim = SimulatorSuite(control_port=None, camera_port=busy.getsockname()[1])
        with pytest.raises(OSError):
            sim.start()
        assert not sim.running
        time.sleep(0.2)
        assert threading.active_count() == before
    finally:
        busy.close()


def test_stopped_suite_refuses_operations(voters_file):
    from simulators.suite import NotRunning

    sim = SimulatorSuite(voters_file, control_port=None).start()
    sim.stop()
    sim.stop()
    with pytest.raises(NotRunning):
        sim.present_voter_card("V0001")


def test_ink_check_end_to_end_through_the_lamp_driver_and_the_camera_adapter(suite, tests_data):
    """The kiosk's real path: LCUS driver on a PTY, HTTP camera adapter, capture_ink_frames, detect_ink."""
    from hardware.ink import capture_ink_frames, detect_ink
    from hardware.lamp import open_lamp

    suite.place_finger(finger_image(tests_data))
    suite.set_camera_scene("finger")
    devices = suite.describe()["devices"]
    decisions = {}
    with serial.Serial(devices["lamp"]["path"], 9600, timeout=0.1) as port, Camera(devices["camera"]["url"]) as cam:
        lamp = open_lamp(port, kind="lcus")
        for inked in (False, True):
            suite.set_ink(inked)
            decisions[inked] = detect_ink(*capture_ink_frames(lamp, cam)).decision
            assert suite.state()["lamp"]["lit"] is False  # OFF again after the capture
        lamp.close()
    assert decisions == {False: "no_ink", True: "ink"}


def test_demo_voter_image_paths_may_be_relative_to_the_voters_file(tmp_path, tests_data):
    from simulators.suite import load_demo_voters

    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "f.png").write_bytes((tests_data / "simulators" / "fvc2002_db1_101_2.png").read_bytes())
    path = tmp_path / "voters.json"
    path.write_text(json.dumps({"version": 1, "voters": [
        {"voter_id": "V7", "mrz": KHM_CARD, "probe_fingers": {"right_index": "img/f.png"}, "probe_face": None}]}))
    voter = load_demo_voters(path)["V7"]
    assert voter.probe_fingers["right_index"] == str(tmp_path / "img" / "f.png") and voter.probe_face is None


@pytest.mark.parametrize("text", ["{", "[]", '{"voters": [{"name": "no id"}]}'])
def test_malformed_demo_voters_files_are_refused(tmp_path, text):
    path = tmp_path / "voters.json"
    path.write_text(text)
    with pytest.raises(NoDemoVoters):
        SimulatorSuite(path, control_port=None)


def test_concurrent_testers_and_a_reading_camera_do_not_trip_over_each_other(suite, tests_data):
    image = finger_image(tests_data)
    face = cv2.cvtColor(cv2.imread(str(tests_data / "simulators" / "obama-240p.jpg")), cv2.COLOR_BGR2RGB)
    errors: list[BaseException] = []

    def worker(ops):
        try:
            for _ in range(25):
                for op in ops:
                    op()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    with Camera(suite.describe()["devices"]["camera"]["url"]) as cam:
        threads = [threading.Thread(target=worker, args=(ops,)) for ops in (
            (lambda: suite.place_finger(image), suite.lift_finger),
            (lambda: suite.set_ink(True), lambda: suite.set_ink(False)),
            (lambda: suite.show_face(face), lambda: suite.show_face(None)),
            (lambda: suite.inject("fingerprint", "slow", delay_s=0.1), lambda: suite.clear_faults("fingerprint")),
            (cam.read_frame, suite.state),
        )]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    final = suite.state()
    assert final["finger"] is None and final["inked"] is False and final["face"] is None
    assert final["faults"]["fingerprint"] == []
