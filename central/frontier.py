"""The right edge of an RFC 9162 Merkle tree: enough to extend it and compute its root, in O(log n).

A tree of ``size`` leaves is the concatenation of perfect subtrees, one per set bit of ``size``
(largest first); the frontier is their roots. Appending leaf hashes merges equal-height subtrees
like binary addition; the root is the RFC's MTH, folding the subtrees from the right. The server
keeps one frontier per kiosk instead of every leaf, and checks that a push's entries turn the
frontier it accepted into the root the kiosk signed (kiosk.audit.merkle gives the test vectors).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from kiosk.audit.merkle import EMPTY_ROOT, node_hash


@dataclass(frozen=True)
class Frontier:
    size: int = 0
    hashes: tuple[bytes, ...] = ()   # perfect subtree roots, largest (leftmost) first

    def extend(self, leaf_hashes: Iterable[bytes]) -> "Frontier":
        size, stack = self.size, list(self.hashes)
        for leaf in leaf_hashes:
            stack.append(leaf)
            merged, n = leaf, size
            while n & 1:                 # the subtree to the left has the same height: merge
                left = stack.pop(-2)
                stack[-1] = merged = node_hash(left, merged)
                n >>= 1
            size += 1
        return Frontier(size, tuple(stack))

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def to_hex(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_hex(cls, size: int, hashes: Iterable[str]) -> "Frontier":
        frontier = cls(size, tuple(bytes.fromhex(h) for h in hashes))
        if len(frontier.hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of size {size} has {bin(size).count('1')} hashes")
        return frontier
