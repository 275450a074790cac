"""JSON API blueprints: ``kiosk_push`` (kiosks), ``auth`` (officials sign in), ``reports``."""
