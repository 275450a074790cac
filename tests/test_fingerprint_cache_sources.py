"""The bench's template cache is keyed by the source of every module the learned extractor runs, so an
edit to any of them (a segmentation constant in parameters.py, the foreground floor in quality.py)
cannot silently reuse templates extracted by the old code; and by the value of every learned constant
the preprocessing and quality read."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bench import _fingerprint_cache as cache
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L

PACKAGE = Path(fp.__file__).parent
# errors.py and iso.py (Template's codec) cannot change a template; learned_parameters.py keys the
# cache by its values instead.
CANNOT_CHANGE_A_TEMPLATE = {"errors.py", "iso.py", "learned_parameters.py"}


def _local_imports(name: str) -> set[str]:
    """File names of the package modules ``name`` imports (relative imports, one level)."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / name).read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0] + ".py")
            else:
                found.update(alias.name + ".py" for alias in node.names)
    return {f for f in found if (PACKAGE / f).is_file()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_local_imports(name))
    return seen


def test_every_module_the_learned_extractor_imports_keys_its_cache():
    keyed = cache._LEARNED_ONLY | cache._LEARNED_SHARED
    assert _reachable("learned.py") - CANNOT_CHANGE_A_TEMPLATE <= keyed


def learned_version_changes(monkeypatch, change) -> bool:
    """Whether the learned cache version differs once ``change(monkeypatch)`` is applied (undone after)."""
    cache.extraction_version.cache_clear()
    before = cache.extraction_version(True)
    change(monkeypatch)
    cache.extraction_version.cache_clear()
    try:
        return cache.extraction_version(True) != before
    finally:
        monkeypatch.undo()
        cache.extraction_version.cache_clear()


def test_an_edit_to_a_shared_constant_changes_the_learned_version(tmp_path, monkeypatch):
    copy = tmp_path / "fingerprint"
    copy.mkdir()
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        (copy / path.name).write_text(text + "\n# edited\n" if path.name == "parameters.py" else text)
    assert learned_version_changes(monkeypatch, lambda m: m.setattr(fp, "__file__", str(copy / "__init__.py")))


# The constants' values key it too: they change templates without changing the settings string
# (seam repair, strip alignment, denoising, equalisation and quality read them).
PREPROCESSING = ("seam_repair.py", "strip_alignment.py", "denoising.py", "equalisation.py")
QUALITY = ("GOOD_AREA_MM2", "GOOD_MINUTIAE", "GOOD_CONFIDENCE")


def read_constants() -> list[str]:
    names = {name for module in PREPROCESSING
             for name in re.findall(r"\bL\.([A-Z][A-Z0-9_]*)", (PACKAGE / module).read_text())}
    return sorted(names | set(QUALITY))


def test_the_preprocessing_reads_constants_from_the_learned_parameters():
    assert {"STRIP_MIN_GAIN", "STRIP_MAX_SHIFT", "SEAM_MIN_STEP", "EQUALISE_SIGMA"} <= set(read_constants())


@pytest.mark.parametrize("name", read_constants())
def test_changing_a_preprocessing_constant_changes_the_learned_cache_version(name, monkeypatch):
    value = getattr(L, name)
    changed = (not value) if isinstance(value, bool) else value + 1
    assert learned_version_changes(monkeypatch, lambda m: m.setattr(L, name, changed))


# fp.extract's second look (thickening.py) keeps one of two learned templates: the caches of the kept
# template are keyed by its source and constants as well.
def test_every_module_the_second_look_imports_keys_the_cache():
    keyed = cache._LEARNED_ONLY | cache._LEARNED_SHARED | cache._SECOND_LOOK
    assert _reachable("thickening.py") - CANNOT_CHANGE_A_TEMPLATE <= keyed


def second_look_names() -> list[str]:
    return sorted(set(re.findall(r"\bL\.(THICKEN[A-Z0-9_]*)", (PACKAGE / "thickening.py").read_text())))


@pytest.mark.parametrize("name", second_look_names())
def test_changing_a_second_look_constant_changes_the_shipped_cache_key(name, monkeypatch):
    from bench.fingerprint import cache_key

    value = getattr(L, name)
    before = cache_key("learned")
    monkeypatch.setattr(L, name, (not value) if isinstance(value, bool) else value + 1)
    cache.second_look_version.cache_clear()
    try:
        assert cache_key("learned") != before
    finally:
        monkeypatch.undo()
        cache.second_look_version.cache_clear()

