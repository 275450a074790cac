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
# Internal resolution: the network sees the print at SCALE * 500 dpi. 0.8 costs ~45 % less CPU than
# 1.0 (287 vs ~540 ms of CPU per FVC image with 2 threads, measured on the shared machine); on
# FVC2002 at detection threshold 0.55 its LODO EER is 1.36 %, and 1.0's is printed by
# ``python -m bench fingerprint --variants``.
SCALE = 0.8
CROP_MARGIN = 16.0                 # pixels at 500 dpi kept around the segmented finger's bounding box

# --- detections --------------------------------------------------------------------------
# Detection threshold and cap chosen leave-one-database-out on FVC2002 over thresholds 0.35-0.55 and
# caps 40/60/80 (at SCALE 0.8): 0.35 chosen on three folds, 0.40 on the fourth; cap 40 on all four
# (a median of 32 minutiae: the cap rarely binds but bounds the compare time).
QUALITY_THRESHOLD = 0.35           # a pixel of the (NMS'd) quality map above this is a minutia
TYPE_THRESHOLD = 0.5               # type map above this: ridge ending, else bifurcation
MAX_MINUTIAE = 40                  # keep the best this many by network confidence

# --- refusal (same floors as the classical path) ---------------------------------------------
MIN_MINUTIAE = 6
