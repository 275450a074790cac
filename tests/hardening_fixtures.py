"""Fixtures of the hardening tests (issue 18): one demo registry per test session, copied per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hardening_demo(tmp_path_factory) -> Path:
    """A demo registry (packaged images) with the officials of tests/test_e2e.py; copy before changing it."""
    from kiosk import config
    from kiosk.cli import prepare_demo
    from test_e2e import PASSWORDS

    root = tmp_path_factory.mktemp("hardening-demo")
    settings = config.load(overrides={"data_dir": root, "key_dir": root / "keys", "create_keys": True}, environ={})
    prepare_demo(settings, source="packaged", passwords=PASSWORDS)
    return root


@pytest.fixture
def demo_copy(hardening_demo, tmp_path) -> Path:
    """A private copy of the demo data directory (registry, keys, voters file)."""
    data = tmp_path / "data"
    shutil.copytree(hardening_demo, data)
    return data
