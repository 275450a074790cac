"""Shared fixtures. Tests that need ../shared/datasets skip with a reason when it is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.datasets import datasets_dir

TESTS_DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def datasets() -> Path:
    found = datasets_dir()
    if found is None:
        pytest.skip("../shared/datasets is absent (set KIOSK_DATASETS to use a copy)")
    return found


@pytest.fixture(scope="session")
def tests_data() -> Path:
    return TESTS_DATA
