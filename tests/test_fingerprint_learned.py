"""The learned (LEADER) extractor: real prints give ordinary templates the MCC matcher uses."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from matcher import fingerprint as fp
from matcher.fingerprint import leader_graph, leader_model, learned_parameters
from matcher.fingerprint.learned import extract_learned, network_input


def load(tests_data, name):
    image = cv2.imread(str(tests_data / "fingerprint" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return image


@pytest.fixture(scope="module")
def learned(tests_data):
    """Learned templates of the sample prints: a1/a2 one finger, b1 another, c1 a 569 dpi print."""
    names = {"a1": ("DB1_B_101_1", 500), "a2": ("DB1_B_101_2", 500), "b1": ("DB1_B_102_1", 500),
             "c1": ("DB2_B_101_1", 569)}
    return {key: fp.extract(load(tests_data, name), dpi=dpi, method="learned") for key, (name, dpi) in names.items()}


def test_learned_minutiae_lie_inside_the_image_with_iso_fields(learned):
    tpl = learned["a1"]
    m = tpl.minutiae
    assert 15 <= len(m) <= learned_parameters.MAX_MINUTIAE
    assert np.all((m["x"] >= 0) & (m["x"] < tpl.width) & (m["y"] >= 0) & (m["y"] < tpl.height))
    assert np.all((m["angle"] >= 0) & (m["angle"] < 2 * math.pi))
    assert set(np.unique(m["kind"])) <= {1, 2}
    assert np.all((m["quality"] >= round(learned_parameters.QUALITY_THRESHOLD * 100)) & (m["quality"] <= 100))
    assert 0 <= tpl.quality <= 100


def test_learned_templates_round_trip_through_iso_19794_2(learned):
    tpl = learned["a1"]
    back = fp.Template.from_iso(tpl.to_iso())
    assert len(back.minutiae) == len(tpl.minutiae)
    assert np.allclose(back.minutiae["x"], np.round(tpl.minutiae["x"]), atol=0.5)
    assert fp.compare(back, learned["a2"]) == pytest.approx(fp.compare(tpl, learned["a2"]), abs=3.0)


def test_learned_minutiae_match_mates_and_not_other_fingers(learned):
    assert fp.compare(learned["a2"], learned["a1"]) >= fp.threshold_for_fmr(1e-4)
    assert fp.compare(learned["b1"], learned["a1"]) < fp.threshold_for_fmr(1e-2)


def test_learned_direction_follows_the_iso_convention(tests_data, learned):
    """ISO angles of both extractors agree where they find the same minutia (LEADER's raw direction
    points the other way; extraction turns it round)."""
    classical = fp.extract(load(tests_data, "DB1_B_101_1"), dpi=500, method="classical").minutiae
    differences = []
    for m in learned["a1"].minutiae:
        distance = np.hypot(classical["x"] - m["x"], classical["y"] - m["y"])
        nearest = int(np.argmin(distance))
        if distance[nearest] < 5:
            d = float(classical["angle"][nearest] - m["angle"])
            differences.append(abs(math.atan2(math.sin(d), math.cos(d))))
    assert len(differences) >= 8
    assert np.median(differences) < math.radians(25)


def test_other_resolutions_are_mapped_back_to_the_sensor_pixels(tests_data, learned):
    image = load(tests_data, "DB2_B_101_1")
    tpl = learned["c1"]
    assert (tpl.width, tpl.height, tpl.dpi) == (image.shape[1], image.shape[0], 569.0)
    stages = {}
    extract_learned(image, 569, trace=lambda stage, value: stages.__setitem__(stage, value))
    ys, xs = np.nonzero(stages["mask"])
    m = tpl.minutiae
    assert m["x"].min() >= xs.min() - 20 and m["x"].max() <= xs.max() + 20
    assert m["y"].min() >= ys.min() - 20 and m["y"].max() <= ys.max() + 20


def test_network_input_is_padded_to_multiples_of_32_with_the_image_centred():
    image = np.full((70, 100), 200, np.uint8)
    image[10, 20] = 0
    padded, left, top = network_input(image, 1.0)
    assert padded.shape == (96, 128) and padded.dtype == np.float32
    assert padded[top + 10, left + 20] == 0 and padded[0, 0] == 200


def test_fused_graph_gives_the_network_outputs_of_the_packaged_one(tests_data):
    data = leader_model.model_path().read_bytes()
    fused, norms, gelus = leader_graph.fused_model(data)
    assert (norms, gelus) == (24, 27)
    padded, _, _ = network_input(load(tests_data, "DB1_B_101_1"), 1.0)
    batch = padded[None, :, :, None]
    original = leader_model.run(batch, optimisation="basic", fused=False)[0]
    rewritten = leader_model.run(batch, optimisation="basic", fused=True)[0]
    assert np.abs(original[..., [0, 2, 3]] - rewritten[..., [0, 2, 3]]).max() < 2e-3
    assert np.array_equal(original[..., 3] >= 0.55, rewritten[..., 3] >= 0.55)


def test_unknown_method_is_refused_by_name(tests_data):
    with pytest.raises(ValueError, match="learned"):
        fp.extract(load(tests_data, "DB1_B_101_1"), dpi=500, method="magic")


def test_blank_images_are_refused_by_the_learned_path_too():
    with pytest.raises(fp.LowQualityError) as refused:
        fp.extract(np.full((300, 300), 200, np.uint8), method="learned")
    assert refused.value.reason == "blank"


def test_another_model_file_runs_in_place_of_the_packaged_one(tests_data, tmp_path, learned):
    """The bench's int8 variants pass their own ONNX file; the same graph gives the same template."""
    copy = tmp_path / "leader-copy.onnx"
    copy.write_bytes(leader_model.model_bytes(fused=True))
    tpl = extract_learned(load(tests_data, "DB1_B_101_1"), 500, model_file=str(copy))
    assert np.array_equal(tpl.minutiae, extract_learned(load(tests_data, "DB1_B_101_1"), 500).minutiae)
    with pytest.raises(FileNotFoundError):
        extract_learned(load(tests_data, "DB1_B_101_1"), 500, model_file=str(tmp_path / "absent.onnx"))
