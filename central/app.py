"""Flask application factory for the commission server (blueprints by area: push, auth, reports, pages)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask import Flask, jsonify

from central.config import CentralSettings, load
from central.ingest import Ingest, utc_now
from central.store import Store


@dataclass
class Services:
    settings: CentralSettings
    store: Store
    ingest: Ingest
    clock: Callable[[], str]

    def close(self) -> None:
        self.store.close()


def create_app(config: CentralSettings | Mapping[str, Any] | None = None, *,
               clock: Callable[[], str] = utc_now) -> Flask:
    settings = config if isinstance(config, CentralSettings) else load(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_push_bytes
    app.json.sort_keys = False
    store = Store.open(settings.database_url)
    app.extensions["central"] = Services(settings, store, Ingest(store, clock), clock)

    @app.get("/health")
    def health():
        return jsonify(status="ok", service="central")

    @app.errorhandler(413)
    def too_large(exc):
        return jsonify(error="too_large", message=f"the body is larger than {settings.max_push_bytes} bytes; "
                       "send fewer entries per push"), 413

    from central.api import auth, kiosk_push, reports
    from central import pages

    app.register_blueprint(kiosk_push.blueprint)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(reports.blueprint)
    app.register_blueprint(pages.blueprint)
    from central import audit_report

    app.register_blueprint(audit_report.blueprint)
    from central import cases

    app.register_blueprint(cases.blueprint(settings), url_prefix=cases.URL_PREFIX)
    return app
