"""Officials' credentials: scrypt password hashes, the sign-in failure limiter and token expiry,
specified on an injected clock."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import auth

FAST = {"n": 2**4, "r": 1, "p": 1}   # the format is the same; the real cost is tested once below

passwords = st.text(min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(passwords)
def test_a_password_verifies_against_its_own_hash(password):
    assert auth.verify_password(password, auth.hash_password(password, **FAST))


@settings(max_examples=40, deadline=None)
@given(passwords, passwords)
def test_another_password_does_not_verify(password, other):
    if other != password:
        assert not auth.verify_password(other, auth.hash_password(password, **FAST))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_a_malformed_stored_hash_never_verifies_and_never_raises(stored):
    assert auth.verify_password("secret", stored) is False


def test_default_hash_is_scrypt_with_a_fresh_salt_and_no_plain_text():
    first, second = auth.hash_password("polling-day"), auth.hash_password("polling-day")
    assert first.startswith(f"scrypt${auth.SCRYPT_N}$") and first != second
    assert "polling-day" not in first
    assert auth.verify_password("polling-day", first)


def test_an_empty_password_cannot_be_set():
    with pytest.raises(ValueError):
        auth.hash_password("")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_limiter_blocks_after_the_maximum_within_the_window_and_frees_after_it():
    clock = Clock()
    limiter = auth.FailureLimiter(3, 60, clock, limits={"client:": 1})
    for _ in range(3):
        assert limiter.retry_after(["user:a"]) == 0
        limiter.fail(["user:a", "client:x"])
        clock.now += 1
    assert 0 < limiter.retry_after(["user:a"]) <= 60
    assert limiter.retry_after(["client:x"]) > 0          # the client is blocked for every user name
    assert limiter.retry_after(["user:b"]) == 0
    clock.now += 58
    assert limiter.retry_after(["user:a"]) == 0


def test_tokens_expire_and_can_be_revoked():
    clock = Clock()
    store = auth.TokenStore(100, clock)
    token, principal = store.issue("po-1", "official", "Polling official")
    assert store.resolve(token).username == "po-1"
    clock.now = 99.9
    assert store.resolve(token) == principal
    clock.now = 100
    with pytest.raises(auth.TokenExpired):
        store.resolve(token)
    token, _ = store.issue("po-1", "official", "Polling official")
    store.revoke(token)
    with pytest.raises(auth.TokenInvalid):
        store.resolve(token)


def test_roles_are_enforced():
    who = auth.Principal("a1", "auditor", "Auditor", 1e9)
    auth.require_role(who, "auditor")
    with pytest.raises(auth.Forbidden):
        auth.require_role(who, "official", "supervisor")
