"""The booth screen for polling officials: one page, plain HTML/CSS/JS, served by Flask.

The screen drives the kiosk's JSON API (``/api/...``) from the browser; this package only serves
the page, its static files (no asset comes from the internet, so the booth works offline) and the
message catalogues (English, Khmer). See docs/booth.md.
"""
from kiosk.booth.views import blueprint

__all__ = ["blueprint"]
