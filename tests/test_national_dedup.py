"""National de-duplication: the Dask pipeline on a small synthetic registry, shards, operating points."""
from __future__ import annotations

import math

import numpy as np
import pytest

from national import operating
from national.cases import open_cases
from national.gallery import NationalGallery, ShardSet, connect, current
from national.dedup import deduplicate
from national.search import Probes, face_first
from national.shards import Shard, ShardError
from national.synthetic.build import generation_of, shard_set
from national.synthetic.registry import SyntheticRegistry

REGISTRY = SyntheticRegistry(size=240, duplicates=8, seed=11)
FPIR = 0.01


@pytest.fixture(scope="module")
def client():
    c = connect(workers=1, threads_per_worker=2, processes=False, memory_limit=None)
    yield c
    c.close()
    c.cluster.close()


@pytest.fixture(scope="module")
def shards(tmp_path_factory, client) -> ShardSet:
    return shard_set(REGISTRY, tmp_path_factory.mktemp("national") / "shards", shard_size=80, client=client)


@pytest.fixture(scope="module")
def run(client, shards):
    gallery = NationalGallery(client, shards)
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
    station = Shard.load(gallery.shard_set.paths()[voter // 80])    # the same search in-process
    assert face_first(station, probe)[0][0].record == voter


def test_shard_sets_are_reused_until_the_registry_changes(shards, client, tmp_path):
    assert current(shards.root, generation_of(REGISTRY)) == shards
    assert current(shards.root, "another-enrolment-state") is None
    (tmp_path / "broken").mkdir()
    with pytest.raises(ShardError):
        Shard.load(tmp_path / "broken")


def test_shards_store_a_voter_in_under_a_kilobyte(shards):
    shard = Shard.load(shards.paths()[0])
    assert shard.nbytes() / len(shard) < 1024
    assert shard.finger(0, 0).minutiae.size > 5


def test_search_threshold_is_per_search_not_per_comparison():
    p = operating.per_comparison_fmr(0.01, 9_710_000)
    assert p == pytest.approx(0.01 / 9_710_000, rel=0.01)
    assert operating.expected_fpir(p, 9_710_000) == pytest.approx(0.01, rel=1e-6)
    assert operating.fused_threshold(0.01, 9_710_000) == pytest.approx(-10 * math.log10(p))
    with pytest.raises(ValueError):
        operating.per_comparison_fmr(0.0, 10)
