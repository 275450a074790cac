"""On-disk cache of extracted templates for the fingerprint benchmarks, so reruns are fast.

Key: SHA-1 of the image bytes, its resolution, the extractor's settings and a version digest of the
extraction source files (any edit to them invalidates the cache). Directory: ``$KIOSK_BENCH_CACHE``
or ``~/.cache/kiosk-bench/fingerprint``. A refused image is cached as a refusal.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from matcher import fingerprint as fp
from matcher.fingerprint.template import Template

# Files whose edits cannot change an extracted template (matching, search, calibration, codecs).
_NOT_EXTRACTION = {"comparison.py", "cylinders.py", "gallery.py", "index.py", "calibration.py", "iso.py", "views.py",
                   "bits.py", "__init__.py", "extraction.py"}
# The learned path's own files, and the classical files it uses (segmentation, input checks and the
# foreground floor, the shared constants). Its constants (learned_parameters.py) are part of every
# learned cache key instead (settings). errors.py cannot change a template.
_LEARNED_ONLY = {"learned.py", "leader_model.py", "leader_graph.py", "leader_layout.py", "onnx_proto.py",
                 "equalisation.py", "seam_repair.py", "strip_alignment.py", "denoising.py"}
_LEARNED_SHARED = {"segmentation.py", "template.py", "quality.py", "parameters.py"}
# fp.extract's second look keeps one of two learned templates (each keyed as above); which one is keyed
# by second_look_version, in the settings of the caches that store the kept template.
_SECOND_LOOK = {"thickening.py"}


def score(a: Optional[Template], b: Optional[Template]) -> float:
    """Raw score of two templates as :func:`cached` returns them: a refused image (None) matches
    nothing, as FVC counts failures to enrol as rejections."""
    return -1.0 if a is None or b is None else fp.compare_raw(a, b)


def cache_root() -> Path:
    return Path(os.environ.get("KIOSK_BENCH_CACHE", Path.home() / ".cache" / "kiosk-bench" / "fingerprint"))


@lru_cache(maxsize=2)
def extraction_version(learned: bool) -> str:
    """Digest of the source files that can change this path's templates."""
    digest = hashlib.sha1()
    for path in sorted(Path(fp.__file__).parent.glob("*.py")):
        wanted = (path.name in _LEARNED_ONLY | _LEARNED_SHARED if learned
                  else path.name not in _NOT_EXTRACTION | _LEARNED_ONLY | _SECOND_LOOK | {"learned_parameters.py"})
        if wanted:
            digest.update(path.name.encode() + path.read_bytes())
    if learned:     # the preprocessing and quality constants change every learned template (not only its keys)
        from matcher.fingerprint import learned_parameters as L

        digest.update(repr((L.SEAM_REPAIR, L.SEAM_MIN_STEP, L.SEAM_SATURATED, L.SEAM_MIN_SHARE, L.EQUALISE_SIGMA,
                            L.EQUALISE_GAIN, L.EQUALISE_MIN_SPREAD, L.GOOD_AREA_MM2, L.GOOD_MINUTIAE,
                            L.GOOD_CONFIDENCE, L.STRIP_ALIGNMENT, L.STRIP_MAX_SHIFT, L.STRIP_MIN_GAIN,
                            L.DENOISE_MIN_NOISE, L.DENOISE_PATCH, L.DENOISE_SEARCH, L.DENOISE_STRENGTH)).encode())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def second_look_version() -> str:
    """Digest of what makes fp.extract's second look (thickening.py, whose passes are learned
    templates keyed as above) keep one pass or the other: its source and constants."""
    from matcher.fingerprint import learned_parameters as L

    digest = hashlib.sha1((Path(fp.__file__).parent / "thickening.py").read_bytes())
    digest.update(repr((L.THICKENING, L.THICKEN_RADIUS, L.THICKEN_BELOW)).encode())
    return digest.hexdigest()[:12]


def _key(image: np.ndarray, dpi: float, settings: str) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(image).tobytes())
    version = extraction_version(settings.startswith("learned"))
    digest.update(f"{image.shape}|{float(dpi):.3f}|{settings}|{version}".encode())
    return digest.hexdigest()


def cached(image: np.ndarray, dpi: float, settings: str,
           extract: Callable[[np.ndarray, float], Template]) -> tuple[Optional[Template], bool]:
    """(template or None when refused, whether it was computed now)."""
    key = _key(image, dpi, settings)
    path = cache_root() / key[:2] / f"{key}.npz"
    if path.exists():
        with np.load(path) as data:
            if int(data["refused"]):
                return None, False
            w, h, q = (int(v) for v in data["meta"])
            return Template(data["minutiae"], w, h, float(data["dpi"]), q), False
    try:
        template = extract(image, dpi)
    except fp.LowQualityError:
        template = None
    path.parent.mkdir(parents=True, exist_ok=True)
    # One temporary file per process: two bench runs writing the same key must not replace each other's.
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    if template is None:
        np.savez(tmp, refused=1)
    else:
        np.savez(tmp, refused=0, minutiae=template.minutiae, dpi=template.dpi,
                 meta=np.array([template.width, template.height, template.quality]))
    os.replace(tmp, path)
    return template, True


def cached_number(image: np.ndarray, settings: str, compute: Callable[[np.ndarray], float]) -> float:
    """A number computed from an image (e.g. a quality score), cached like templates."""
    digest = hashlib.sha1(np.ascontiguousarray(image).tobytes())
    digest.update(f"{image.shape}|{settings}".encode())
    key = digest.hexdigest()
    path = cache_root() / key[:2] / f"{key}.number.npy"
    if path.exists():
        return float(np.load(path))
    value = float(compute(image))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, np.float64(value))
    os.replace(tmp, path)
    return value
