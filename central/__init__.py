"""The commission server: kiosks push their signed audit logs, the server verifies every entry,
watches for forks (a Certificate Transparency monitor, for kiosks) and for voters who voted twice,
and shows officials turnout, refusals, silent kiosks and alerts.

    central serve                    # Flask app under waitress on 127.0.0.1:8090 (CENTRAL_* settings)
    central add-official NAME --role monitor|admin
    central enrol-kiosk KIOSK_ID STATION_ID VKEY
    central demo                     # a simulated election: 20 kiosk processes over 5 stations

``central`` uses ``kiosk.audit`` (its Merkle, signed-note and event rules) and nothing imports
``central``. See docs/commission.md and docs/threat-model.md.
"""
from central.app import create_app

__all__ = ["create_app"]
