"""The server's Merkle frontier gives the RFC 9162 root of every size, however the leaves arrive."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from central.frontier import Frontier
from kiosk.audit.merkle import EMPTY_ROOT, MerkleTree, leaf_hash

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(70)]


def test_the_empty_frontier_has_the_empty_root():
    assert Frontier().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_one_leaf_at_a_time_matches_the_tree_at_every_size():
    tree, frontier = MerkleTree(), Frontier()
    for leaf in LEAVES:
        tree.append_hash(leaf)
        frontier = frontier.extend([leaf])
        assert (frontier.size, frontier.root()) == (tree.size, tree.root())
        assert len(frontier.hashes) == bin(tree.size).count("1")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), max_size=6))
def test_batches_of_any_sizes_give_the_same_root(cuts):
    frontier, used = Frontier(), 0
    for n in cuts:
        frontier = frontier.extend(LEAVES[used:used + n])
        used = min(used + n, len(LEAVES))
        assert frontier.root() == MerkleTree(LEAVES[:used]).root()


def test_a_frontier_round_trips_through_hex_and_rejects_a_wrong_shape():
    frontier = Frontier().extend(LEAVES[:13])
    again = Frontier.from_hex(13, frontier.to_hex())
    assert again == frontier and again.extend(LEAVES[13:20]).root() == MerkleTree(LEAVES[:20]).root()
    try:
        Frontier.from_hex(12, frontier.to_hex())
    except ValueError as exc:
        assert "size 12" in str(exc)
    else:
        raise AssertionError("a frontier with the wrong number of hashes was accepted")
