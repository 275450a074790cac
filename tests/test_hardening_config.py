"""Review and newcomer findings on start-up: misspelt settings, world-readable keys, relative paths,
logging that redacts whatever format and whoever builds the app."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from kiosk import config, keys, logs


# -- unknown settings ---------------------------------------------------------------------------------

def test_a_misspelt_setting_in_the_toml_file_is_refused_with_the_closest_name(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("target_fmt = 1e-5\n")
    with pytest.raises(config.ConfigError, match=r"unknown setting 'target_fmt'.*did you mean 'target_fmr'"):
        config.load(path, environ={})


def test_a_misspelt_environment_variable_is_refused_with_the_closest_name():
    with pytest.raises(config.ConfigError, match=r"KIOSK_TARGET_FRM.*did you mean KIOSK_TARGET_FMR"):
        config.load(environ={"KIOSK_TARGET_FRM": "1e-5"})


@pytest.mark.parametrize("rounds", ["0", "4"])
def test_verification_rounds_outside_one_to_three_are_refused(rounds):
    with pytest.raises(config.ConfigError, match="verification_rounds must be between 1 and 3"):
        config.load(environ={"KIOSK_VERIFICATION_ROUNDS": rounds})
    assert config.load(environ={"KIOSK_VERIFICATION_ROUNDS": "1"}).verification_rounds == 1


def test_environment_variables_that_are_not_settings_are_left_alone():
    settings = config.load(environ={"KIOSK_DATASETS": "/x", "KIOSK_KEY_REGISTRY": "abc", "KIOSK_CONFIG": "",
                                    "KIOSK_TARGET_FMR": "1e-5", "OTHER": "1"})
    assert settings.target_fmr == 1e-5


def test_an_extension_setting_is_accepted_once_registered(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("booth_show_photo = true\n")
    assert config.load(path, environ={}).extra == {"booth_show_photo": True}


def test_kiosk_serve_refuses_to_start_on_a_misspelt_setting(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('data_dri = "elsewhere"\n')
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(path), "serve"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "did you mean 'data_dir'" in done.stderr and "Traceback" not in done.stderr


# -- key files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["registry", "signing"])
def test_a_world_readable_key_file_is_refused(tmp_path, name):
    load = (lambda: keys.symmetric_key(tmp_path, name, create=True, environ={})) if name == "registry" \
        else (lambda: keys.signing_key(tmp_path, create=True, environ={}))
    load()
    path = next(tmp_path.iterdir())
    os.chmod(path, 0o644)
    with pytest.raises(keys.KeyError_, match="0644.*0600"):
        load()
    os.chmod(path, 0o600)
    load()


# -- paths --------------------------------------------------------------------------------------------

def test_relative_paths_are_resolved_against_the_working_directory_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = config.load(overrides={"data_dir": "var", "key_dir": "var/keys"}, environ={})
    assert settings.data_dir == tmp_path / "var" and settings.key_dir == tmp_path / "var" / "keys"
    monkeypatch.chdir("/")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'registry.sqlite3'}"


def test_the_audit_export_downloads_with_a_relative_data_dir(hardening_demo, tmp_path, monkeypatch):
    """Under ``./dev run`` the data folder is ``var``: Flask's send_file resolved it against the package."""
    import shutil

    from kiosk import create_app
    from test_e2e import PASSWORDS

    shutil.copytree(hardening_demo, tmp_path / "var")
    monkeypatch.chdir(tmp_path)
    app = create_app({"data_dir": "var", "key_dir": "var/keys"})
    try:
        client = app.test_client()
        token = client.post("/api/auth/sign-in", json={"username": "auditor", "password": PASSWORDS["auditor"]}).json
        headers = {"Authorization": f"Bearer {token['token']}"}
        export = client.post("/api/audit/export", headers=headers)
        assert export.status_code == 201
        download = client.get(export.json["download"], headers=headers)
        assert download.status_code == 200 and download.data.startswith(b"kiosk-audit-bundle 1\n")
    finally:
        app.extensions["kiosk"].close()


# -- logging ------------------------------------------------------------------------------------------

@pytest.fixture
def log_stream():
    stream = io.StringIO()
    yield stream
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_kiosk", False):
            logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_text_is_redacted_in_both_formats(log_stream, fmt):
    logs.configure("INFO", fmt, stream=log_stream)
    try:
        raise ValueError("voter 123456789 with card AB1234567 not found")
    except ValueError:
        logging.getLogger("kiosk.test").exception("lookup failed for AB7654321")
    text = log_stream.getvalue()
    assert "123456789" not in text and "AB1234567" not in text and "AB7654321" not in text
    assert "ValueError" in text


def test_alphanumeric_id_numbers_are_masked_but_ordinary_words_are_not():
    assert logs.redact_text("id AB12345 at PS-0001 on kiosk-01") == "id [id] at PS-0001 on kiosk-01"


def test_an_app_built_outside_the_cli_logs_through_the_redacting_handler(hardening_demo, tmp_path, log_stream):
    import shutil

    from kiosk import create_app

    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_kiosk", False):
            logging.getLogger().removeHandler(handler)
    shutil.copytree(hardening_demo, tmp_path / "data")
    app = create_app({"data_dir": tmp_path / "data", "key_dir": tmp_path / "data" / "keys"})
    app.extensions["kiosk"].close()
    assert logs.configured()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_kiosk", False))
    record = logging.LogRecord("kiosk", logging.INFO, "", 0, "card %s", ("AB1234567",), None)
    assert all(f.filter(record) for f in handler.filters)
    assert json.loads(handler.format(record))["msg"] == "card [id]"


# -- demo-registry --force ----------------------------------------------------------------------------

def test_demo_registry_force_keeps_a_registry_with_votes_without_a_second_yes(demo_copy, monkeypatch, capsys):
    from kiosk.cli import main
    from kiosk.registry import Registry

    settings = config.load(overrides={"data_dir": demo_copy, "key_dir": demo_copy / "keys"}, environ={})
    registry = Registry.open(settings)
    voter = registry.all_voter_ids()[0]
    registry.mark_voted(voter, kiosk_id="kiosk-01", station_id="PS-0001", official_id="official", method="biometric")
    registry.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))   # not a terminal: nobody to ask
    monkeypatch.setenv("KIOSK_DATA_DIR", str(demo_copy))
    monkeypatch.setenv("KIOSK_KEY_DIR", str(demo_copy / "keys"))
    assert main(["demo-registry", "--force"]) == 1
    assert "holds 1 marked votes; not deleted" in capsys.readouterr().err
    registry = Registry.open(settings)
    assert registry.count_votes() == 1
    registry.close()
