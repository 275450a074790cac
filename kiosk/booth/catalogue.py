"""The booth screen's message catalogues: one flat JSON object per language, key -> text.

Texts may hold ``{name}`` placeholders that the screen fills in. English is the reference: every
other language must have exactly its keys (a test checks it), so the screen never falls back to a
raw key in front of an official.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LANGUAGES = ("en", "km")
"""Languages the screen offers, in the order of the language switch."""
DEFAULT_LANGUAGE = "en"


class CatalogueError(ValueError):
    """A catalogue file is missing, not a JSON object of strings, or its language is unknown."""


@lru_cache(maxsize=None)
def load(language: str) -> dict[str, str]:
    """The catalogue of ``language`` (cached: the files ship with the package and do not change)."""
    if language not in LANGUAGES:
        raise CatalogueError(f"unknown language {language!r}; the booth offers {', '.join(LANGUAGES)}")
    path = MESSAGES_DIR / f"{language}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"message catalogue {path.name} is missing") from exc
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"message catalogue {path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CatalogueError(f"message catalogue {path.name} must be a JSON object of strings")
    return data
