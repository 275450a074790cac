"""Review findings on offline verification: a bundle signed by a key nobody vouched for is not
VALID, and a bundle whose tail was cut off is caught against a checkpoint the commission saw."""
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk import keys
from kiosk.audit import AuditLog, default_origin, layout
from kiosk.audit.bundle import export_bundle
from kiosk.audit.cli import EXIT_INVALID, EXIT_OK, EXIT_UNTRUSTED, main
from kiosk.audit.note import Signer

ORIGIN = default_origin("kiosk-01", "PS-0001")


def _write_log(directory, key, events):
    with AuditLog.open(directory, key, ORIGIN, kiosk_id="kiosk-01", station_id="PS-0001") as log:
        for event in events:
            log.append(event)


@pytest.fixture
def kiosk_key(tmp_path):
    return keys.signing_key(tmp_path / "keys", create=True, environ={})


@pytest.fixture
def forged_bundle(tmp_path):
    """The same kind of log, signed by a key the forger just made (a re-signed, edited log)."""
    _write_log(tmp_path / "forged", Ed25519PrivateKey.generate(),
               [{"event": "boot"}, {"event": "vote_marked", "official_id": "po-1"}])
    export_bundle(tmp_path / "forged", tmp_path / "forged.kab")
    return tmp_path / "forged.kab"


def test_a_bundle_verified_without_a_trusted_key_says_untrusted_key_and_exits_non_zero(forged_bundle, capsys):
    assert main(["verify", str(forged_bundle)]) == EXIT_UNTRUSTED
    captured = capsys.readouterr()
    assert "bundle: UNTRUSTED KEY" in captured.out and "VALID" not in captured.out.splitlines()[0]
    assert "UNTRUSTED KEY" in captured.err


def test_accept_any_key_checks_internal_consistency_and_says_so(forged_bundle, capsys):
    assert main(["verify", "--accept-any-key", str(forged_bundle)]) == EXIT_OK
    assert "any signing key accepted" in capsys.readouterr().out


def test_a_bundle_signed_by_another_key_than_the_trusted_one_is_invalid(forged_bundle, kiosk_key, capsys):
    trusted = Signer(ORIGIN, kiosk_key).verifier.vkey
    assert main(["verify", "--trusted-key", trusted, str(forged_bundle)]) == EXIT_INVALID
    assert "not one of the trusted keys" in capsys.readouterr().out


def test_the_kiosks_own_bundle_with_its_registered_key_is_valid(tmp_path, kiosk_key, capsys):
    _write_log(tmp_path / "log", kiosk_key, [{"event": "boot"}])
    export_bundle(tmp_path / "log", tmp_path / "b.kab")
    trusted = Signer(ORIGIN, kiosk_key).verifier.vkey
    assert main(["verify", "--trusted-key", trusted, str(tmp_path / "b.kab")]) == EXIT_OK
    assert capsys.readouterr().out.startswith("bundle: VALID\n")


@pytest.fixture
def two_exports(tmp_path, kiosk_key):
    """An export at midday (what the commission saw) and the full day's log afterwards."""
    directory = tmp_path / "log"
    _write_log(directory, kiosk_key, [{"event": "boot"}, {"event": "vote_marked", "official_id": "po-1"}])
    export_bundle(directory, tmp_path / "midday")
    _write_log(directory, kiosk_key, [{"event": "vote_marked", "official_id": "po-1"},
                                      {"event": "vote_marked", "official_id": "po-2"}])
    export_bundle(directory, tmp_path / "evening")
    return tmp_path / "midday", tmp_path / "evening"


def test_a_bundle_with_its_tail_cut_off_is_refused_against_a_later_checkpoint(two_exports, tmp_path, capsys):
    midday, evening = two_exports
    seen = sorted((evening / "checkpoints").iterdir())[-1]
    # The cut bundle is the evening log truncated back to midday: valid on its own ...
    cut = tmp_path / "cut"
    shutil.copytree(midday, cut)
    assert main(["verify", "--accept-any-key", str(cut)]) == EXIT_OK
    capsys.readouterr()
    # ... but not against the checkpoint the commission saw in the evening.
    assert main(["verify", "--accept-any-key", "--checkpoint", str(seen), str(cut)]) == EXIT_INVALID
    assert "tail was cut off" in capsys.readouterr().out


def test_a_full_bundle_is_proven_consistent_with_an_earlier_checkpoint(two_exports, capsys):
    midday, evening = two_exports
    seen = sorted((midday / "checkpoints").iterdir())[-1]
    assert main(["verify", "--accept-any-key", "--checkpoint", str(seen), str(evening)]) == EXIT_OK
    assert "consistent with 1 checkpoint(s) seen earlier" in capsys.readouterr().out


def test_a_checkpoint_of_a_rewritten_log_is_refused(two_exports, tmp_path, kiosk_key, capsys):
    _, evening = two_exports
    other = tmp_path / "other"
    _write_log(other, kiosk_key, [{"event": "boot"}, {"event": "vote_marked", "official_id": "po-9"},
                                  {"event": "boot"}])
    seen = sorted((other / "checkpoints").iterdir())[-1]
    assert main(["verify", "--accept-any-key", "--checkpoint", str(seen), str(evening)]) == EXIT_INVALID
    assert "do not match it" in capsys.readouterr().out
