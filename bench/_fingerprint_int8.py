"""int8 copies of the LEADER network for the variants' curve, calibrated without the held-out database.

Static quantisation (onnxruntime.quantization, QOperator format: QLinearConv with per-channel int8
weights and uint8 activations; only the convolutions, which are half the run) needs calibration
images. To keep the curve held-out, each database gets its own model, calibrated on crops of the
OTHER three databases' prints (impressions 1-2 of fingers 1-4, at internal resolutions 0.8, 0.9 and
1.0): a database's int8 templates never come from a model that saw its images. (QDQ format failed
on this graph's depthwise convolutions: no valid bias scale; QOperator runs the same int8 kernels.)

Build-time only: needs the ``onnx`` package (the ``tools`` extra), never the kiosk. The models are
cached beside the template cache, keyed by the fused fp32 graph's digest.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from bench import _fingerprint_cache as cache
from matcher.fingerprint import leader_model
from matcher.fingerprint import learned_parameters as L
from matcher.fingerprint import parameters as P
from matcher.fingerprint.equalisation import equalise
from matcher.fingerprint.learned import _crop_box, network_input
from matcher.fingerprint.segmentation import segment

CALIBRATION_FINGERS = (1, 2, 3, 4)
CALIBRATION_IMPRESSIONS = (1, 2)
CALIBRATION_SCALES = (0.8, 0.9, 1.0)


def available() -> Optional[str]:
    """None when int8 models can be built, else why not."""
    try:
        import onnx  # noqa: F401
        from onnxruntime.quantization import quantize_static  # noqa: F401
    except ImportError as exc:
        return f"int8 variants skipped: {exc} (install the 'tools' extra: onnx)"
    return None


def calibration_inputs(databases: dict, dpis: dict, dbs) -> list[np.ndarray]:
    """Network inputs (1, H, W, 1) of the calibration prints of ``dbs``, cropped as extraction does."""
    out = []
    for db in dbs:
        dpi = float(dpis[db])
        for f in CALIBRATION_FINGERS:
            for k in CALIBRATION_IMPRESSIONS:
                image = databases[db][f, k]
                x0, y0, x1, y1 = _crop_box(segment(image, dpi), P.at_dpi(L.CROP_MARGIN, dpi))
                for scale in CALIBRATION_SCALES:
                    region = equalise(image[y0:y1, x0:x1], dpi)      # as extraction feeds the network
                    net_in, _, _ = network_input(region, L.NETWORK_DPI * scale / dpi)
                    out.append(net_in[None, :, :, None])
    return out


def fold_model(held_out: str, databases: dict, dpis: dict) -> Path:
    """Path of the int8 model calibrated on every database but ``held_out`` (built once, cached)."""
    fp32 = leader_model.model_bytes(fused=True)
    others = sorted(db for db in dpis if db != held_out)
    digest = hashlib.sha1(fp32 + "|".join(others).encode() + f"|equalise {L.EQUALISE_SIGMA}".encode()).hexdigest()[:12]
    path = cache.cache_root() / "int8" / f"leader-int8-{digest}-without-{held_out}.onnx"
    if path.exists():
        return path
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    feeds = iter([{"input": x} for x in calibration_inputs(databases, dpis, others)])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(feeds, None)

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fused.onnx"
        source.write_bytes(fp32)
        target = Path(tmp) / "int8.onnx"
        quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QOperator,
                        op_types_to_quantize=["Conv"], per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
        shutil.move(str(target), str(path))
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]
