"""Every tuning constant of the fingerprint engine, in one place.

Lengths are given in pixels at the reference resolution of 500 dpi and scaled by ``dpi / 500`` where
they are used (see :func:`at_dpi`), so the pipeline works at each sensor's own resolution.
Angles are in radians.

The numba kernels never read these constants as globals: numba would fold them into the compiled
code, and its on-disk cache is invalidated only when the kernel's own file changes, so an edit here
could leave a stale value in use. The kernels take them as arguments instead, grouped into the
named tuples built here (:func:`cylinder_parameters`,
:func:`consolidation_parameters`), which are read when the kernel modules are imported.
"""
from __future__ import annotations

import math
from typing import NamedTuple

REFERENCE_DPI = 500.0


def at_dpi(length_at_500: float, dpi: float) -> float:
    """A length in pixels at 500 dpi, expressed in pixels at ``dpi``."""
    return length_at_500 * dpi / REFERENCE_DPI


# --- named groups the numba kernels take (filled from the constants below) ----------------

class CylinderParameters(NamedTuple):
    """How MCC cylinders are built and when two of them are comparable (lengths at 500 dpi)."""
    ns: int                      # MCC_NS
    nd: int                      # MCC_ND
    radius: float                # MCC_RADIUS
    sigma_s: float               # MCC_SIGMA_S
    mu_psi: float                # MCC_MU_PSI
    hull_margin: float           # MCC_HULL_MARGIN
    min_valid_fraction: float    # MCC_MIN_VALID_FRACTION
    min_neighbours: int          # MCC_MIN_NEIGHBOURS
    min_common_cells: int        # MCC_MIN_COMMON_FRACTION of the cells inside the disc
    spatial_words: int           # 64-bit words holding one direction bin's Ns x Ns cells


class ConsolidationParameters(NamedTuple):
    """Rotation gate and LSS-R relaxation of the best cylinder pairs."""
    min_np: int                  # LSS_MIN_NP
    max_np: int                  # LSS_MAX_NP
    mu_p: float                  # LSS_MU_P
    tau_p: float                 # LSS_TAU_P
    relaxation_weight: float     # LSSR_WEIGHT
    iterations: int              # LSSR_ITERATIONS
    mu_distance: float           # LSSR_MU_DIST
    tau_distance: float          # LSSR_TAU_DIST
    mu_angle: float              # LSSR_MU_ANGLE
    tau_angle: float             # LSSR_TAU_ANGLE
    mu_radial: float             # LSSR_MU_RADIAL
    tau_radial: float            # LSSR_TAU_RADIAL
    max_pairs: int               # LSSR_MAX_PAIRS
    rotation_top_pairs: int      # ROTATION_TOP_PAIRS
    rotation_gate: float         # ROTATION_GATE


def cells_in_disc(ns: int, radius: float) -> int:
    """Spatial cells of an Ns x Ns cylinder whose centre lies inside its disc."""
    delta = 2.0 * radius / ns
    centres = [(i - (ns - 1) / 2.0) * delta for i in range(ns)]
    return sum(1 for cx in centres for cy in centres if cx * cx + cy * cy <= radius * radius)


def cylinder_parameters() -> CylinderParameters:
    return CylinderParameters(
        int(MCC_NS), int(MCC_ND), float(MCC_RADIUS), float(MCC_SIGMA_S), float(MCC_MU_PSI),
        float(MCC_HULL_MARGIN), float(MCC_MIN_VALID_FRACTION), int(MCC_MIN_NEIGHBOURS),
        int(math.ceil(MCC_MIN_COMMON_FRACTION * cells_in_disc(MCC_NS, MCC_RADIUS))),
        (MCC_NS * MCC_NS + 63) // 64)


def consolidation_parameters() -> ConsolidationParameters:
    return ConsolidationParameters(
        int(LSS_MIN_NP), int(LSS_MAX_NP), float(LSS_MU_P), float(LSS_TAU_P), float(LSSR_WEIGHT),
        int(LSSR_ITERATIONS), float(LSSR_MU_DIST), float(LSSR_TAU_DIST), float(LSSR_MU_ANGLE),
        float(LSSR_TAU_ANGLE), float(LSSR_MU_RADIAL), float(LSSR_TAU_RADIAL), int(LSSR_MAX_PAIRS),
        int(ROTATION_TOP_PAIRS), float(ROTATION_GATE))


# --- segmentation -------------------------------------------------------------------------
SEGMENT_SIGMA = 8.0                # Gaussian window of the local contrast measure
SEGMENT_OTSU_FRACTION = 0.6       # foreground: local std above this fraction of Otsu's threshold
SEGMENT_CONTRAST_FRACTION = 0.5    # ... but never above this fraction of the 95th percentile
SEGMENT_MIN_STD = 6.0              # grey levels; below this a region is flat whatever the image
SEGMENT_CLOSE = 15.0               # closing radius that joins ridges into one area
SEGMENT_ERODE = 6.0                # erosion that drops the blurred rim of the print

# --- orientation --------------------------------------------------------------------------
ORIENT_GRADIENT_SIGMA = 1.0        # pre-smoothing before Sobel
ORIENT_SIGMA = 7.0                 # averaging window of the gradient tensor
ORIENT_SMOOTH_SIGMA = 5.0          # smoothing of the doubled-angle field after averaging

# --- ridge frequency ----------------------------------------------------------------------
FREQ_BLOCK = 32                    # oriented window side for the x-signature
FREQ_STEP = 16                     # grid step of frequency samples
FREQ_MIN_PERIOD = 5.0              # plausible ridge periods (pixels at 500 dpi)
FREQ_MAX_PERIOD = 15.0
FREQ_DEFAULT_PERIOD = 9.0
FREQ_MIN_COHERENCE = 0.5           # blocks below this coherence do not vote for the period

# --- enhancement --------------------------------------------------------------------------
ENHANCE_ORIENTATIONS = 16          # Gabor bank size (orientation quantisation pi/16)
ENHANCE_SIGMA_FRACTION = 0.55      # Gabor envelope sigma as a fraction of the ridge period
ENHANCE_NORMALISE_SIGMA = 12.0     # local mean/contrast normalisation window

# --- binarisation -------------------------------------------------------------------------
BINARISE_SMOOTH = 1.0              # tiny blur on the filtered image before the zero threshold

# --- minutiae -----------------------------------------------------------------------------
MINUTIA_TRACE_LENGTH = 14.0        # pixels followed along the skeleton to measure a direction
MINUTIA_BORDER_DISTANCE = 9.0      # minutiae closer than this to the mask edge are edge artefacts
MINUTIA_MIN_COHERENCE = 0.0        # minutiae in incoherent (scarred/noisy) areas are dropped
SPUR_LENGTH = 10.0                 # an ending whose ridge meets a bifurcation within this is a spur
BREAK_DISTANCE = 14.0              # two facing endings closer than this are a broken ridge
BREAK_ANGLE = math.radians(55.0)   # "facing": directions opposite within this
BRIDGE_DISTANCE = 10.0             # two bifurcations closer than this are a bridge between ridges
CLUSTER_RADIUS = 16.0              # more than CLUSTER_MAX other minutiae within this: noise
CLUSTER_MAX = 3
MAX_MINUTIAE = 80                  # keep the best this many (by quality)

# --- quality and refusal ------------------------------------------------------------------
MIN_FOREGROUND_MM2 = 20.0          # less usable ridge area than this: ask for a recapture
MIN_MINUTIAE = 6                   # fewer minutiae than this: nothing to match on
MIN_MEAN_COHERENCE = 0.22          # foreground too incoherent (smudge, noise): recapture
# Image quality 0-100 (quality.py): each factor saturates at a good capture's level (set, not tuned).
QUALITY_GOOD_AREA_MM2 = 120.0      # usable ridge area
QUALITY_GOOD_COHERENCE = 0.55      # mean orientation coherence over the finger
QUALITY_GOOD_MINUTIAE = 25         # minutiae found

# --- Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni 2010), lengths at 500 dpi ---------
MCC_RADIUS = 70.0
MCC_NS = 16                        # spatial cells per side
MCC_ND = 6                         # directional cells
MCC_SIGMA_S = 28.0 / 3.0
MCC_SIGMA_D = 2.0 * math.pi / 9.0
MCC_MU_PSI = 0.01                  # cell on when the contribution exceeds this
MCC_HULL_MARGIN = 50.0             # cells beyond the minutiae convex hull plus this are invalid
MCC_MIN_VALID_FRACTION = 0.60      # of the cells inside the disc
MCC_MIN_NEIGHBOURS = 2
MCC_MIN_COMMON_FRACTION = 0.6      # of valid cells two cylinders must share to be compared

# LSS-R consolidation
LSS_MIN_NP = 4
LSS_MAX_NP = 12
LSS_MU_P = 20.0
LSS_TAU_P = 0.4
LSSR_WEIGHT = 0.5
LSSR_ITERATIONS = 5
LSSR_MU_DIST = 5.0
LSSR_TAU_DIST = -8.0 / 5.0
LSSR_MU_ANGLE = math.pi / 12
LSSR_TAU_ANGLE = -30.0
LSSR_MU_RADIAL = math.pi / 12
LSSR_TAU_RADIAL = -30.0
LSSR_MAX_PAIRS = 40                # relax at most this many best one-to-one pairs

# Rotation: estimated from the ROTATION_TOP_PAIRS most similar cylinder pairs; pairs whose
# minutiae turn more than ROTATION_GATE away from it are ignored (MCC's 90-degree rule, made
# invariant to how the finger was placed).
ROTATION_TOP_PAIRS = 40
ROTATION_GATE = math.pi / 2

# --- 1:N pre-filter -----------------------------------------------------------------------
INDEX_CYLINDERS = 32               # pooled cylinders kept per gallery template
INDEX_TOP = 4                      # stage-1 score: mean of this many best cylinder matches
GEOMETRY_FRACTION = 0.1            # share of the gallery passed to the geometric stage 2
RERANK_CANDIDATES = 800            # exact comparisons after the pre-filter

