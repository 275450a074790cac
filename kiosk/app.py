"""Flask application factory: wires the registry, audit log, devices, workflow and API together."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Flask, jsonify

from kiosk import config as config_module
from kiosk.config import Settings


MAX_REQUEST_BYTES = 64 * 1024
"""The largest request body the API reads: every request is a few small JSON fields."""


@dataclass
class Services:
    """Everything a request handler needs; one per application."""

    settings: Settings
    registry: Any
    recorder: Any
    auth: Any
    devices: Any
    workflow: Any
    sync: Any = None
    """kiosk.sync.service.SyncService when ``commission_url`` is set, else None."""
    closed: bool = False
    engines: dict = field(default_factory=dict)   # boot self-test: {"fingerprint": "ok"|reason, "face": ...}

    def failed_parts(self) -> list[str]:
        """What does not work now: engines that failed their boot self-test, devices in fault."""
        engines = [f"{name}_engine" for name in ("fingerprint", "face")
                   if self.engines.get(name, "ok") != "ok"]
        status = self.devices.status() if hasattr(self.devices, "status") else {}
        return engines + [name for name, d in status.items() if d.get("status") == "fault"]

    def close(self) -> None:
        """Close the devices and the audit log (a final signed checkpoint); safe to call twice."""
        from kiosk import events

        if self.closed:
            return
        self.closed = True
        if self.sync is not None:
            self.sync.stop()
        self.devices.close()
        close_identifier = getattr(getattr(self.workflow, "identifier", None), "close", None)
        if close_identifier is not None:
            close_identifier()
        if events.current_or_none() is self.recorder:
            events.install(None)
        self.recorder.record("shutdown", summary=self.registry.summary(self.settings.station_id,
                                                                                kiosk_id=self.settings.kiosk_id))
        self.recorder.close()
        self.registry.close()


def load_face_calibration(path: str) -> None:
    """Make the deployment's face calibration table the one the engine uses; a bad file stops start-up."""
    from matcher.face.active import set_calibration
    from matcher.face.calibration import CalibrationTable

    try:
        with open(path, encoding="utf-8") as fh:
            table = CalibrationTable.from_json(fh.read())
    except OSError as exc:
        raise config_module.ConfigError(f"face calibration file cannot be read: {path}") from exc
    except ValueError as exc:
        raise config_module.ConfigError(f"face calibration file {path} is not a valid table: {exc}") from exc
    set_calibration(table)


def build_services(settings: Settings, *, devices=None, biometrics=None,
                   clock: Callable[[], float] = time.monotonic,
                   locate_device: Callable[[str], str | None] | None = None,
                   self_test: Callable[[], dict] | None = None,
                   show_instruction: Callable[[str, str | None], None] | None = None) -> Services:
    """Open the registry and the audit log, create the workflow. ``devices`` and ``biometrics``
    replace the real ones (tests without hardware); ``clock`` drives token expiry and sessions.
    ``show_instruction(session_id, instruction)`` hears each liveness cue the booth screen shows (the
    simulated voter of ``kiosk demo`` and the tests; a real voter reads the screen).
    ``self_test`` replaces the engines' boot self-test (which runs when the real devices are used)."""
    from kiosk import events, keys
    from kiosk.audit import AuditLog, default_origin
    from kiosk.auth import Authenticator
    from kiosk.devices import DeviceSet
    from kiosk.registry import Registry
    from kiosk.selftest import engine_self_test

    if settings.face_calibration_file:
        load_face_calibration(settings.face_calibration_file)
    from kiosk.workflow import Rules, Workflow

    registry = Registry.open(settings, create_keys=settings.create_keys)
    audit_key = keys.signing_key(settings.key_dir, create=settings.create_keys)
    log = AuditLog.open(Path(settings.data_dir) / "audit", audit_key,
                        default_origin(settings.kiosk_id, settings.station_id),
                        kiosk_id=settings.kiosk_id, station_id=settings.station_id)
    from kiosk.pseudonyms import PseudonymSource

    recorder = events.EventRecorder(log, PseudonymSource(registry.pseudonym_of))
    events.install(recorder)
    recorder.record("boot", reason="service_start")
    from kiosk.recovery import recover_unlogged_votes

    recover_unlogged_votes(registry, log.snapshot()[0], recorder.record, settings.kiosk_id)
    if devices is None:
        def lamp_switched(lit: bool, session: str | None = None) -> None:
            recorder.record("lamp_on" if lit else "lamp_off", session=session)

        devices = DeviceSet.from_settings(settings, on_lamp=lamp_switched, locate=locate_device)
        devices.open_all()
        self_test = self_test or engine_self_test
    engines: dict = {}
    if self_test is not None:
        status = devices.status() if hasattr(devices, "status") else {}
        engines = self_test()
        healthy = all(d["status"] in ("ready", "not_configured") for d in status.values()) \
            and engines["fingerprint"] == engines["face"] == "ok"
        recorder.record("self_test", outcome="ok" if healthy else "fault",
                        devices={name: d["status"] for name, d in status.items()},
                        engines={"fingerprint": engines["fingerprint"], "face": engines["face"]})
    auth = Authenticator(registry, recorder.record, ttl_s=settings.token_ttl_seconds,
                         max_failures=settings.max_failed_signins, window_s=settings.signin_window_seconds,
                         clock=clock, lookup_limit=settings.lookup_limit,
                         lookup_window_s=settings.lookup_window_seconds)
    identifier = None
    if settings.identification_backend == "national":
        from kiosk.workflow.national_identifier import ShardedIdentifier

        identifier = ShardedIdentifier(registry, scheduler=settings.national_scheduler or None,
                                       deadline_s=settings.identification_deadline_seconds, clock=clock)
    workflow = Workflow(registry=registry, devices=devices, rules=Rules.from_settings(settings),
                        record=recorder.record, pseudonym=recorder.pseudonym, biometrics=biometrics,
                        clock=clock, idle_s=settings.session_idle_seconds, identifier=identifier,
                        show_instruction=show_instruction)
    sync = None
    if settings.commission_url:
        from kiosk.sync.service import SyncService

        sync = SyncService.for_log(settings, log, audit_key).start()
    return Services(settings, registry, recorder, auth, devices, workflow, sync, engines=engines)


def create_app(config: Settings | Mapping[str, Any] | None = None, *, devices=None, biometrics=None,
               clock: Callable[[], float] = time.monotonic,
               locate_device: Callable[[str], str | None] | None = None,
               self_test: Callable[[], dict] | None = None,
               show_instruction: Callable[[str, str | None], None] | None = None) -> Flask:
    """Build the kiosk API. ``config`` is a :class:`Settings`, a mapping of overrides, or None
    (defaults, then ``KIOSK_CONFIG`` file, then ``KIOSK_*`` environment variables).

    ``app.extensions["kiosk"]`` holds the :class:`Services`; call its ``close()`` on shutdown.
    ``locate_device(name)`` says where a serial device is now (``kiosk demo``: the simulator's path,
    which changes when a device is unplugged and comes back)."""
    from kiosk.api import register_api

    settings = config_module.resolve_paths(config if isinstance(config, Settings)
                                           else config_module.load(overrides=config))
    from kiosk import logs

    logs.ensure_configured(settings.log_level, settings.log_format)   # redaction also outside the CLI
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES   # larger bodies answer 413 before being read
    app.json.sort_keys = False
    services = build_services(settings, devices=devices, biometrics=biometrics, clock=clock,
                              locate_device=locate_device, self_test=self_test, show_instruction=show_instruction)
    app.extensions["kiosk"] = services

    @app.get("/health")
    def health():
        """``ok``, or ``degraded`` with what is wrong: the registry database cannot be reached (503: no
        vote can be marked until it returns; the kiosk reconnects by itself), or an engine failed its
        boot self-test or a device is faulty (``failed``; the steps needing it are refused)."""
        from kiosk.registry import RegistryUnavailable

        try:
            services.registry.ping(timeout=1.0)
            registry_state = "ok"
        except RegistryUnavailable:
            registry_state = "unavailable"
        failed = services.failed_parts()
        status = "ok" if registry_state == "ok" and not failed else "degraded"
        return jsonify(status=status, kiosk_id=settings.kiosk_id, station_id=settings.station_id,
                       registry=registry_state, registry_backend=services.registry.backend, failed=failed), \
            200 if registry_state == "ok" else 503

    register_api(app)
    from kiosk.booth import blueprint as booth_screen  # the officials' booth screen at /booth/
    app.register_blueprint(booth_screen)
    return app
