"""Face template bytes: versioned, fixed length, exact round trip, clear errors."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matcher import face
from matcher.face.errors import TemplateFormatError
from matcher.face.quality import FaceQuality
from matcher.face.template import TEMPLATE_BYTES

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)
qualities = st.builds(FaceQuality, finite, finite, finite, finite, finite, finite)
raw_vectors = arrays(np.float32, 128, elements=st.floats(-1, 1, width=32)).filter(lambda v: np.linalg.norm(v) > 0.1)


def make(vector: np.ndarray, quality: FaceQuality, mirrored: bool = False) -> face.Template:
    unit = (vector / np.linalg.norm(vector)).astype(np.float32)
    return face.Template(vector=unit, quality=quality, mirrored=mirrored)


@given(raw_vectors, qualities, st.booleans())
def test_to_bytes_then_from_bytes_gives_the_same_template(vector, quality, mirrored):
    tpl = make(vector, quality, mirrored)
    data = tpl.to_bytes()
    assert len(data) == TEMPLATE_BYTES
    assert face.Template.from_bytes(data) == tpl


@settings(max_examples=50)
@given(raw_vectors, qualities, st.integers(min_value=0, max_value=TEMPLATE_BYTES - 1))
def test_any_truncation_is_refused(vector, quality, cut):
    with pytest.raises(TemplateFormatError):
        face.Template.from_bytes(make(vector, quality).to_bytes()[:cut])


def test_trailing_bytes_are_refused():
    tpl = make(np.ones(128, np.float32), FaceQuality(200, 120, 0, 300, 0, 0))
    with pytest.raises(TemplateFormatError, match="bytes"):
        face.Template.from_bytes(tpl.to_bytes() + b"\x00")


def test_another_magic_or_version_is_refused():
    data = bytearray(make(np.ones(128, np.float32), FaceQuality(200, 120, 0, 300, 0, 0)).to_bytes())
    with pytest.raises(TemplateFormatError, match="magic"):
        face.Template.from_bytes(b"FMR\x00" + bytes(data[4:]))
    data[4] = 2
    with pytest.raises(TemplateFormatError, match="version 2"):
        face.Template.from_bytes(bytes(data))


def test_a_vector_that_is_not_unit_length_is_refused_on_decode():
    tpl = make(np.ones(128, np.float32), FaceQuality(200, 120, 0, 300, 0, 0))
    data = tpl.to_bytes()
    doubled = data[:32] + (np.frombuffer(data[32:], "<f4") * 2).astype("<f4").tobytes()
    with pytest.raises(TemplateFormatError, match="unit length"):
        face.Template.from_bytes(doubled)


def test_non_finite_vectors_are_refused():
    data = bytearray(make(np.ones(128, np.float32), FaceQuality(200, 120, 0, 300, 0, 0)).to_bytes())
    data[32:36] = struct.pack("<f", float("nan"))
    with pytest.raises(TemplateFormatError):
        face.Template.from_bytes(bytes(data))


def test_the_repr_shows_no_embedding_values():
    tpl = make(np.arange(1, 129, dtype=np.float32), FaceQuality(200, 120, 0, 300, 0, 0))
    text = repr(tpl)
    assert "quality" in text
    assert f"{tpl.vector[0]:.3f}"[:5] not in text


def test_the_stored_vector_is_read_only():
    tpl = make(np.ones(128, np.float32), FaceQuality(200, 120, 0, 300, 0, 0))
    with pytest.raises(ValueError):
        tpl.vector[0] = 0.0
