"""Where the shared sample datasets live (``../shared/datasets`` beside the checkout by default).

Set ``KIOSK_DATASETS`` to use another copy. Code that needs the datasets must cope with their
absence: tests skip, benchmarks say what they could not measure.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path | None:
    """The datasets folder, or None when it is not present on this machine."""
    candidates = []
    if os.environ.get("KIOSK_DATASETS"):
        candidates.append(Path(os.environ["KIOSK_DATASETS"]))
    candidates += [PROJECT_ROOT.parent / "shared" / "datasets", Path.cwd().parent / "shared" / "datasets"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None
