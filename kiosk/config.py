"""Kiosk configuration: one place, documented defaults, file and environment overrides.

Unknown settings (a misspelt ``target_fmr`` in the TOML file, a ``KIOSK_TARGET_FRM`` in the environment)
are refused with the closest valid name, rather than silently keeping the default.

Precedence (later wins): the defaults below, a TOML file (path in ``KIOSK_CONFIG`` or passed to
:func:`load`), environment variables ``KIOSK_<FIELD NAME IN CAPITALS>``, then explicit overrides
(``load(overrides={...})``, used by tests and ``create_app(config)``).

Secrets (the registry encryption key, the commission's pseudonym key, the kiosk signing key) are
never stored in the database: they are read from files in ``key_dir`` or from the environment.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class Settings:
    # --- identity of this kiosk -------------------------------------------------------------
    kiosk_id: str = "kiosk-01"
    """Identifier of this kiosk, written in every audit entry."""
    station_id: str = "PS-0001"
    """Polling station this kiosk serves; voters registered elsewhere are redirected."""

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Path("var")
    """Directory for the SQLite registry, the audit log and exports."""
    database_url: str = ""
    """Registry database. Empty means ``sqlite:///<data_dir>/registry.sqlite3`` (one kiosk, the demo);
    ``postgresql://user@host/dbname`` is a station server shared by every kiosk of the station."""
    key_dir: Path = Path("var/keys")
    """Directory holding key files (created with mode 0700, files 0600)."""

    # --- API ---------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address the API binds to. Loopback unless a deployment says otherwise."""
    port: int = 8080
    token_ttl_seconds: int = 8 * 3600
    """How long an official's sign-in token stays valid (one polling day shift)."""
    max_failed_signins: int = 5
    """Failed sign-ins per user and per client within ``signin_window_seconds`` before lock-out."""
    signin_window_seconds: int = 300
    lookup_limit: int = 30
    """Registry lookups per official within ``lookup_window_seconds``; more answer 429 and are audited."""
    lookup_window_seconds: int = 60

    # --- decisions ---------------------------------------------------------------------------
    target_fmr: float = 1e-4
    """False match rate at which the booth accepts a 1:1 session: each of its ``verification_rounds``
    fused decisions is taken at ``target_fmr / verification_rounds``, so the session's stays at this."""
    verification_rounds: int = 2
    """Fused decisions a 1:1 session may take: a voter not verified by the first is asked for the finger
    and the face again (a new round, decided on its own captures) before being refused."""
    identification_fpir: float = 0.01
    """False-positive identification rate of one 1:N search (no-card fallback, dedup): the share of
    searches for someone not enrolled that would name somebody. The per-comparison threshold follows
    from it and the number of voters searched (national.operating: about fpir / N)."""
    identification_backend: str = "gallery"
    """1:N back end of the no-card identification: ``gallery`` (in-process galleries built from the
    registry) or ``national`` (the sharded national search on Dask: station shard here, then the nation)."""
    national_scheduler: str = ""
    """``tcp://HOST:8786`` of the commission's Dask cluster for ``national``; empty: threads in this process."""
    identification_deadline_seconds: float = 2.0
    """A national search not answered within this is abandoned (the voter is not identified)."""
    max_finger_attempts: int = 3
    """Captures per finger before the workflow suggests another finger."""
    max_fingers: int = 3
    """Fingers tried before the fingers-unusable fallback is offered."""

    # --- devices (serial URLs understood by pyserial's serial_for_url) -------------------------
    card_reader_url: str = ""
    card_reader_framing: str = "auto"
    fingerprint_url: str = ""
    fingerprint_baud: int = 57600
    lamp_url: str = ""
    lamp_kind: str = "lcus"
    lamp_max_on_seconds: float = 5.0
    camera_source: str = ""
    """Camera: a device index ("0"), a file or a URL. Empty means no camera configured."""
    camera_stream_url: str = ""
    """The booth camera's MJPEG stream (``http://.../stream.mjpg``), read by the liveness check."""
    liveness_check: bool = False
    """Active liveness before the face capture (a blink, then a head turn on cue, over ``camera_stream_url``);
    a failed check waits for a supervisor. ``kiosk demo`` turns it on."""
    liveness_deadline_seconds: float = 6.0
    """A liveness check with no verdict this long after its first frame ends (failed, or nobody seen)."""
    mrz_strictness: str = "reject"
    """``reject`` a card whose check digits fail, or ``warn`` and continue."""
    face_calibration_file: str = ""
    """The deployment's own face distance -> FMR table (JSON from ``matcher.face.calibration.build_table(...).to_json()``
    on labelled pairs of its own population). Empty means the engine's default table, which was fitted
    mostly on adult Western faces; published figures show such tables are too loose elsewhere."""

    # --- booth workflow ----------------------------------------------------------------------
    min_finger_quality: int = 20
    """Quality gate (0-100, matcher.fingerprint Template.quality): lower captures count as failed."""
    card_timeout_seconds: float = 1.0
    """How long one card-read step waits for a card on the reader. The booth screen polls again and
    again, so this is also how long End of day, Sign out or "no card" wait for a pending poll: short."""
    finger_timeout_seconds: float = 10.0
    """How long one finger-capture step waits for a finger on the sensor."""
    ink_settle_seconds: float = 0.15
    """Time between lighting the UV lamp and taking the lamp-on frame."""
    session_idle_seconds: int = 15 * 60
    """Sessions idle longer than this are dropped from memory (their audit events stay)."""
    create_keys: bool = False
    """Create missing key files (demo and tests). A deployment provisions keys and leaves this off."""

    # --- commission link (kiosk.sync) --------------------------------------------------------
    commission_url: str = ""
    """Base URL of the commission server (``central serve``); empty means the log leaves only by export."""
    commission_push_seconds: float = 10.0
    """Seconds between pushes while the link works (failures back off exponentially up to a minute)."""

    # --- logging -----------------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: str = "json"
    """``json`` (one object per line) or ``text``."""

    # extension point for areas that add their own keys without touching this class
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir) / 'registry.sqlite3'}"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}

EXTENSION_SETTINGS: set[str] = {"booth_show_photo"}
"""Settings an area reads from ``Settings.extra`` (add yours with :func:`register_extension_setting`)."""

OTHER_ENVIRONMENT = frozenset({"KIOSK_CONFIG", "KIOSK_DATASETS", "KIOSK_BOOTH_SCREENSHOTS", "KIOSK_BROWSER_TESTS",
                               "KIOSK_PG_BIN", "KIOSK_POSTGRES_TESTS"})
"""``KIOSK_*`` environment variables that are not settings (tools, tests); ``KIOSK_KEY_*`` are keys."""


def register_extension_setting(name: str) -> None:
    """Let ``name`` through to ``Settings.extra`` (an unknown setting is otherwise refused)."""
    EXTENSION_SETTINGS.add(name)


def _refuse_unknown(name: str, where: str) -> None:
    """A misspelt setting silently keeps its default; refuse it and name the closest valid one."""
    import difflib

    valid = sorted(set(_FIELDS) | EXTENSION_SETTINGS)
    close = difflib.get_close_matches(name.lower(), valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else " (see kiosk/config.py for the settings)"
    raise ConfigError(f"unknown setting {name!r} in {where}{hint}")


def _check_environment(environ: Mapping[str, str]) -> None:
    for env_name in environ:
        if not env_name.startswith("KIOSK_") or env_name in OTHER_ENVIRONMENT or env_name.startswith("KIOSK_KEY_"):
            continue
        name = env_name[len("KIOSK_"):].lower()
        if name not in _FIELDS and name not in EXTENSION_SETTINGS:
            import difflib

            close = difflib.get_close_matches(name, sorted(_FIELDS), n=1, cutoff=0.6)
            hint = f"; did you mean KIOSK_{close[0].upper()}?" if close else ""
            raise ConfigError(f"unknown setting in the environment: {env_name}{hint}")


def _coerce(name: str, raw: Any) -> Any:
    default = getattr(Settings, name, None)
    target = type(default) if default is not None else str
    try:
        if target is bool:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, Path):
            return Path(raw)
        if target in (int, float, str):
            return target(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {target.__name__}") from exc
    return raw


def _validate(s: Settings) -> Settings:
    if s.mrz_strictness not in {"reject", "warn"}:
        raise ConfigError("mrz_strictness must be 'reject' or 'warn'")
    if s.identification_backend not in {"gallery", "national"}:
        raise ConfigError("identification_backend must be 'gallery' or 'national'")
    if s.liveness_check and not s.camera_stream_url:
        raise ConfigError("liveness_check needs camera_stream_url (the camera's MJPEG stream)")
    if not 1 <= s.liveness_deadline_seconds <= 60:
        raise ConfigError("liveness_deadline_seconds must be between 1 and 60")
    if not s.identification_deadline_seconds > 0:
        raise ConfigError("identification_deadline_seconds must be positive")
    if s.lamp_kind not in {"lcus", "numato"}:
        raise ConfigError("lamp_kind must be 'lcus' or 'numato'")
    if not 1 <= s.verification_rounds <= 3:
        raise ConfigError("verification_rounds must be between 1 and 3")
    if not 0 < s.target_fmr < 1 or not 0 < s.identification_fpir < 1:
        raise ConfigError("false match and false-positive identification rates must be between 0 and 1")
    if s.log_format not in {"json", "text"}:
        raise ConfigError("log_format must be 'json' or 'text'")
    if not 0 < s.port < 65536:
        raise ConfigError("port must be 1-65535")
    return s


def resolve_paths(s: Settings, cwd: str | os.PathLike | None = None) -> Settings:
    """The settings with every configured path made absolute against ``cwd`` (the working directory at
    start). A relative ``var`` would otherwise be resolved later by whatever code opens it (Flask's
    ``send_file`` resolves against the package folder), or differently after a ``chdir``."""
    base = Path(cwd or os.getcwd())
    changes: dict[str, Any] = {}
    for name in ("data_dir", "key_dir"):
        value = Path(getattr(s, name))
        if not value.is_absolute():
            changes[name] = base / value
    if s.face_calibration_file and not Path(s.face_calibration_file).is_absolute():
        changes["face_calibration_file"] = str(base / s.face_calibration_file)
    if s.database_url.startswith("sqlite:///") and not s.database_url.startswith("sqlite:////"):
        changes["database_url"] = f"sqlite:///{base / s.database_url[len('sqlite:///'):]}"
    return dataclasses.replace(s, **changes) if changes else s


def load(path: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build :class:`Settings` from defaults, an optional TOML file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    path = path or environ.get("KIOSK_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
        for key, value in data.items():
            if key not in _FIELDS and key not in EXTENSION_SETTINGS:
                _refuse_unknown(key, f"configuration file {path}")
            (values if key in _FIELDS else extra)[key] = value
    _check_environment(environ)
    for name in _FIELDS:
        env_name = f"KIOSK_{name.upper()}"
        if env_name in environ:
            values[name] = environ[env_name]
    for key, value in (overrides or {}).items():
        if key not in _FIELDS and key not in EXTENSION_SETTINGS:
            _refuse_unknown(key, "the overrides")
        (values if key in _FIELDS else extra)[key] = value
    coerced = {k: _coerce(k, v) for k, v in values.items()}
    return resolve_paths(_validate(Settings(**coerced, extra=extra)))
