"""Flask application factory."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from kiosk import config as config_module
from kiosk.config import Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the kiosk API. ``config`` is a :class:`Settings`, a mapping of overrides, or None
    (defaults, then ``KIOSK_CONFIG`` file, then ``KIOSK_*`` environment variables)."""
    settings = config if isinstance(config, Settings) else config_module.load(overrides=config)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False

    @app.get("/health")
    def health():
        return jsonify(status="ok", kiosk_id=settings.kiosk_id, station_id=settings.station_id)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error={"code": code, "message": exc.description}), exc.code

    return app
