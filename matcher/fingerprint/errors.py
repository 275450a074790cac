"""Typed errors of the fingerprint engine.

Messages describe the problem, never the image or the template contents.
"""
from __future__ import annotations

# Stable machine-readable reasons the booth screen keys its recapture instruction on.
REASONS = ("blank", "too_small", "incoherent", "too_few_minutiae", "bad_input")


class FingerprintError(Exception):
    """Base class of every error raised by ``matcher.fingerprint``."""


class LowQualityError(FingerprintError):
    """The image cannot give a usable template; ``reason`` (one of :data:`REASONS`) says why."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown low-quality reason {reason!r}")
        super().__init__(message)
        self.reason = reason


class TemplateFormatError(FingerprintError, ValueError):
    """A minutiae record is malformed. ``offset`` is the byte offset of the bad field, if any.

    Also a ``ValueError``, as it was before it joined :class:`FingerprintError`."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte offset {offset})")
