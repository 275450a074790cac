"""National shards keep every impression of a finger (its views), and the search scores them as chances."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kiosk.registry.demo import PACKAGED
from matcher import fingerprint
from matcher.fingerprint.calibration import best_of, calibrated
from national import sealing
from national.search import Probes, SearchStats, _finger_scores
from national.shards import Shard, ShardError, build_shard

CENTRE = np.zeros(128, np.float32)
NO_FACE = np.full((1, 128), np.nan, np.float32)


@pytest.fixture(scope="module")
def demo_prints():
    """The packaged demo's fingers 1 and 2, impressions 1-3, extracted once."""
    read = lambda name: cv2.imread(str(PACKAGED / name), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    return {(f, k): fingerprint.extract(read(f"finger{f}_{k}.png"), dpi=500) for f in (1, 2) for k in (1, 2, 3)}


def _same_minutiae(a, b) -> bool:
    return np.array_equal(a.minutiae["x"], b.minutiae["x"]) and np.array_equal(a.minutiae["y"], b.minutiae["y"])


def _packed(template):
    """A template as a shard stores it (px rounded at 500 dpi, direction in 256 steps)."""
    return build_shard(np.arange(1), NO_FACE, [[template]], CENTRE).finger(0, 0)


def test_a_finger_enrolled_from_two_impressions_keeps_both_views_in_order(demo_prints):
    shard = build_shard(np.arange(2), np.repeat(NO_FACE, 2, axis=0),
                        [[(demo_prints[1, 1], demo_prints[1, 2]), demo_prints[2, 1]], [None, (demo_prints[2, 2],)]], CENTRE)
    assert shard.views == 2
    first, second = shard.finger_views(0, 0)
    assert _same_minutiae(first, _packed(demo_prints[1, 1])) and _same_minutiae(second, _packed(demo_prints[1, 2]))
    assert _same_minutiae(shard.finger(0, 0), first)                 # the first view stands for the finger
    assert len(shard.finger_views(0, 1)) == 1 and len(shard.finger_views(1, 1)) == 1
    assert shard.finger_views(1, 0) == () and shard.finger(1, 0) is None


def test_a_view_without_minutiae_is_not_stored(demo_prints):
    empty = fingerprint.Template(demo_prints[1, 1].minutiae[:0], 0, 0, 500.0, 0)
    shard = build_shard(np.arange(1), NO_FACE, [[(demo_prints[1, 1], empty)]], CENTRE)
    assert shard.views == 1 and len(shard.finger_views(0, 0)) == 1


def test_a_shard_of_views_survives_sealing(demo_prints, tmp_path):
    key = sealing.new_key()
    shard = build_shard(np.arange(1), NO_FACE, [[(demo_prints[1, 1], demo_prints[1, 2], demo_prints[1, 3])]], CENTRE)
    loaded = Shard.load(shard.save(tmp_path / "shard-0000", key), key)
    assert loaded.views == 3
    assert all(_same_minutiae(a, b) for a, b in zip(loaded.finger_views(0, 0), shard.finger_views(0, 0)))


def test_a_version_2_shard_reads_as_one_view_per_finger(demo_prints, tmp_path):
    key = sealing.new_key()
    folder = build_shard(np.arange(1), NO_FACE, [[demo_prints[1, 1], demo_prints[2, 1]]], CENTRE).save(tmp_path / "s", key)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["views"]
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 2}))   # as version 2 wrote it
    loaded = Shard.load(folder, key)
    assert loaded.views == 1 and _same_minutiae(loaded.finger(0, 1), _packed(demo_prints[2, 1]))
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 1}))
    with pytest.raises(ShardError, match="version 2 or 3"):
        Shard.load(folder, key)


def test_a_shard_whose_view_count_disagrees_with_its_offsets_does_not_open(demo_prints, tmp_path):
    key = sealing.new_key()
    folder = build_shard(np.arange(1), NO_FACE, [[(demo_prints[1, 1], demo_prints[1, 2])]], CENTRE).save(tmp_path / "s", key)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "views": 3}))
    with pytest.raises(ShardError, match="do not agree"):
        Shard.load(folder, key)


@pytest.mark.parametrize("views", ["two", None, [2]])
def test_a_meta_file_whose_view_count_is_not_a_number_is_a_shard_error(demo_prints, tmp_path, views):
    key = sealing.new_key()
    folder = build_shard(np.arange(1), NO_FACE, [[demo_prints[1, 1]]], CENTRE).save(tmp_path / "s", key)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "views": views}))
    with pytest.raises(ShardError, match="counts"):
        Shard.load(folder, key)


def test_every_probe_view_meets_every_enrolled_view_and_the_best_counts_them_as_chances(demo_prints):
    shard = build_shard(np.arange(1), NO_FACE, [[(demo_prints[1, 1], demo_prints[1, 2])]], CENTRE)
    probe = (demo_prints[1, 3], demo_prints[2, 3])
    stats = SearchStats()
    got = _finger_scores(shard, np.arange(1), [probe], False, stats)[0, 0]
    raw = max(fingerprint.compare_raw(p, e) for p in probe for e in shard.finger_views(0, 0))
    assert stats.finger_comparisons == 4
    assert got == pytest.approx(best_of(calibrated(raw), 4))


def test_a_record_of_two_impressions_scores_its_better_one_less_the_price_of_two_chances(demo_prints):
    """The demo's finger 1 against impressions 1 and 2 of itself: the search scores the better of the two,
    so a record enrolled from both is found at least as surely as from either alone (less 3 points)."""
    probe = demo_prints[1, 3]
    alone = [build_shard(np.arange(1), NO_FACE, [[demo_prints[1, k]]], CENTRE) for k in (1, 2)]
    both = build_shard(np.arange(1), NO_FACE, [[(demo_prints[1, 1], demo_prints[1, 2])]], CENTRE)
    score = lambda shard: _finger_scores(shard, np.arange(1), [probe], False, SearchStats())[0, 0]  # noqa: E731
    assert score(both) == pytest.approx(max(score(s) for s in alone) - 10 * np.log10(2))


def test_a_search_of_views_finds_the_record_that_enrolled_them(demo_prints):
    shard = build_shard(np.arange(2), np.repeat(NO_FACE, 2, axis=0),
                        [[(demo_prints[2, 1], demo_prints[2, 2])], [(demo_prints[1, 1], demo_prints[1, 2])]], CENTRE)
    probes = Probes(np.array([-1]), NO_FACE, [[(demo_prints[1, 3],)]], CENTRE)
    from national.search import finger_shortlist, merge_shortlists, verify

    chosen = merge_shortlists([finger_shortlist(shard, probes, 4)], 4)
    found = verify(shard, probes, chosen)[0]
    assert found[0].record == 1 and found[0].finger_scores[0] > found[-1].finger_scores[0]


def test_registry_shards_carry_every_impression_the_registry_enrolled(tmp_path):
    from kiosk.registry import Registry
    from kiosk.registry.dedup import registry_shards
    from kiosk.registry.demo import build_demo_registry

    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}", bytes(range(32)))
    build_demo_registry(registry, tmp_path, station_id="PS-0001", source="packaged")
    (shard,), _, voter_ids, positions = registry_shards(registry)
    views = [len(shard.finger_views(row, f)) for row in range(len(voter_ids)) for f in range(len(positions))]
    assert shard.views == 2 and 2 in views                         # the demo enrols two impressions a finger
    registry.close()


def test_the_dedup_bench_measures_three_views_as_nine_comparisons_a_finger():
    from bench._dedup_profile import phase_breakdown, views_shard
    from national.synthetic.registry import SyntheticRegistry

    registry = SyntheticRegistry(60, 0, seed=5)
    counts = {}
    for views in (1, 3):
        shard, centre = views_shard(registry, 60, views)
        assert shard.views == views and all(len(shard.finger_views(r, f)) == views for r in range(60) for f in range(2))
        counts[views] = phase_breakdown(shard, centre, np.arange(0, 60, 6))["comparisons"]
    assert counts[3] == 9 * counts[1] > 0
