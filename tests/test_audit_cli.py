"""kiosk-audit: export, verify (exit codes and messages), prove, check-proof, keygen and cosign."""
import json
import subprocess
import sys

import pytest

from kiosk import keys
from kiosk.audit import AuditLog, default_origin, layout
from kiosk.audit.cli import main


@pytest.fixture
def kiosk_dirs(tmp_path):
    data_dir, key_dir = tmp_path / "var", tmp_path / "var" / "keys"
    key = keys.signing_key(key_dir, create=True, environ={})
    with AuditLog.open(data_dir / "audit", key, default_origin("kiosk-01", "PS-0001"),
                       kiosk_id="kiosk-01", station_id="PS-0001") as log:
        log.append({"event": "boot"})
        log.append({"event": "vote_marked", "official_id": "po-1"})
        log.append({"event": "fallback", "official_id": "po-1", "reason": "no_card"})
    return data_dir, key_dir


def test_export_with_the_kiosk_key_signs_an_export_entry_and_the_bundle_verifies(kiosk_dirs, tmp_path, capsys):
    data_dir, key_dir = kiosk_dirs
    out = tmp_path / "PS-0001.kab"
    assert main(["export", "--data-dir", str(data_dir), "--out", str(out), "--key-dir", str(key_dir),
                 "--official-id", "po-1"]) == 0
    assert main(["verify", "--accept-any-key", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bundle: VALID" in printed and "entries: 4" in printed
    assert "PS-0001" in printed and "po-1" in printed


def test_export_without_keys_copies_the_log_read_only(kiosk_dirs, tmp_path):
    data_dir, _ = kiosk_dirs
    assert main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b")]) == 0
    assert main(["verify", "--accept-any-key", str(tmp_path / "b")]) == 0


def test_export_while_the_kiosk_holds_the_log_falls_back_to_a_copy(kiosk_dirs, tmp_path, capsys):
    data_dir, key_dir = kiosk_dirs
    with AuditLog.open(data_dir / "audit", keys.signing_key(key_dir, environ={}),
                       default_origin("kiosk-01", "PS-0001"), kiosk_id="kiosk-01", station_id="PS-0001"):
        assert main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b"),
                     "--key-dir", str(key_dir)]) == 0
    assert "has the log open" in capsys.readouterr().err


def test_verify_exits_non_zero_and_names_the_failure(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    bundle = tmp_path / "b"
    main(["export", "--data-dir", str(data_dir), "--out", str(bundle)])
    entries = bundle / layout.ENTRIES_BUNDLE
    entries.write_bytes(entries.read_bytes().replace(b"fallback", b"override"))
    capsys.readouterr()
    assert main(["verify", str(bundle)]) == 1
    printed = capsys.readouterr().out
    assert "bundle: INVALID" in printed and "root hash does not match" in printed


def test_verify_with_json_output_is_machine_readable(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b")])
    capsys.readouterr()
    assert main(["verify", "--json", "--accept-any-key", str(tmp_path / "b")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["stations"]["PS-0001"] == {"votes_marked": 1, "fallbacks": 1}


def test_prove_writes_a_proof_that_check_proof_accepts_and_rejects_when_altered(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b")])
    proof = tmp_path / "proof.json"
    assert main(["prove", "--bundle", str(tmp_path / "b"), "--seq", "1", "--out", str(proof)]) == 0
    assert main(["check-proof", str(proof)]) == 0
    assert "proof: VALID" in capsys.readouterr().out
    document = json.loads(proof.read_text())
    document["entry"] = document["entry"].replace("po-1", "po-9")
    proof.write_text(json.dumps(document))
    assert main(["check-proof", str(proof)]) == 1
    assert "does not lead to the root" in capsys.readouterr().out


def test_keygen_and_cosign_add_a_verified_co_signature(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    bundle = tmp_path / "b.kab"
    main(["export", "--data-dir", str(data_dir), "--out", str(bundle)])
    agent_key = tmp_path / "agent.pem"
    capsys.readouterr()
    assert main(["keygen", "--out", str(agent_key), "--name", "party-agent-A"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert vkey.startswith("party-agent-A+")
    assert main(["cosign", "--bundle", str(bundle), "--key", str(agent_key), "--name", "party-agent-A"]) == 0
    assert main(["verify", "--accept-any-key", str(bundle)]) == 0
    assert "co-signed by: party-agent-A" in capsys.readouterr().out


def test_the_installed_command_runs_offline_as_a_separate_process(kiosk_dirs, tmp_path):
    data_dir, _ = kiosk_dirs
    main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b")])
    done = subprocess.run([sys.executable, "-m", "kiosk.audit.cli", "verify", "--accept-any-key", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "bundle: VALID" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "kiosk.audit.cli", "verify", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no bundle at" in missing.stdout


def test_export_with_a_key_directory_that_has_no_key_fails_cleanly(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    assert main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b"),
                 "--key-dir", str(tmp_path / "empty")]) == 2
    assert "signing key not found" in capsys.readouterr().err


def test_proving_an_entry_the_bundle_does_not_have_fails_cleanly(kiosk_dirs, tmp_path, capsys):
    data_dir, _ = kiosk_dirs
    main(["export", "--data-dir", str(data_dir), "--out", str(tmp_path / "b")])
    assert main(["prove", "--bundle", str(tmp_path / "b"), "--seq", "99"]) == 1
    assert "has no entry 99" in capsys.readouterr().err
