"""The Merkle tree is RFC 9162's: published CT vectors, and proofs that verify exactly when they should."""
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit.errors import ProofError
from kiosk.audit.merkle import (EMPTY_ROOT, MerkleTree, leaf_hash, node_hash, root_from_inclusion_proof,
                                verify_consistency, verify_inclusion)


@pytest.fixture(scope="module")
def vectors(tests_data):
    return json.loads((tests_data / "audit" / "rfc9162_vectors.json").read_text())


@pytest.fixture(scope="module")
def tree(vectors):
    return MerkleTree([leaf_hash(bytes.fromhex(x)) for x in vectors["leaves"]])


def _hashes(hex_list):
    return [bytes.fromhex(h) for h in hex_list]


def reference_root(entries):
    """MTH written straight from RFC 9162 2.1.1, as an independent oracle."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(entries[:k]) + reference_root(entries[k:])).digest()


def test_roots_of_every_prefix_of_the_eight_standard_leaves_match_the_published_roots(vectors, tree):
    assert [tree.root(n).hex() for n in range(9)] == vectors["roots"]


def test_the_empty_tree_hashes_to_sha256_of_nothing():
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_inclusion_proofs_match_the_published_vectors(vectors, tree):
    for case in vectors["inclusion"]:
        assert tree.inclusion_proof(case["index"], case["size"]) == _hashes(case["proof"]), case


def test_published_inclusion_proofs_verify_against_published_roots(vectors):
    for case in vectors["inclusion"]:
        leaf = leaf_hash(bytes.fromhex(vectors["leaves"][case["index"]]))
        root = bytes.fromhex(vectors["roots"][case["size"]])
        verify_inclusion(case["index"], case["size"], leaf, _hashes(case["proof"]), root)


def test_consistency_proofs_match_the_published_vectors(vectors, tree):
    for case in vectors["consistency"]:
        assert tree.consistency_proof(case["old_size"], case["new_size"]) == _hashes(case["proof"]), case


def test_published_consistency_proofs_verify_against_published_roots(vectors):
    for case in vectors["consistency"]:
        verify_consistency(case["old_size"], case["new_size"], bytes.fromhex(vectors["roots"][case["old_size"]]),
                           bytes.fromhex(vectors["roots"][case["new_size"]]), _hashes(case["proof"]))


def test_a_published_proof_against_the_wrong_root_is_rejected(vectors):
    case = vectors["inclusion"][1]
    leaf = leaf_hash(bytes.fromhex(vectors["leaves"][case["index"]]))
    with pytest.raises(ProofError, match="does not lead to the root"):
        verify_inclusion(case["index"], case["size"], leaf, _hashes(case["proof"]), bytes.fromhex(vectors["roots"][7]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=0, max_size=70))
def test_root_equals_the_rfc_definition_for_any_number_of_leaves(entries):
    tree = MerkleTree([leaf_hash(e) for e in entries])
    for size in range(len(entries) + 1):
        assert tree.root(size) == reference_root(entries[:size])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70), st.data())
def test_every_generated_inclusion_proof_verifies(n, data):
    tree = MerkleTree([leaf_hash(bytes([i % 256, i // 256])) for i in range(n)])
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(index, size, tree.leaf(index), proof, tree.root(size))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70), st.data())
def test_every_generated_consistency_proof_verifies(n, data):
    tree = MerkleTree([leaf_hash(bytes([i % 256, i // 256])) for i in range(n)])
    new = data.draw(st.integers(0, n))
    old = data.draw(st.integers(0, new))
    verify_consistency(old, new, tree.root(old), tree.root(new), tree.consistency_proof(old, new))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.data())
def test_an_inclusion_proof_with_any_hash_changed_or_dropped_fails(n, data):
    tree = MerkleTree([leaf_hash(bytes([i])) for i in range(n)])
    index = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(index)
    which = data.draw(st.integers(0, len(proof) - 1))
    flipped = list(proof)
    flipped[which] = bytes([proof[which][0] ^ 1]) + proof[which][1:]
    for bad in (flipped, proof[:which] + proof[which + 1:], proof + [proof[which]]):
        with pytest.raises(ProofError):
            verify_inclusion(index, n, tree.leaf(index), bad, tree.root())
    with pytest.raises(ProofError):  # right proof, wrong position
        verify_inclusion((index + 1) % n, n, tree.leaf(index), proof, tree.root())


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.data())
def test_a_consistency_proof_with_any_hash_changed_fails(n, data):
    tree = MerkleTree([leaf_hash(bytes([i])) for i in range(n)])
    old = data.draw(st.integers(1, n - 1))
    proof = tree.consistency_proof(old)
    which = data.draw(st.integers(0, len(proof) - 1))
    bad = list(proof)
    bad[which] = bytes([proof[which][0] ^ 0x80]) + proof[which][1:]
    with pytest.raises(ProofError):
        verify_consistency(old, n, tree.root(old), tree.root(), bad)


def test_consistency_fails_when_history_was_rewritten():
    honest = MerkleTree([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    forked = MerkleTree([leaf_hash(b"a"), leaf_hash(b"B"), leaf_hash(b"c"), leaf_hash(b"d")])
    with pytest.raises(ProofError):
        verify_consistency(3, 4, honest.root(), forked.root(), forked.consistency_proof(3))


def test_two_roots_for_one_size_are_inconsistent():
    with pytest.raises(ProofError, match="two different roots"):
        verify_consistency(2, 2, node_hash(b"\0" * 32, b"\1" * 32), EMPTY_ROOT, [])


def test_proofs_outside_the_tree_are_refused():
    tree = MerkleTree([leaf_hash(b"x")])
    with pytest.raises(ProofError, match="outside"):
        tree.inclusion_proof(1)
    with pytest.raises(ProofError, match="outside"):
        root_from_inclusion_proof(5, 3, leaf_hash(b"x"), [])
    with pytest.raises(ProofError, match="outside"):
        tree.consistency_proof(2, 1)
