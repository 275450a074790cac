"""A shard: one worker's part of the national gallery, compact in memory and persisted as .npy files.

Per enrolled record a shard keeps (bytes): record id (8), face sign code (64, matcher.face.codes), face
embedding as float16 (256; re-ranking and fusion only read the short list), and each finger's minutiae as
x, y (int16, px at 500 dpi) and direction (uint8, 1.4 degree steps: ISO 19794-2's own resolution), 5 bytes
per minutia, with an int64 offset per finger view. Two fingers of ~40 minutiae, one view each: about 750
bytes a record.

A finger enrolled from several impressions (matcher.fingerprint.views) keeps each as a view, best quality
first: a shard has ``views`` slots per finger (the most any of its fingers has; 1 for a registry of single
impressions, whose arrays are then those of version 2), empty slots holding no minutiae.
Cylinders and pre-filter codes are not stored: the face code short list picks the few records whose
fingers are compared, and their cylinders are rebuilt then (see national.search).

On disk a shard is a directory of sealed .npy files (``<array>.npy.sealed``: AES-256-GCM under a key the
caller passes in and keeps elsewhere, see national.sealing) and ``meta.json`` (counts and generation only,
no biometric data; written last: a directory without it is incomplete). Workers decrypt a shard once when
they load it and keep it decoded in memory. ``generation`` names the enrolment state it was built from; a shard set whose generation
differs from the registry's is rebuilt (national.gallery).
"""
from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.face import codes as face_codes
from matcher.fingerprint.template import MINUTIA_DTYPE, Template

from . import sealing

FORMAT = "national-shard"
VERSION = 3                  # 3: views per finger; 2: arrays sealed at rest (1 was plain .npy)
READABLE = (2, 3)            # a version-2 shard reads as one view per finger
ANGLE_STEPS = 256
_ARRAYS = ("records", "face_codes", "face_vectors", "finger_offsets", "minutia_xy", "minutia_angle")


class ShardError(Exception):
    """A shard directory that is missing, incomplete or inconsistent."""


class ShardKeyError(ShardError):
    """A shard that does not open with the key given (wrong key, or files altered or moved)."""


@dataclass
class Shard:
    records: np.ndarray          # (n,) int64 record ids
    face_codes: np.ndarray       # (8, n) uint64 word-major sign codes
    face_vectors: np.ndarray     # (n, 128) float16 unit embeddings
    finger_offsets: np.ndarray   # (n * fingers * views + 1,) int64 into the minutia arrays
    minutia_xy: np.ndarray       # (m, 2) int16, px at 500 dpi
    minutia_angle: np.ndarray    # (m,) uint8, 2 pi / 256 steps
    fingers: int
    generation: str = ""
    views: int = 1               # view slots per finger

    def __len__(self) -> int:
        return int(self.records.size)

    def nbytes(self) -> int:
        return int(sum(getattr(self, name).nbytes for name in _ARRAYS))

    def finger(self, row: int, finger: int) -> Template | None:
        """The first (best-quality) view of one finger of the record at ``row`` (None when not enrolled)."""
        return self._view((row * self.fingers + finger) * self.views)

    def finger_views(self, row: int, finger: int) -> tuple[Template, ...]:
        """Every stored view of one finger of the record at ``row``, best quality first (empty when not
        enrolled)."""
        first = (row * self.fingers + finger) * self.views
        found = (self._view(k) for k in range(first, first + self.views))
        return tuple(t for t in found if t is not None)

    def _view(self, k: int) -> Template | None:
        lo, hi = int(self.finger_offsets[k]), int(self.finger_offsets[k + 1])
        if hi == lo:
            return None
        m = np.zeros(hi - lo, MINUTIA_DTYPE)
        m["x"], m["y"] = self.minutia_xy[lo:hi, 0], self.minutia_xy[lo:hi, 1]
        m["angle"] = self.minutia_angle[lo:hi].astype(np.float32) * (2 * math.pi / ANGLE_STEPS)
        return Template(m, 0, 0, 500.0, 0)

    # -- files ------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike, key: bytes) -> Path:
        """Write the shard sealed under ``key`` (never stored here); meta.json last."""
        key = sealing.checked_key(key)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").unlink(missing_ok=True)
        for name in _ARRAYS:
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(getattr(self, name)), allow_pickle=False)
            aad = sealing.associated_data(self.generation, folder.name, name, len(self))
            blob = sealing.seal(key, buffer.getvalue(), aad)
            tmp = folder / f"{name}.npy.sealed.tmp"
            tmp.write_bytes(blob)
            os.replace(tmp, folder / f"{name}.npy.sealed")
        meta = {"format": FORMAT, "version": VERSION, "count": len(self), "fingers": self.fingers,
                "views": self.views, "generation": self.generation, "sealed": "AES-256-GCM"}
        (folder / "meta.json.tmp").write_text(json.dumps(meta))
        os.replace(folder / "meta.json.tmp", folder / "meta.json")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, key: bytes) -> "Shard":
        """Open a shard sealed under ``key``: ShardError when incomplete or inconsistent, ShardKeyError when
        the key is wrong (or a file was altered or moved from another shard)."""
        key = sealing.checked_key(key)        # a malformed key is the caller's error (SealingError)
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise ShardError(f"no complete shard at {folder} ({type(exc).__name__})") from exc
        if meta.get("format") != FORMAT or meta.get("version") not in READABLE:
            raise ShardError(f"{folder} is not a sealed national shard of version "
                             f"{' or '.join(map(str, READABLE))}")
        try:
            n, fingers, views = int(meta["count"]), int(meta["fingers"]), int(meta.get("views", 1))
        except (KeyError, TypeError, ValueError) as exc:
            raise ShardError(f"{folder}/meta.json does not give the shard's counts ({type(exc).__name__})") from exc
        generation = str(meta.get("generation", ""))
        arrays = {}
        for name in _ARRAYS:
            try:
                blob = (folder / f"{name}.npy.sealed").read_bytes()
            except OSError as exc:
                raise ShardError(f"no complete shard at {folder} ({type(exc).__name__})") from exc
            try:
                plain = sealing.open_sealed(key, blob, sealing.associated_data(generation, folder.name, name, n),
                                            f"{folder / name}.npy.sealed")
            except sealing.SealingError as exc:
                raise ShardKeyError(str(exc)) from exc
            arrays[name] = _array_in(plain, f"{folder / name}.npy.sealed")
        shard = cls(**arrays, fingers=fingers, generation=generation, views=views)
        slots = n * shard.fingers * shard.views
        if (shard.views < 1 or shard.records.shape != (n,) or shard.face_codes.shape != (face_codes.CODE_WORDS, n)
                or shard.face_vectors.shape[0] != n or shard.finger_offsets.shape != (slots + 1,)
                or shard.minutia_xy.shape[0] != shard.finger_offsets[-1]):
            raise ShardError(f"shard files in {folder} do not agree with meta.json (count {n})")
        return shard


def _array_in(plain: bytes, where: str) -> np.ndarray:
    """The .npy array held in ``plain``, read-only and without a copy (a decrypted shard's memory is its
    plaintext once, not twice)."""
    stream = io.BytesIO(plain)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(stream)
    except ValueError as exc:
        raise ShardError(f"{where} does not hold a .npy array") from exc
    if fortran or dtype.hasobject:
        raise ShardError(f"{where} holds an unexpected array layout")
    count = int(np.prod(shape)) if shape else 1
    if len(plain) - stream.tell() != count * dtype.itemsize:
        raise ShardError(f"{where} is truncated")
    return np.frombuffer(plain, dtype, count, stream.tell()).reshape(shape)


def build_shard(records: np.ndarray, faces: np.ndarray, fingers: list[list],
                centre: np.ndarray, generation: str = "") -> Shard:
    """A shard from record ids, their unit face embeddings (n x 128; NaN rows: no face) and finger
    templates (one list per record, same length for all; per finger a Template, a sequence of its views
    best first, or None where the finger is not enrolled)."""
    n = len(records)
    per = len(fingers[0]) if fingers else 0
    if len(faces) != n or len(fingers) != n or any(len(f) != per for f in fingers):
        raise ShardError("records, faces and fingers must be given for the same records")
    faces = np.asarray(faces, np.float32)
    has_face = np.isfinite(faces).all(axis=1)
    clean = np.where(has_face[:, None], faces, 0.0).astype(np.float32)
    codes = face_codes.encode_codes(clean, np.asarray(centre, np.float32), face_codes.default_projection())
    codes[:, ~has_face] = np.uint64(0)
    # a view without minutiae is not stored: it would read back as a missing finger
    viewed = [[tuple(t for t in views_of(finger) if t.minutiae.size) for finger in templates]
              for templates in fingers]
    views = max([len(v) for templates in viewed for v in templates], default=1) or 1
    xy, angle, sizes = [], [], []
    for templates in viewed:
        for finger_views in templates:
            for t in finger_views:
                scale = 500.0 / float(t.dpi)
                m = t.minutiae
                xy.append(np.stack([np.rint(m["x"] * scale), np.rint(m["y"] * scale)], axis=1))
                angle.append(np.rint(np.mod(m["angle"], 2 * math.pi) * ANGLE_STEPS / (2 * math.pi)) % ANGLE_STEPS)
                sizes.append(m.size)
            sizes += [0] * (views - len(finger_views))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    minutia_xy = (np.clip(np.concatenate(xy), -32768, 32767).astype(np.int16) if xy
                  else np.zeros((0, 2), np.int16))
    minutia_angle = np.concatenate(angle).astype(np.uint8) if angle else np.zeros(0, np.uint8)
    vectors = np.where(has_face[:, None], faces, np.nan).astype(np.float16)
    return Shard(np.asarray(records, np.int64), codes, vectors, offsets, minutia_xy, minutia_angle, per,
                 generation, views)


def views_of(finger) -> tuple[Template, ...]:
    """A finger as build_shard and the search's probes take it (a Template, a sequence of its views, or
    None when not enrolled or not captured) as a tuple of its views."""
    return () if finger is None else (finger,) if isinstance(finger, Template) else tuple(finger)
