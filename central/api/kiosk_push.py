"""``POST /api/push``: a kiosk's audit entries, checkpoint and consistency proof (central.push)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from central.push import SIGNATURE_HEADER, PushRefused

blueprint = Blueprint("push", __name__)


@blueprint.post("/api/push")
def push():
    services = current_app.extensions["central"]
    body = request.get_data(cache=False)   # over MAX_CONTENT_LENGTH: 413 before anything is parsed
    try:
        result = services.ingest.push(body, request.headers.get(SIGNATURE_HEADER))
    except PushRefused as exc:
        return jsonify(exc.as_dict()), exc.status
    return jsonify(result), 200
