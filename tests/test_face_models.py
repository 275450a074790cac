"""Model loading and input normalisation: clear errors instead of face_recognition's silent quit()."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matcher.face.image import as_rgb


def test_a_missing_models_package_raises_a_clear_error_instead_of_ending_the_process():
    # face_recognition calls quit() (exit status 0) when face_recognition_models cannot be imported.
    script = (
        "import sys\n"
        "sys.modules['face_recognition_models'] = None  # makes the import fail\n"
        "from matcher.face import models, errors\n"
        "try:\n"
        "    models.load()\n"
        "except errors.EngineUnavailableError as exc:\n"
        "    print('refused:', exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "face_recognition_models" in done.stdout


def test_importing_the_face_engine_does_not_load_the_models():
    script = "import sys, matcher.face; print('face_recognition' in sys.modules, 'dlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False"]


sides = st.integers(min_value=32, max_value=48)


@given(st.data(), sides, sides, st.sampled_from([None, 1, 3, 4]))
def test_uint8_images_of_any_supported_layout_become_rgb(data, h, w, channels):
    shape = (h, w) if channels is None else (h, w, channels)
    image = data.draw(arrays(np.uint8, shape))
    rgb = as_rgb(image)
    assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    if channels in (None, 1):
        grey = image.reshape(h, w)
        assert all(np.array_equal(rgb[:, :, c], grey) for c in range(3))
    else:
        assert np.array_equal(rgb, image[:, :, :3])
