"""National de-duplication: the Dask pipeline on a small synthetic registry, shards, operating points."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from national import operating
from national.cases import open_cases
from national.gallery import NationalGallery, ShardSet, connect, current
from national.dedup import deduplicate
from national.search import Probes, face_first
from national import sealing
from national.shards import Shard, ShardError, ShardKeyError
from national.synthetic.build import generation_of, shard_set, synthetic_shard
from national.synthetic.registry import SyntheticRegistry

REGISTRY = SyntheticRegistry(size=240, duplicates=8, seed=11)
FPIR = 0.01
KEY = sealing.new_key()      # held by the test, never written beside the shards


@pytest.fixture(scope="module")
def client():
    c = connect(workers=1, threads_per_worker=2, processes=False, memory_limit=None)
    yield c
    c.close()
    c.cluster.close()


@pytest.fixture(scope="module")
def shards(tmp_path_factory, client) -> ShardSet:
    return shard_set(REGISTRY, tmp_path_factory.mktemp("national") / "shards", shard_size=80, key=KEY,
                     client=client)


@pytest.fixture(scope="module")
def run(client, shards):
    gallery = NationalGallery(client, shards, key=KEY)
    yield gallery, deduplicate(gallery, report_fmr=operating.per_comparison_fmr(FPIR, len(gallery)), batch=40,
                               progress=False)
    gallery.close()


def test_every_planted_duplicate_becomes_a_case(run):
    _, result = run
    cases = open_cases(result.suspects)
    grouped = [{c.probe, *(k.record for k in c.candidates)} for c in cases]
    for duplicate, original in REGISTRY.planted:
        assert any({str(duplicate), str(original)} <= group for group in grouped), (duplicate, original)
    assert len(cases) <= len(REGISTRY.planted) + 2     # FPIR 1 % over 240 searches: a couple at most
    assert sorted(result.probes.tolist()) == list(range(REGISTRY.size))


def test_the_mate_is_the_best_candidate_with_every_modality_scored(run):
    _, result = run
    duplicate, original = (int(v) for v in REGISTRY.planted[0])
    best = result.suspects[duplicate][0]
    assert best.record == original
    assert best.face_score is not None and all(s is not None for s in best.finger_scores)
    assert best.fused_fmr <= operating.per_comparison_fmr(FPIR, REGISTRY.size)


def test_a_booth_probe_is_identified_within_a_deadline(run):
    gallery, _ = run
    voter = next(r for r in range(REGISTRY.size) if r not in REGISTRY.mates())
    face, fingers = REGISTRY.recapture(voter, capture=2)
    probe = Probes(np.array([-1]), face[None, :], [[fingers[0], None]], gallery.centre)
    best = gallery.search(probe, timeout=60)[0][0]
    assert best.record == voter and best.finger_scores[1] is None
    assert best.fused_fmr <= operating.per_comparison_fmr(FPIR, REGISTRY.size)
    station = Shard.load(gallery.shard_set.paths()[voter // 80], KEY)    # the same search in-process
    assert face_first(station, probe)[0][0].record == voter


def test_shard_sets_are_reused_until_the_registry_changes(shards, client, tmp_path):
    assert current(shards.root, generation_of(REGISTRY)) == shards
    assert current(shards.root, "another-enrolment-state") is None
    (tmp_path / "broken").mkdir()
    with pytest.raises(ShardError):
        Shard.load(tmp_path / "broken", KEY)


def test_shards_store_a_voter_in_under_a_kilobyte(shards):
    shard = Shard.load(shards.paths()[0], KEY)
    assert shard.nbytes() / len(shard) < 1024
    assert shard.finger(0, 0).minutiae.size > 5


def test_search_threshold_is_per_search_not_per_comparison():
    p = operating.per_comparison_fmr(0.01, 9_710_000)
    assert p == pytest.approx(0.01 / 9_710_000, rel=0.01)
    assert operating.expected_fpir(p, 9_710_000) == pytest.approx(0.01, rel=1e-6)
    assert operating.fused_threshold(0.01, 9_710_000) == pytest.approx(-10 * math.log10(p))
    with pytest.raises(ValueError):
        operating.per_comparison_fmr(0.0, 10)


def _bytes_on_disk(folder) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_shard_files_hold_no_template_bytes_in_clear(shards):
    shard = Shard.load(shards.paths()[0], KEY)
    disk = b"".join(_bytes_on_disk(Path(p)) for p in shards.paths())
    assert b"NUMPY" not in disk                                     # no plain .npy array in any shard
    for row in (0, 17, len(shard) - 1):
        lo, hi = shard.finger_offsets[2 * row], shard.finger_offsets[2 * row + 1]
        assert shard.minutia_xy[lo:hi].tobytes() not in disk
        assert shard.minutia_angle[lo:hi].tobytes() not in disk
        assert shard.face_vectors[row].tobytes() not in disk
        assert shard.face_codes[:, row].tobytes() not in disk


def test_a_wrong_key_is_a_clear_error_and_the_right_key_still_opens(shards, client):
    with pytest.raises(ShardKeyError, match="wrong shard key"):
        Shard.load(shards.paths()[0], sealing.new_key())
    with pytest.raises(ShardKeyError, match="wrong shard key"):
        NationalGallery(client, shards, key=sealing.new_key())
    with pytest.raises(sealing.SealingError, match="32 bytes"):
        Shard.load(shards.paths()[0], b"short")
    assert len(Shard.load(shards.paths()[0], KEY)) == 80


def test_a_file_moved_from_another_shard_does_not_open(shards, tmp_path):
    import shutil

    first = Path(shards.paths()[0])
    copy = tmp_path / first.name
    shutil.copytree(first, copy)
    assert len(Shard.load(copy, KEY)) == 80                           # a whole shard copied is still itself
    shutil.copy(Path(shards.paths()[1]) / "face_vectors.npy.sealed", copy / "face_vectors.npy.sealed")
    with pytest.raises(ShardKeyError, match="moved from another shard"):
        Shard.load(copy, KEY)


def test_the_generator_packs_a_shard_exactly_as_build_shard_packs_templates():
    from national.shards import build_shard

    centre = np.zeros(128, np.float32)
    direct = synthetic_shard(REGISTRY, 40, 60, centre)
    records = np.arange(40, 60)
    via_templates = build_shard(records, REGISTRY.faces(records),
                                [REGISTRY.finger_templates(int(r)) for r in records], centre)
    for name in ("records", "face_codes", "finger_offsets", "minutia_xy"):
        assert np.array_equal(getattr(direct, name), getattr(via_templates, name)), name
    steps = np.abs(direct.minutia_angle.astype(int) - via_templates.minutia_angle.astype(int)) % 256
    assert np.all(np.minimum(steps, 256 - steps) <= 1)                # float32 vs float64 rounding
    assert np.array_equal(np.isnan(direct.face_vectors), np.isnan(via_templates.face_vectors))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 20), st.integers(0, 2 ** 32 - 1))
def test_the_face_code_scan_returns_the_nearest_codes_with_ties_to_the_earlier(n, keep, seed):
    from national.search import _nearest_codes

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2 ** 63, (8, n), dtype=np.int64).astype(np.uint64)
    codes[:, rng.random(n) < 0.3] = codes[:, :1]                   # many exact ties
    queries = np.ascontiguousarray(np.concatenate([codes[:, :2], codes[:, -1:] ^ np.uint64(5)], axis=1).T)
    got = _nearest_codes(codes, queries, min(keep, n))                # a batch
    assert np.array_equal(_nearest_codes(codes, queries[:1], min(keep, n)), got[:1])   # a single query
    bits = np.unpackbits(codes.T.copy().view(np.uint8), axis=1)
    for q, row in zip(queries, got):
        distance = (bits != np.unpackbits(q.copy().view(np.uint8))).sum(axis=1)
        expected = np.lexsort((np.arange(n), distance))[:min(keep, n)]
        assert row.tolist() == expected.tolist()
