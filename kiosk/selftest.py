"""Engine self-test at boot: match known sample prints and faces before the first voter arrives.

It proves the engines give sane answers on this machine (a genuine pair scores above the booth
threshold and above an impostor pair), and it pays the one-time costs up front: numba compiles the
fingerprint kernels on first use (about 45 s on a cold cache on 2 cores, cached on disk after), and
dlib loads its models. Without it the first voter of the day would wait for both.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "demo_data"


def _gray(name: str):
    import cv2

    return cv2.imread(str(PACKAGED / name), cv2.IMREAD_GRAYSCALE)


def _rgb(name: str):
    import cv2

    return cv2.cvtColor(cv2.imread(str(PACKAGED / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def fingerprint_self_test() -> str:
    from matcher import fingerprint

    enrolled = fingerprint.extract(_gray("finger1_1.png"), dpi=500)
    genuine = fingerprint.compare(fingerprint.extract(_gray("finger1_3.png"), dpi=500), enrolled)
    impostor = fingerprint.compare(fingerprint.extract(_gray("finger2_3.png"), dpi=500), enrolled)
    hits = fingerprint.Gallery([enrolled]).search(enrolled, top_k=1)
    ok = genuine >= fingerprint.threshold_for_fmr(1e-4) > impostor and hits and hits[0][0] == 0
    return "ok" if ok else "wrong_scores"


def face_self_test() -> str:
    from matcher import face

    enrolled = face.encode(_rgb("face1_enrol.jpg"))
    genuine = face.compare(face.encode(_rgb("face1_probe.jpg")), enrolled)
    impostor = face.compare(face.encode(_rgb("face2_probe.jpg")), enrolled)
    return "ok" if genuine >= face.threshold_for_fmr(1e-4) > impostor else "wrong_scores"


@functools.cache
def engine_self_test() -> dict:
    """``{"fingerprint": "ok"|reason, "face": "ok"|reason, "milliseconds": n}``; runs once per process."""
    started = time.perf_counter()
    result = {}
    for name, test in (("fingerprint", fingerprint_self_test), ("face", face_self_test)):
        try:
            result[name] = test()
        except Exception as exc:  # a broken engine must be reported at boot, not crash it
            result[name] = f"error:{type(exc).__name__}"
    result["milliseconds"] = int((time.perf_counter() - started) * 1000)
    return result
