"""Every error the API returns, as ``{"error": {"code", "message"}}`` with a stable code.

Messages come from the typed errors, which never carry ID numbers, templates or images; an
unexpected exception is logged (redacted) and answered with a generic ``internal_error``.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("kiosk.api")


class ApiError(Exception):
    """An error raised by a handler: HTTP status, stable code, message for the official."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


def register(app: Flask) -> None:
    from kiosk.auth import AuthError, TooManyAttempts
    from kiosk.events import AuditUnavailable
    from kiosk.registry import RegistryError
    from kiosk.workflow import DeviceFailed, WorkflowError

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(TooManyAttempts)
    def too_many(exc: TooManyAttempts):
        response, status = error_response(429, exc.code, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(AuthError)
    def auth_error(exc: AuthError):
        response, status = error_response(exc.status, exc.code, str(exc))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kiosk"'
        return response, status

    @app.errorhandler(DeviceFailed)
    def device_failed(exc: DeviceFailed):
        return error_response(exc.status, exc.code, str(exc), device=exc.device, device_error=exc.device_code)

    @app.errorhandler(WorkflowError)
    def workflow_error(exc: WorkflowError):
        return error_response(exc.status, exc.code, str(exc))

    @app.errorhandler(RegistryError)
    def registry_error(exc: RegistryError):
        status = {"voter_not_found": 404, "registry_unavailable": 503}.get(exc.code, 409)
        return error_response(status, exc.code, str(exc))

    @app.errorhandler(AuditUnavailable)
    def audit_unavailable(exc: AuditUnavailable):
        log.error("audit log unavailable", extra={"error": type(exc.__cause__).__name__})
        return error_response(503, exc.code, "the audit log cannot record events; the booth must stop")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_response(exc.code or 500, code, exc.description or exc.name)
        for name, value in exc.get_headers():   # e.g. 405's Allow, which HTTP requires
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error in a request")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
