"""Ridge period (pixels between ridges) from oriented x-signatures (Hong, Wan, Jain 1998)."""
from __future__ import annotations

import math

import numba
import numpy as np

from . import parameters as P


@numba.njit(cache=True)
def _block_periods(img, mask, theta, coherence, block, step, min_period, max_period, min_coherence):
    h, w = img.shape
    half = block // 2
    across = max(block // 2, 4)
    out = np.empty(((h // step + 1) * (w // step + 1),), np.float32)
    count = 0
    signature = np.zeros(block, np.float32)
    for cy in range(half, h - half, step):
        for cx in range(half, w - half, step):
            if not mask[cy, cx] or coherence[cy, cx] < min_coherence:
                continue
            t = theta[cy, cx]
            ct, st = math.cos(t), math.sin(t)
            # Sum grey levels along the ridge direction for each position along the normal.
            for k in range(block):
                acc = 0.0
                n = 0
                for d in range(across):
                    u = k - half
                    v = d - across // 2
                    x = int(cx - u * st + v * ct + 0.5)
                    y = int(cy + u * ct + v * st + 0.5)
                    if 0 <= x < w and 0 <= y < h:
                        acc += img[y, x]
                        n += 1
                signature[k] = acc / n if n > 0 else 0.0
            first = -1
            last = -1
            peaks = 0
            for k in range(1, block - 1):
                if signature[k] > signature[k - 1] and signature[k] >= signature[k + 1]:
                    if first < 0:
                        first = k
                    last = k
                    peaks += 1
            if peaks >= 2:
                period = (last - first) / (peaks - 1)
                if min_period <= period <= max_period:
                    out[count] = period
                    count += 1
    return out[:count]


def ridge_period(image: np.ndarray, mask: np.ndarray, theta: np.ndarray, coherence: np.ndarray,
                 dpi: float) -> float:
    """Median ridge period over the coherent foreground, in pixels at the image's resolution."""
    scale = dpi / P.REFERENCE_DPI
    block = int(round(P.FREQ_BLOCK * scale))
    step = max(4, int(round(P.FREQ_STEP * scale)))
    periods = _block_periods(image.astype(np.float32), mask, theta, coherence, block, step,
                             P.FREQ_MIN_PERIOD * scale, P.FREQ_MAX_PERIOD * scale, P.FREQ_MIN_COHERENCE)
    if periods.size < 3:
        return P.FREQ_DEFAULT_PERIOD * scale
    return float(np.median(periods))
