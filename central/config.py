"""Commission server settings: defaults, then ``CENTRAL_<NAME>`` environment variables, then overrides."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class CentralSettings:
    database_url: str = "sqlite:///var/central/central.sqlite3"
    """``sqlite:///path`` (the demo) or ``postgresql://...`` (a deployment)."""
    host: str = "127.0.0.1"
    """Loopback unless a deployment says otherwise."""
    port: int = 8090
    max_push_bytes: int = 8 * 1024 * 1024
    """Larger bodies are refused (413) before they are read; kiosks send bigger backlogs in batches."""
    silent_minutes: int = 10
    """A kiosk with no successful push for longer than this is listed as silent."""
    token_ttl_seconds: int = 12 * 3600
    threads: int = 8
    cases_path: str = "var/central/national/cases.json"
    """The national adjudication case book (``kiosk dedup --cases``), shown at /national/cases."""


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> CentralSettings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(CentralSettings):
        raw = environ.get(f"CENTRAL_{f.name.upper()}")
        if raw is not None:
            values[f.name] = int(raw) if isinstance(f.default, int) else raw
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return CentralSettings(**values)
