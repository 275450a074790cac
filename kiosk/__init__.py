"""Kiosk service: registry, booth workflow, audit log, Flask API and booth screen."""
from kiosk.app import create_app

__all__ = ["create_app"]
