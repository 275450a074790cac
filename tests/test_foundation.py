"""The skeleton every other part stands on: configuration, logging, commands, packaging."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config, create_app, logs


def test_defaults_bind_to_loopback():
    assert config.load(environ={}).host == "127.0.0.1"


def test_environment_overrides_defaults():
    s = config.load(environ={"KIOSK_PORT": "9090", "KIOSK_STATION_ID": "PS-0042"})
    assert (s.port, s.station_id) == (9090, "PS-0042")


def test_file_then_environment_then_overrides(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('port = 7000\nkiosk_id = "k-file"\nstation_id = "PS-FILE"\n')
    s = config.load(f, environ={"KIOSK_KIOSK_ID": "k-env"}, overrides={"station_id": "PS-ARG"})
    assert (s.port, s.kiosk_id, s.station_id) == (7000, "k-env", "PS-ARG")


def test_bad_values_give_clear_errors(tmp_path):
    with pytest.raises(config.ConfigError, match="port"):
        config.load(environ={"KIOSK_PORT": "eighty"})
    with pytest.raises(config.ConfigError, match="mrz_strictness"):
        config.load(environ={"KIOSK_MRZ_STRICTNESS": "maybe"})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(bad, environ={})


def _log_line(**extra) -> dict:
    stream = io.StringIO()
    logs.configure("INFO", "json", stream=stream)
    try:
        logging.getLogger("t").info(extra.pop("msg"), extra=extra)
    finally:
        logs.configure("INFO", "json")
    return json.loads(stream.getvalue().strip().splitlines()[-1])


def test_logs_never_carry_id_numbers_or_mrz():
    line = _log_line(msg="card IDKHM1234567897<<<<<<<<<<<<<<< for voter 123456789")
    assert "123456789" not in json.dumps(line) and "IDKHM" not in json.dumps(line)


def test_logs_redact_sensitive_fields_and_bytes():
    line = _log_line(msg="enrolled", template=b"\x46\x4d\x52\x00" * 10, id_number="012345678",
                     voter="pseudonym-ab12")
    assert line["template"] == "[redacted]" and line["id_number"] == "[redacted]"
    assert line["voter"] == "pseudonym-ab12"


def _app(tmp_path, **settings):
    return create_app({"data_dir": str(tmp_path), "key_dir": str(tmp_path / "keys"), "create_keys": True,
                       **settings})


def test_health_needs_no_credentials(tmp_path):
    client = _app(tmp_path, station_id="PS-0007").test_client()
    reply = client.get("/health")
    assert reply.status_code == 200 and reply.get_json()["station_id"] == "PS-0007"


def test_unknown_route_is_a_json_error(tmp_path):
    reply = _app(tmp_path).test_client().get("/no-such-thing")
    assert reply.status_code == 404 and reply.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("command", ["kiosk", "kiosk-sim", "kiosk-audit"])
def test_console_scripts_answer_help(command):
    exe = Path(sys.executable).parent / command  # installed beside the interpreter in .venv
    assert exe.exists(), f"{command} is not installed"
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage" in done.stdout


def test_face_recognition_imports_offline_on_prebuilt_dlib():
    code = ("import warnings; warnings.simplefilter('error');"
            "warnings.filterwarnings('ignore', message='pkg_resources is deprecated');"
            "import face_recognition, dlib; print(len(face_recognition.face_encodings.__doc__) > 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    # face_recognition quits with code 0 and an install hint when its models are missing.
    assert done.stdout.strip() == "True", done.stdout + done.stderr


def test_pip_check_is_clean():
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout
