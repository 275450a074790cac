"""Shared fixtures. Tests that need ../shared/datasets skip with a reason when it is absent."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kiosk.datasets import datasets_dir

# Property tests check behaviour, not speed: on a loaded 2-core CI machine Hypothesis's default
# 200 ms per-example deadline turns slowness into false failures.
settings.register_profile("kiosk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("kiosk")

TESTS_DATA = Path(__file__).parent / "data"

# Fixture plugins of their own areas (kept out of this shared file so parallel work merges cleanly).
pytest_plugins = ["pg_fixtures", "hardening_fixtures", "liveness_fixtures", "simulator_fixtures"]


@pytest.fixture(scope="session")
def datasets() -> Path:
    found = datasets_dir()
    if found is None:
        pytest.skip("../shared/datasets is absent (set KIOSK_DATASETS to use a copy)")
    return found


@pytest.fixture(scope="session")
def fvc2002(datasets):
    """Reader of FVC2002's B-set prints: ``fvc2002(db, finger, impression)`` is the greyscale image."""
    import cv2

    def read(db: str, finger: int, impression: int):
        path = datasets / "fingerprints" / "fvc2002" / db / f"1{finger:02d}_{impression}.tif"
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert image is not None, f"cannot read {path}"
        return image
    return read


@pytest.fixture(scope="session")
def tests_data() -> Path:
    return TESTS_DATA


@pytest.fixture(scope="session")
def prints(tests_data) -> dict:
    """Templates of the sample fingerprints in tests/data: a1/a2 two impressions of one finger
    (FVC2002 DB1 101), b1 another finger (DB1 102), c1 a finger of another sensor (DB2, 569 dpi)."""
    import cv2

    from matcher import fingerprint as fp

    def load(name, dpi=500):
        image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        return fp.extract(image, dpi=dpi)
    return {"a1": load("DB1_B_101_1"), "a2": load("DB1_B_101_2"), "b1": load("DB1_B_102_1"),
            "c1": load("DB2_B_101_1", 569)}


def pytest_sessionstart(session):
    """Compile the fingerprint engine's numba kernels once, before any test's own timeouts run.

    On a fresh clone numba has no cache yet and the first extraction/comparison compiles for about
    45 s on 2 cores; a browser test waiting 30 s for the finger step would fail for that alone. A
    broken engine is reported by tests/test_selftest.py, not here.
    """
    from kiosk.selftest import fingerprint_self_test

    try:
        fingerprint_self_test()
    except Exception:  # noqa: BLE001 - reported by the self-test's own test
        pass
