"""A deployment replaces the face calibration table through configuration."""
import numpy as np
import pytest

from kiosk.app import load_face_calibration
from kiosk.config import ConfigError
from matcher import face
from matcher.face.active import get_calibration, set_calibration
from matcher.face.calibration import build_table


def test_deployment_table_replaces_the_default(tmp_path):
    before = get_calibration()
    rng = np.random.default_rng(7)   # a population whose impostors sit closer than the default's
    strict = build_table(genuine=rng.normal(0.25, 0.05, 200), impostor=rng.normal(0.5, 0.06, 2000),
                              source="test-population")
    path = tmp_path / "face-calibration.json"
    path.write_text(strict.to_json())
    try:
        load_face_calibration(str(path))
        active = get_calibration()
        assert active.source == "test-population" and active.log10_fmr == strict.log10_fmr
        assert active.log10_fmr != before.log10_fmr
    finally:
        set_calibration(before)


def test_bad_table_stops_start_up_with_a_clear_error(tmp_path):
    path = tmp_path / "face-calibration.json"
    path.write_text('{"version": 9}')
    with pytest.raises(ConfigError, match="not a valid table"):
        load_face_calibration(str(path))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_face_calibration(str(tmp_path / "missing.json"))
