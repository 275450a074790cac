"""Routes of the booth screen: the page, its catalogues and a redirect from ``/``.

The page gets a small configuration object (languages, reason codes, photo policy) rendered into
it, so the screen needs no extra request before it can show the sign-in panel.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, url_for

from kiosk.booth import catalogue
from kiosk.workflow import FACE_ONLY_REASONS, INK_ON_RECORD_REASONS, LIVENESS_REASONS, NO_CARD_REASONS

blueprint = Blueprint("booth", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/booth/static")


def _show_photo() -> bool:
    # Policy default is off: the voter's photo is shown only when the deployment opts in.
    settings = current_app.config.get("SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    return bool(extra.get("booth_show_photo", False))


@blueprint.get("/")
def root():
    return redirect(url_for("booth.screen"))


@blueprint.get("/booth/")
def screen():
    config = {
        "languages": list(catalogue.LANGUAGES),
        "default_language": catalogue.DEFAULT_LANGUAGE,
        "messages_url": url_for("booth.messages", language="LANG"),
        "face_only_reasons": list(FACE_ONLY_REASONS),
        "no_card_reasons": list(NO_CARD_REASONS),
        "ink_on_record_reasons": list(INK_ON_RECORD_REASONS),
        "liveness_reasons": list(LIVENESS_REASONS),
        "show_photo": _show_photo(),
    }
    english = catalogue.load(catalogue.DEFAULT_LANGUAGE)
    return render_template("booth.html", config=config, t=english)


@blueprint.get("/booth/messages/<language>.json")
def messages(language: str):
    if language not in catalogue.LANGUAGES:
        abort(404, description=f"no message catalogue for language {language!r}")
    response = jsonify(catalogue.load(language))
    response.headers["Cache-Control"] = "no-cache"
    return response
