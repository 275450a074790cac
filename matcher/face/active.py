"""The process-wide calibration table (default: :mod:`matcher.face.default_calibration`), swappable per deployment."""
from __future__ import annotations

import threading

from matcher.face import default_calibration
from matcher.face.calibration import CalibrationTable
from matcher.face.errors import CalibrationError

DEFAULT_CALIBRATION = default_calibration.TABLE
_lock = threading.Lock()
_active: CalibrationTable = DEFAULT_CALIBRATION


def set_calibration(table: CalibrationTable) -> CalibrationTable:
    """Make ``table`` the process-wide calibration (e.g. the deployment's own); returns the previous one."""
    global _active
    if not isinstance(table, CalibrationTable):
        raise CalibrationError("set_calibration needs a CalibrationTable")
    with _lock:
        previous, _active = _active, table
    return previous


def get_calibration() -> CalibrationTable:
    return _active
