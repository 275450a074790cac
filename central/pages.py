"""HTML pages for commission officials: the same reports as the JSON API, rendered on the server."""
from __future__ import annotations

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for

from central.auth import COOKIE, requires, sign_in
from central.reports import report

blueprint = Blueprint("pages", __name__, template_folder="templates")


def _services():
    return current_app.extensions["central"]


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        services = _services()
        token = sign_in(services.store, request.form.get("username", ""), request.form.get("password", ""),
                        services.settings.token_ttl_seconds)
        if token is not None:
            target = request.args.get("next", "/")
            response = make_response(redirect(target if target.startswith("/") and not target.startswith("//")
                                              else "/"))
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                                max_age=services.settings.token_ttl_seconds)
            return response
        error = "Unknown user or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


def _page(name: str, template: str):
    services = _services()
    try:
        minutes = max(1, int(request.args.get("minutes", services.settings.silent_minutes)))
    except ValueError:
        minutes = services.settings.silent_minutes
    data = report(services.store, name, now=services.clock(), minutes=minutes)
    return render_template(template, data=data, official=g.official, now=services.clock(), page=name)


@blueprint.get("/")
@requires("monitor", page=True)
def overview():
    services = _services()
    alerts = report(services.store, "alerts", now=services.clock(), minutes=1)
    return render_template("overview.html", counts=services.store.counts(), alerts=alerts, official=g.official,
                           now=services.clock(), page="overview",
                           kiosks=report(services.store, "kiosks", now=services.clock(), minutes=1)["kiosks"])


@blueprint.get("/turnout")
@requires("monitor", page=True)
def turnout():
    return _page("turnout", "turnout.html")


@blueprint.get("/refusals")
@requires("monitor", page=True)
def refusals():
    return _page("refusals", "refusals.html")


@blueprint.get("/silent")
@requires("monitor", page=True)
def silent():
    return _page("silent", "silent.html")


@blueprint.get("/alerts")
@requires("monitor", page=True)
def alerts():
    return _page("alerts", "alerts.html")


@blueprint.post("/logout")
def logout():
    response = make_response(redirect(url_for("pages.login")))
    response.delete_cookie(COOKIE)
    return response
