"""The bench's learned template cache is keyed by the value of every constant the learned path's
preprocessing and quality read (they change templates without changing the settings string): a changed
constant must not silently reuse templates extracted under the old value."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import _fingerprint_cache as cache
from matcher.fingerprint import learned_parameters as L

PREPROCESSING = ("seam_repair.py", "strip_alignment.py", "equalisation.py")
QUALITY = ("GOOD_AREA_MM2", "GOOD_MINUTIAE", "GOOD_CONFIDENCE")


def read_constants() -> list[str]:
    folder = Path(L.__file__).parent
    names = {name for module in PREPROCESSING for name in re.findall(r"\bL\.([A-Z][A-Z0-9_]*)", (folder / module).read_text())}
    return sorted(names | set(QUALITY))


def test_the_preprocessing_reads_constants_from_the_learned_parameters():
    assert {"STRIP_MIN_GAIN", "STRIP_MAX_SHIFT", "SEAM_MIN_STEP", "EQUALISE_SIGMA"} <= set(read_constants())


@pytest.mark.parametrize("name", read_constants())
def test_changing_a_preprocessing_constant_changes_the_learned_cache_version(name, monkeypatch):
    cache.extraction_version.cache_clear()
    before = cache.extraction_version(True)
    value = getattr(L, name)
    monkeypatch.setattr(L, name, (not value) if isinstance(value, bool) else value + 1)
    cache.extraction_version.cache_clear()
    try:
        assert cache.extraction_version(True) != before
    finally:
        monkeypatch.undo()
        cache.extraction_version.cache_clear()
