"""Officials: password hashing (scrypt), sign-in with rate limiting, bearer tokens with an expiry.

Passwords are stored as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``. Tokens are random, kept only
in this process's memory (a restart signs everybody out, which a polling station accepts) and
expire after ``Settings.token_ttl_seconds``, and stop working at once when the official is deactivated
or changes role (each request re-reads the official).

Failed sign-ins are counted in a sliding window per (user name, client address) pair and per (client
address, purpose): past ``Settings.max_failed_signins`` for the pair, or four times that for the
address, further attempts are refused without checking the password. Counting per pair means that
someone elsewhere typing wrong passwords for a real name cannot lock that official out at the booth,
and counting per purpose means an official's typos in a supervisor approval do not lock the booth's
sign-in. The table of counts is bounded (oldest keys dropped first), so typed names cannot grow it
without limit. An unknown or deactivated name costs one scrypt like a real one, so timing does not
tell which names exist. Every sign-in and failure is audited (user name only).

Time is passed in (``clock`` returns seconds), so expiry and lock-out are testable.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import logging
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("kiosk.auth")

ROLES = ("official", "supervisor", "auditor")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class AuthError(Exception):
    code = "unauthorized"
    status = 401


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class TooManyAttempts(AuthError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


class TokenInvalid(AuthError):
    code = "invalid_token"


class TokenExpired(AuthError):
    code = "token_expired"


class Forbidden(AuthError):
    code = "forbidden"
    status = 403


# -- password hashing ---------------------------------------------------------------------------------

def hash_password(password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    if not password:
        raise ValueError("an empty password cannot be hashed")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# -- rate limiting ------------------------------------------------------------------------------------

class FailureLimiter:
    """Sliding-window failure counts per key (user name, client address), at most ``max_keys`` keys.

    A key may carry its own limit: ``limits`` maps a key prefix (e.g. ``"client:"``) to a multiple
    of ``max_failures``."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float], *,
                 max_keys: int = 4096, limits: dict[str, int] | None = None):
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._limits = dict(limits or {})
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def limit(self, key: str) -> int:
        factor = next((f for prefix, f in self._limits.items() if key.startswith(prefix)), 1)
        return self.max_failures * factor

    def __len__(self) -> int:
        return len(self._failures)

    def _prune(self, now: float) -> None:
        """Drop keys whose failures have all left the window; then the oldest keys, down to three
        quarters of ``max_keys`` (so pruning runs once per many new keys, not on every one)."""
        for key in [k for k, times in self._failures.items() if not times or now - times[-1] >= self.window_s]:
            del self._failures[key]
        excess = len(self._failures) - self.max_keys * 3 // 4
        if excess > 0:
            for key in list(itertools.islice(self._failures, excess)):  # insertion order: oldest first
                del self._failures[key]

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after(self, keys: list[str]) -> int:
        """Seconds until a blocked key frees up; 0 when none of ``keys`` is blocked."""
        now = self._clock()
        with self._lock:
            waits = [self.window_s - (now - times[-self.limit(k)]) for k in keys
                     for times in [self._recent(k, now)] if len(times) >= self.limit(k)]
        return max(1, int(max(waits)) + 1) if waits else 0

    def fail(self, keys: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque()   # re-inserted: most recent last
                times.append(now)
                self._failures[key] = times
                while len(times) > self.limit(key):
                    times.popleft()
            if len(self._failures) > self.max_keys:
                self._prune(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


# -- tokens -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    """A signed-in official, as the API sees them."""

    username: str
    role: str
    display_name: str
    expires_at: float

    def public_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "display_name": self.display_name}


class TokenStore:
    def __init__(self, ttl_s: float, clock: Callable[[], float]):
        self.ttl_s = ttl_s
        self._clock = clock
        self._tokens: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def issue(self, username: str, role: str, display_name: str) -> tuple[str, Principal]:
        token = secrets.token_urlsafe(32)
        principal = Principal(username, role, display_name, self._clock() + self.ttl_s)
        with self._lock:
            self._tokens[token] = principal
        return token, principal

    def resolve(self, token: str) -> Principal:
        with self._lock:
            principal = self._tokens.get(token)
            if principal is None:
                raise TokenInvalid("the token is not valid; sign in again")
            if self._clock() >= principal.expires_at:
                del self._tokens[token]
                raise TokenExpired("the token has expired; sign in again")
            return principal

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)


# -- sign-in ------------------------------------------------------------------------------------------

class Authenticator:
    """Checks officials' credentials against the registry, issues tokens, audits every attempt."""

    CLIENT_LIMIT_FACTOR = 4
    """Failures from one address (for one purpose), as a multiple of ``max_failures``, before it is refused."""

    def __init__(self, registry, record: Callable[..., int], *, ttl_s: float, max_failures: int,
                 window_s: float, clock: Callable[[], float] = time.monotonic, lookup_limit: int = 30,
                 lookup_window_s: float = 60):
        self._registry = registry
        self._record = record
        self.tokens = TokenStore(ttl_s, clock)
        self.limiter = FailureLimiter(max_failures, window_s, clock,
                                      limits={"client:": self.CLIENT_LIMIT_FACTOR})
        self.lookups = FailureLimiter(lookup_limit, lookup_window_s, clock)  # registry lookups per official

    def check_credentials(self, username: str, password: str, *, client: str, purpose: str = "sign_in"):
        """The official whose credentials these are; raises InvalidCredentials / TooManyAttempts."""
        pair = f"user:{username[:64]}@{client}"
        keys = [pair, f"client:{client}/{purpose}"]
        wait = self.limiter.retry_after(keys)
        if wait:
            log.warning("sign-in refused: too many failures",
                        extra={"official_id": _safe_name(username), "client": client, "purpose": purpose})
            self._record("sign_in_failed", official_id=_safe_name(username), reason="rate_limited",
                         purpose=purpose)
            raise TooManyAttempts(wait)
        official = self._registry.get_official(username) if username else None
        stored = official.password_hash if official is not None and official.active else _dummy_hash()
        matches = verify_password(password or "", stored)  # always one scrypt: timing tells nothing
        if official is None or not official.active or not matches:
            self.limiter.fail(keys)
            log.warning("sign-in failed: bad credentials",
                        extra={"official_id": _safe_name(username), "client": client, "purpose": purpose})
            self._record("sign_in_failed", official_id=_safe_name(username), reason="bad_credentials",
                         purpose=purpose)
            raise InvalidCredentials("wrong user name or password")
        self.limiter.clear(pair)
        return official

    def sign_in(self, username: str, password: str, *, client: str) -> tuple[str, Principal]:
        official = self.check_credentials(username, password, client=client)
        token, principal = self.tokens.issue(official.username, official.role, official.display_name)
        self._record("sign_in", official_id=official.username, role=official.role)
        return token, principal

    def authenticate(self, token: str) -> Principal:
        """The token's official, re-read from the registry: a deactivated official (or one whose role
        changed) is signed out at once rather than when the token expires."""
        principal = self.tokens.resolve(token)
        official = self._registry.get_official(principal.username)
        if official is None or not official.active or official.role != principal.role:
            self.tokens.revoke(token)
            raise TokenInvalid("this official's account was deactivated or changed; sign in again")
        return principal


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash at the real cost that no password matches, checked for unknown names."""
    return hash_password(secrets.token_urlsafe(16))


def _safe_name(username: str) -> str:
    """A user name fit for the audit log: typed names may be anything, so keep it short and plain."""
    cleaned = "".join(c for c in (username or "")[:40] if c.isalnum() or c in "-_.")
    cleaned = re.sub(r"\d{6,}", "#", cleaned)   # a typed ID number must not reach the log
    return cleaned or "(empty)"


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
