"""The bench's template cache is keyed by the source of every module the learned extractor runs, so an
edit to any of them (a segmentation constant in parameters.py, the foreground floor in quality.py)
cannot silently reuse templates extracted by the old code."""
from __future__ import annotations

import ast
from pathlib import Path

from bench import _fingerprint_cache as cache
from matcher import fingerprint as fp

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


def test_an_edit_to_a_shared_constant_changes_the_learned_version(tmp_path, monkeypatch):
    before = cache.extraction_version(True)
    copy = tmp_path / "fingerprint"
    copy.mkdir()
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        (copy / path.name).write_text(text + "\n# edited\n" if path.name == "parameters.py" else text)
    monkeypatch.setattr(fp, "__file__", str(copy / "__init__.py"))
    cache.extraction_version.cache_clear()
    try:
        assert cache.extraction_version(True) != before
    finally:
        monkeypatch.undo()
        cache.extraction_version.cache_clear()
