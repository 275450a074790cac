"""Tuning constants and kernel code reach the compiled matching kernels even when numba's on-disk cache
is warm.

numba invalidates a cached kernel only when the kernel's own source file changes, so a constant read
from ``parameters.py`` as a module global would be folded into the compiled code and stay stale after
``parameters.py`` is edited. The kernels therefore take every constant as an argument. For the same
reason a caller kept the old compiled body of an edited kernel in another file, so the kernels package
drops its compiled cache whenever any kernel source (or bits.py) changes.
"""
from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcher
from matcher.fingerprint import _kernels
from matcher.fingerprint._kernels import _drop_stale_compiled_kernels
from matcher.fingerprint import parameters as P
from matcher.fingerprint.cylinders import CYLINDER, direction_table, to_reference_axes
from matcher.fingerprint.template import make_minutiae

# Local similarities of cylinders stored in an .npz, with the CylinderParameters of the checkout the
# script runs from; prints a digest of the similarity matrix.
SCRIPT = """
import hashlib, sys
import numpy as np
from matcher.fingerprint._kernels import local_similarities
from matcher.fingerprint.cylinders import CYLINDER
c = np.load(sys.argv[1])
sim = local_similarities(c["bits"], c["mask"], c["valid"], c["bits"], c["mask"], c["valid"], CYLINDER)
print("digest", hashlib.sha256(sim.tobytes()).hexdigest())
"""


def digest(similarities: np.ndarray) -> str:
    return hashlib.sha256(similarities.tobytes()).hexdigest()


def run(checkout: Path, cache: Path, cylinders: Path) -> tuple[str, str]:
    # No .pyc files: an edit within the same second that keeps the file size would not refresh them.
    env = {**os.environ, "PYTHONPATH": str(checkout), "NUMBA_CACHE_DIR": str(cache), "NUMBA_DEBUG_CACHE": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    # Run inside the checkout: ``python -c`` puts the working directory first on sys.path.
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(cylinders)], env=env, cwd=checkout,
                          capture_output=True, text=True, timeout=600, check=True)
    return done.stdout.split("digest ")[-1].strip(), done.stdout


def test_an_edited_cylinder_parameter_reaches_the_kernel_through_a_warm_cache(tmp_path):
    # Cylinders with 5 direction bins instead of MCC_ND = 6, and what the kernel makes of them in-process.
    five = CYLINDER._replace(nd=5)
    rng = np.random.default_rng(5)
    xs, ys, ts = to_reference_axes(make_minutiae(rng.uniform(20, 280, 40), rng.uniform(20, 280, 40),
                                                 rng.uniform(0, 6.28, 40), 1, 60), 500)
    bits, mask, valid = _kernels.build_cylinders(xs, ys, ts, five, direction_table(5, P.MCC_SIGMA_D))
    expected = digest(_kernels.local_similarities(bits, mask, valid, bits, mask, valid, five))
    cylinders = tmp_path / "cylinders.npz"
    np.savez(cylinders, bits=bits, mask=mask, valid=valid)

    checkout = tmp_path / "checkout"
    shutil.copytree(Path(matcher.__file__).parent, checkout / "matcher", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "numba-cache"
    before, _ = run(checkout, cache, cylinders)           # compiles with MCC_ND = 6 and fills the cache
    parameters = checkout / "matcher" / "fingerprint" / "parameters.py"
    text, edits = re.subn(r"^MCC_ND = 6\b", "MCC_ND = 5", parameters.read_text(), flags=re.M)
    assert edits == 1
    parameters.write_text(text)
    after, log = run(checkout, cache, cylinders)

    assert "data loaded" in log and "data saved" not in log    # the kernel came from the warm cache
    assert after == expected != before


def test_kernel_modules_take_no_constant_from_the_parameters_module():
    classes = {"CylinderParameters", "ConsolidationParameters"}
    for source in Path(_kernels.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                assert not any("parameters" in alias.name for alias in node.names), source.name
            elif isinstance(node, ast.ImportFrom) and "parameters" in (node.module or ""):
                assert {alias.name for alias in node.names} <= classes, f"{source.name} imports parameter values"


def make_package(root):
    package = root / "_kernels"
    (package / "__pycache__").mkdir(parents=True)
    (package / "similarity.py").write_text("def kernel(): return 1\n")
    (root / "bits.py").write_text("def popcount(): pass\n")
    return package


def compiled_files(package):
    return sorted(p.name for p in (package / "__pycache__").iterdir() if p.suffix in (".nbi", ".nbc"))


def test_compiled_kernels_survive_while_the_sources_are_unchanged(tmp_path):
    package = make_package(tmp_path)
    _drop_stale_compiled_kernels(package)
    (package / "__pycache__" / "similarity.kernel-1.py311.nbi").write_bytes(b"index")
    (package / "__pycache__" / "similarity.kernel-1.py311.1.nbc").write_bytes(b"code")
    _drop_stale_compiled_kernels(package)
    assert compiled_files(package) == ["similarity.kernel-1.py311.1.nbc", "similarity.kernel-1.py311.nbi"]


@pytest.mark.parametrize("edited", ["_kernels/similarity.py", "bits.py"])
def test_an_edited_kernel_source_drops_every_compiled_kernel(tmp_path, edited):
    package = make_package(tmp_path)
    _drop_stale_compiled_kernels(package)
    (package / "__pycache__" / "batch.rerank-1.py311.nbi").write_bytes(b"index of a caller")
    (tmp_path / edited).write_text("def edited(): return 2\n")
    _drop_stale_compiled_kernels(package)
    assert compiled_files(package) == []


def test_an_unwritable_cache_is_left_alone(tmp_path):
    package = make_package(tmp_path)
    (package / "__pycache__").chmod(0o500)
    try:
        _drop_stale_compiled_kernels(package)     # no error: numba then compiles without its cache
    finally:
        (package / "__pycache__").chmod(0o700)
