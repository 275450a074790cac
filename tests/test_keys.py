"""Keys live outside the database, in private files or the environment."""
import base64
import stat

import pytest

from kiosk import keys


def test_symmetric_key_is_created_private_and_stable(tmp_path):
    k1 = keys.symmetric_key(tmp_path, "registry", create=True, environ={})
    k2 = keys.symmetric_key(tmp_path, "registry", environ={})
    assert k1 == k2 and len(k1) == 32
    assert stat.S_IMODE((tmp_path / "registry.key").stat().st_mode) == 0o600


def test_missing_key_is_an_error_unless_creation_is_asked(tmp_path):
    with pytest.raises(keys.KeyError_, match="not found"):
        keys.symmetric_key(tmp_path, "registry", environ={})


def test_environment_key_wins_and_is_checked(tmp_path):
    env = {"KIOSK_KEY_REGISTRY": base64.b64encode(b"k" * 32).decode()}
    assert keys.symmetric_key(tmp_path, "registry", environ=env) == b"k" * 32
    with pytest.raises(keys.KeyError_, match="32 bytes"):
        keys.symmetric_key(tmp_path, "registry", environ={"KIOSK_KEY_REGISTRY": "YWJj"})


def test_the_kiosk_has_no_pseudonym_key(tmp_path):
    """Pseudonyms come from the commission's signed export (docs/threat-model.md), never a kiosk key."""
    with pytest.raises(ValueError, match="unknown symmetric key"):
        keys.symmetric_key(tmp_path, "pseudonym", create=True, environ={})


def test_signing_key_round_trips_through_pem(tmp_path):
    k = keys.signing_key(tmp_path, create=True, environ={})
    again = keys.signing_key(tmp_path, environ={})
    assert keys.public_key_pem(k) == keys.public_key_pem(again)
