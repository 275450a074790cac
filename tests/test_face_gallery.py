"""1:N gallery: 64-byte scanned codes, results equal to exhaustive float32 search, files that can be mapped."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matcher import face
from matcher.face.errors import GalleryError
from matcher.face import codes


def cone_population(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(enrolled, probes of the first 50 identities): unit vectors in a narrow cone, like dlib embeddings."""
    rng = np.random.default_rng(seed)
    axis = rng.standard_normal(128)
    axis /= np.linalg.norm(axis)
    residual = rng.standard_normal((n, 128)) * (0.36 / np.sqrt(128))
    residual -= np.outer(residual @ axis, axis)
    centres = 0.91 * axis + residual

    def capture(c: np.ndarray) -> np.ndarray:
        x = c + rng.standard_normal(c.shape) * (0.18 / np.sqrt(128))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return capture(centres), capture(centres[:50])


@pytest.fixture(scope="module")
def population():
    return cone_population(20_000, seed=11)


@pytest.fixture(scope="module")
def gallery(population):
    return face.Gallery.from_vectors(population[0])


def test_each_scanned_code_takes_64_bytes(gallery):
    assert gallery.code_bytes == 64
    assert gallery._all_segments()[0].codes.dtype == np.uint64


def test_the_best_hit_is_the_exhaustive_float32_best_hit_with_the_same_distance(gallery, population):
    _, probes = population
    for probe in probes:
        assert gallery.nearest(probe, top_k=5)[0] == gallery.exhaustive_nearest(probe, top_k=1)[0]


def test_every_reported_distance_is_the_exact_float32_distance(gallery, population):
    enrolled, probes = population
    # Further down the list (impostors) the code scan may miss a neighbour, but never misreports one.
    for index, dist in gallery.nearest(probes[3], top_k=10):
        assert dist == pytest.approx(float(np.linalg.norm(enrolled[index] - probes[3])), rel=1e-6)  # float32 ulp


def test_the_true_mate_comes_first_with_a_calibrated_score(gallery, population):
    _, probes = population
    for mate, probe in enumerate(probes[:10]):
        hits = gallery.search(probe, top_k=3)
        assert hits[0][0] == mate
        assert hits[0][1] >= face.threshold_for_fmr(1e-4)
        assert hits[0][1] >= hits[1][1] >= hits[2][1]


def test_an_empty_gallery_finds_nothing():
    assert face.Gallery().search(np.eye(128, dtype=np.float32)[0]) == []


def test_appended_templates_are_found_at_their_index(population):
    enrolled, probes = population
    g = face.Gallery.from_vectors(enrolled[:1000])
    g.append_vectors(enrolled[1000:3000])
    assert len(g) == 3000
    assert g.nearest(probes[7], top_k=1)[0][0] == 7
    assert np.array_equal(g.vector(2500), enrolled[2500])


def test_a_probe_must_be_a_template_or_a_128_vector(gallery):
    with pytest.raises(GalleryError):
        gallery.search(np.zeros(64, np.float32))


def test_save_then_memory_mapped_load_gives_the_same_results(tmp_path: Path, gallery, population):
    _, probes = population
    gallery.save(tmp_path / "g")
    loaded = face.Gallery.load(tmp_path / "g", mmap=True)
    assert len(loaded) == len(gallery)
    assert isinstance(loaded._segments[0].vectors, np.memmap)
    assert isinstance(loaded._segments[0].codes, np.memmap)
    for probe in probes[:10]:
        assert loaded.search(probe, top_k=5) == gallery.search(probe, top_k=5)
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "centre.npy", "codes.npy", "meta.json", "projection.npy", "vectors.npy"]


def test_appending_to_a_mapped_gallery_leaves_the_files_untouched(tmp_path: Path, population):
    enrolled, probes = population
    face.Gallery.from_vectors(enrolled[:2000]).save(tmp_path / "g")
    before = (tmp_path / "g" / "vectors.npy").read_bytes()
    loaded = face.Gallery.load(tmp_path / "g")
    loaded.append_vectors(enrolled[2000:2100])
    assert len(loaded) == 2100
    assert loaded.nearest(probes[30], top_k=1)[0][0] == 30
    assert (tmp_path / "g" / "vectors.npy").read_bytes() == before
    loaded.save(tmp_path / "g2")
    assert len(face.Gallery.load(tmp_path / "g2", mmap=False)) == 2100


def test_missing_or_inconsistent_gallery_files_are_refused(tmp_path: Path, population):
    with pytest.raises(ValueError, match="no readable gallery"):
        face.Gallery.load(tmp_path / "nothing-here")
    face.Gallery.from_vectors(population[0][:100]).save(tmp_path / "g")
    meta = json.loads((tmp_path / "g" / "meta.json").read_text())
    (tmp_path / "g" / "meta.json").write_text(json.dumps({**meta, "count": 99}))
    with pytest.raises(ValueError, match="do not match"):
        face.Gallery.load(tmp_path / "g")


def test_templates_from_real_photos_find_their_person(tests_data: Path, population):
    def tpl(name: str) -> face.Template:
        rgb = cv2.cvtColor(cv2.imread(str(tests_data / "faces" / name)), cv2.COLOR_BGR2RGB)
        return face.encode(rgb)

    enrolled, _ = population
    g = face.Gallery.from_vectors(enrolled[:5000])
    index_img5 = g.append(tpl("img5.jpg"))
    g.append(tpl("img46.jpg"))
    hits = g.search(tpl("img10.jpg"), top_k=2)      # img10 and img5 are the same person
    assert hits[0][0] == index_img5


@given(arrays(np.uint64, (8, 5), elements=st.integers(0, 2**64 - 1)),
       arrays(np.uint64, 8, elements=st.integers(0, 2**64 - 1)))
def test_hamming_distance_equals_the_popcount_of_the_xor(stored, query):
    expected = [sum(bin(int(stored[w, i]) ^ int(query[w])).count("1") for w in range(8)) for i in range(5)]
    assert codes.hamming(stored, query).tolist() == expected


@given(arrays(np.float32, (3, 128), elements=st.floats(-1, 1, width=32)))
def test_a_code_bit_is_the_sign_of_one_centred_projection(vectors):
    projection = codes.default_projection()
    centre = np.zeros(128, np.float32)
    packed = codes.encode_codes(vectors, centre, projection)
    bits = (vectors @ projection) > 0
    for i in range(3):
        for b in (0, 63, 64, 200, 511):
            assert bool((int(packed[b // 64, i]) >> (b % 64)) & 1) == bits[i, b]


@pytest.mark.parametrize("chunk", [20_000, 3_000])
def test_the_two_stage_scan_of_large_galleries_also_finds_the_exhaustive_best_hit(monkeypatch, gallery, population,
                                                                                   chunk):
    from matcher.face import gallery as gallery_module

    # Shrink the scale: chunks of `chunk` codes, each > 2 x 600 so both scan stages run, in several chunks.
    monkeypatch.setattr(gallery_module, "CHUNK", chunk)
    monkeypatch.setattr(gallery_module, "PREFILTER_PER_CHUNK", 600)
    _, probes = population
    for mate, probe in enumerate(probes[:20]):
        best = gallery.nearest(probe, top_k=3)[0]
        assert best == gallery.exhaustive_nearest(probe, top_k=1)[0]
        assert best[0] == mate


def test_a_search_across_many_chunks_and_an_appended_segment_finds_every_mate(monkeypatch, tmp_path, population):
    from matcher.face import gallery as gallery_module

    monkeypatch.setattr(gallery_module, "CHUNK", 2_500)
    enrolled, probes = population
    face.Gallery.from_vectors(enrolled[:12_000]).save(tmp_path / "g")
    g = face.Gallery.load(tmp_path / "g")
    g.append_vectors(enrolled[12_000:])                 # mapped segment + in-memory tail
    rng = np.random.default_rng(5)
    spread = [0, 2_600, 7_777, 11_999, 12_000, 15_000, 19_999]   # every chunk position, both segments
    for mate in spread:
        noisy = enrolled[mate] + rng.normal(0, 0.01, 128).astype(np.float32)
        assert g.nearest(noisy / np.linalg.norm(noisy), top_k=1)[0][0] == mate
    for mate, probe in enumerate(probes[:10]):
        assert g.nearest(probe, top_k=1)[0][0] == mate
