"""Biometric engine: fingerprint and face extraction and matching. Pure computation, no I/O.

Public modules: ``matcher.fingerprint``, ``matcher.face``, ``matcher.fusion``.
"""
