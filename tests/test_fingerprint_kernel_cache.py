"""numba checks a cached kernel only against its own file, so the kernels package drops its compiled
cache when any kernel source (or bits.py) changes: an edited kernel never runs as its old code."""
from __future__ import annotations

from matcher.fingerprint._kernels import _drop_stale_compiled_kernels


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


def test_an_edited_kernel_drops_every_compiled_kernel(tmp_path):
    package = make_package(tmp_path)
    _drop_stale_compiled_kernels(package)
    (package / "__pycache__" / "batch.rerank-1.py311.nbi").write_bytes(b"index of a caller")
    (package / "similarity.py").write_text("def kernel(): return 2\n")
    _drop_stale_compiled_kernels(package)
    assert compiled_files(package) == []


def test_an_edited_bits_module_drops_them_too(tmp_path):
    package = make_package(tmp_path)
    _drop_stale_compiled_kernels(package)
    (package / "__pycache__" / "batch.rerank-1.py311.nbi").write_bytes(b"index")
    (tmp_path / "bits.py").write_text("def popcount(): return 0\n")
    _drop_stale_compiled_kernels(package)
    assert compiled_files(package) == []


def test_an_unwritable_cache_is_left_alone(tmp_path):
    package = make_package(tmp_path)
    (package / "__pycache__").chmod(0o500)
    try:
        _drop_stale_compiled_kernels(package)     # no error: numba then compiles without its cache
    finally:
        (package / "__pycache__").chmod(0o700)
