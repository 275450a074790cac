"""Population count of 64-bit words as one CPU instruction inside numba-compiled code."""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def popcount64(typingctx, word):
    """Number of set bits in a uint64 (LLVM ctpop; POPCNT on x86-64)."""
    if word != types.uint64:
        return None
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, args)

    return signature, codegen


@njit(cache=True)
def popcount_words(words):
    total = 0
    for w in words:
        total += popcount64(w)
    return total
