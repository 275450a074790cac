"""Constants of the learned (LEADER) minutiae extractor, kept apart from the classical engine's.

Each value chosen on data was chosen by leave-one-database-out on FVC2002 (pick on three databases,
report the fourth, rotate); ``python -m bench fingerprint --variants`` prints the curve they came from.
"""
from __future__ import annotations

# --- the network -------------------------------------------------------------------------
NETWORK_DPI = 500.0                # LEADER was trained on 500 dpi prints
SIZE_MULTIPLE = 32                 # the network's input must be a multiple of this on each side
THREADS = 2                        # onnxruntime intra-op threads (the booth has 2 cores)
OPTIMISATION = "all"               # onnxruntime graph optimisation level (after our own fusions)

# --- input handling ----------------------------------------------------------------------
SCALE = 1.0                        # internal resolution: the network sees the print at SCALE * 500 dpi
CROP_MARGIN = 16.0                 # pixels at 500 dpi kept around the segmented finger's bounding box

# --- detections --------------------------------------------------------------------------
QUALITY_THRESHOLD = 0.55           # a pixel of the (NMS'd) quality map above this is a minutia
TYPE_THRESHOLD = 0.5               # type map above this: ridge ending, else bifurcation
MAX_MINUTIAE = 80                  # keep the best this many by network confidence

# --- refusal (same floors as the classical path) ---------------------------------------------
MIN_MINUTIAE = 6
