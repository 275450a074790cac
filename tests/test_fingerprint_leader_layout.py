"""The LEADER graph's layout rewrites (leader_graph.py) change the time, never the detections."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher.fingerprint import leader_graph, leader_layout, leader_model
from matcher.fingerprint.learned import extract_learned, network_input
from matcher.fingerprint.onnx_proto import ModelProto


@pytest.fixture(scope="module")
def rewritten():
    return leader_graph.rewritten_model(leader_model.model_path().read_bytes())


@pytest.fixture(scope="module")
def print_101_1(tests_data):
    image = cv2.imread(str(tests_data / "fingerprint" / "DB1_B_101_1.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


def test_every_layout_rewrite_finds_its_subgraphs_in_the_packaged_model(rewritten):
    # 3 four-channel head normalisations, the 10 normalisation -> GELU pairs, the 6 depthwise convs on
    # 106 / 219 / 59 / 52 channels, the 11 inverted bottlenecks after a normalisation.
    assert (rewritten.layer_norms, rewritten.gelus) == (24, 27)
    assert (rewritten.small_norms, rewritten.gelus_moved, rewritten.depthwise_padded, rewritten.bottlenecks) == (3, 10, 6, 11)
    assert rewritten.direction_outside == 1


def test_padded_depthwise_filters_are_whole_blocks_with_zero_padding(rewritten):
    model = ModelProto()
    model.ParseFromString(rewritten.data)
    filters = [t for t in model.graph.initializer if t.name.endswith("/blocked_filter")]
    assert len(filters) == 6
    for t in filters:
        channels = int(t.dims[0])
        assert channels % leader_layout.DEPTHWISE_BLOCK == 0
        values = np.frombuffer(t.raw_data, np.float32).reshape(tuple(t.dims))
        real = int(np.flatnonzero(np.abs(values).reshape(channels, -1).sum(axis=1))[-1]) + 1
        assert 0 < channels - real < leader_layout.DEPTHWISE_BLOCK and not values[real:].any()


def test_rewritten_graph_gives_the_fused_graphs_maps(print_101_1):
    padded, _, _ = network_input(print_101_1, 0.9)
    batch = padded[None, :, :, None]
    fused = leader_model.run(batch, threads=1, layout=False)[0]
    rewritten = leader_model.run(batch, threads=1, layout=True)[0]
    assert np.abs(fused[..., [0, 2, 3]] - rewritten[..., [0, 2, 3]]).max() < 2e-3
    detected = fused[..., 3] >= 0.35
    assert np.array_equal(detected, rewritten[..., 3] >= 0.35)
    assert np.abs(fused[..., 1][detected] - rewritten[..., 1][detected]).max() < 1e-4   # atan2 in numpy


def test_rewritten_graph_gives_the_same_template(print_101_1):
    before = extract_learned(print_101_1, 500, layout=False)
    after = extract_learned(print_101_1, 500)
    assert len(after.minutiae) == len(before.minutiae)
    for field in ("x", "y", "kind", "quality"):
        assert np.array_equal(after.minutiae[field], before.minutiae[field]), field
    turn = np.angle(np.exp(1j * (after.minutiae["angle"].astype(float) - before.minutiae["angle"].astype(float))))
    assert np.abs(turn).max() < 1e-4     # radians: float rounding, not a different direction
