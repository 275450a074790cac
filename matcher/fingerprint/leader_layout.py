"""Layout rewrites of the fused LEADER graph (leader_graph.py applies them after its fusions), so
onnxruntime's blocked (NCHWc) convolution layout is broken less often. Each function takes the
graph rewrite in progress (leader_graph._Rewrite) and returns how many subgraphs it changed; why each
one pays is in leader_graph's docstring.
"""
from __future__ import annotations

import numpy as np

from .onnx_proto import ATTRIBUTE_INTS, float_values

DEPTHWISE_BLOCK = 8                # onnxruntime's NCHWc block on AVX2 (the booth's CPU class)
_TO_NCHW = [0, 3, 1, 2]
# Name suffixes of the Transposes around our fused LayerNormalization (leader_graph.py names them so):
# the rewrites below recognise the normalisation's input and output by them.
LN_TO_NHWC = "/fused_to_nhwc"
LN_TO_NCHW = "/fused_to_nchw"


def _normalisation_outputs(rewrite):
    """The Transposes that bring our LayerNormalization's output back to NCHW, in graph order."""
    return [t for t in list(rewrite.graph.node) if t.op_type == "Transpose" and t.name.endswith(LN_TO_NCHW)]


def move_gelus_before_transposes(rewrite) -> int:
    """Our LN's Transpose(to NCHW) -> FastGelu becomes FastGelu -> Transpose (same values)."""
    users = rewrite.consumers()
    moved = 0
    for t in _normalisation_outputs(rewrite):
        readers = users.get(t.output[0], [])
        if len(readers) != 1 or readers[0].op_type != "FastGelu":
            continue
        gelu = readers[0]
        nhwc_gelu = t.output[0] + "_gelu_nhwc"
        gelu_out = gelu.output[0]
        gelu.input[0], gelu.output[0] = t.input[0], nhwc_gelu
        t.input[0], t.output[0] = nhwc_gelu, gelu_out
        moved += 1
    return moved


def pad_depthwise(rewrite) -> int:
    """Depthwise Conv on C % DEPTHWISE_BLOCK != 0 channels read only by our LN's Transpose: Pad the
    input with zero channels, zero-pad the filter, Slice the padding off in NHWC."""
    users = rewrite.consumers()
    padded = 0
    for conv in list(rewrite.graph.node):
        if conv.op_type != "Conv" or conv.input[1] not in rewrite.initializers:
            continue
        weights = rewrite.initializers[conv.input[1]]
        group = next((a for a in conv.attribute if a.name == "group"), None)
        channels = int(weights.dims[0])
        if (len(weights.dims) != 4 or weights.dims[1] != 1 or group is None or group.i != channels
                or channels % DEPTHWISE_BLOCK == 0 or len(conv.input) > 2):
            continue
        readers = users.get(conv.output[0], [])
        if len(readers) != 1 or not readers[0].name.endswith(LN_TO_NHWC):
            continue
        transpose = readers[0]
        blocks = -(-channels // DEPTHWISE_BLOCK) * DEPTHWISE_BLOCK
        p = conv.name + "/blocked_"
        w = np.zeros((blocks,) + tuple(weights.dims[1:]), np.float32)
        w[:channels] = float_values(weights).reshape(tuple(weights.dims))
        rewrite.vector(p + "filter", w.ravel(), list(w.shape))
        rewrite.integers(p + "pads", [0, 0, 0, 0, 0, blocks - channels, 0, 0])
        rewrite.integers(p + "start", [0])
        rewrite.integers(p + "end", [channels])
        rewrite.integers(p + "axis", [3])
        rewrite.node("Pad", [conv.input[0], p + "pads"], [p + "input"], p + "pad")
        conv.input[0], conv.input[1] = p + "input", p + "filter"
        group.i = blocks
        nhwc = transpose.output[0]
        transpose.output[0] = p + "nhwc"
        rewrite.node("Slice", [p + "nhwc", p + "start", p + "end", p + "axis"], [nhwc], p + "slice")
        padded += 1
    return padded


def bottlenecks_in_nhwc(rewrite) -> int:
    """Our LN's Transpose(to NCHW) -> 1x1 Conv -> FastGelu -> 1x1 Conv, each read once: NHWC MatMuls."""
    users = rewrite.consumers()
    done = 0
    for t in _normalisation_outputs(rewrite):
        chain, tensor = [t], t.output[0]
        for op in ("Conv", "FastGelu", "Conv"):
            readers = users.get(tensor, [])
            if len(readers) != 1 or readers[0].op_type != op:
                break
            chain.append(readers[0])
            tensor = readers[0].output[0]
        if len(chain) != 4 or not all(_pointwise(rewrite, c) for c in (chain[1], chain[3])):
            continue
        _, expand, gelu, reduce = chain
        p = expand.name + "/nhwc_"
        for name, conv in (("expand", expand), ("reduce", reduce)):
            w = rewrite.initializers[conv.input[1]]
            matrix = float_values(w).reshape(int(w.dims[0]), int(w.dims[1])).T
            rewrite.vector(p + name + "_matrix", matrix.ravel(), list(matrix.shape))
        rewrite.node("MatMul", [t.input[0], p + "expand_matrix"], [p + "expanded"], p + "expand")
        rewrite.node("Add", [p + "expanded", expand.input[2]], [p + "expanded_bias"], p + "expand_bias")
        rewrite.node("FastGelu", [p + "expanded_bias"], [p + "activated"], p + "gelu", domain="com.microsoft")
        rewrite.node("MatMul", [p + "activated", p + "reduce_matrix"], [p + "reduced"], p + "reduce")
        rewrite.node("Add", [p + "reduced", reduce.input[2]], [p + "reduced_bias"], p + "reduce_bias")
        rewrite.node("Transpose", [p + "reduced_bias"], [reduce.output[0]], p + "to_nchw", perm=_TO_NCHW)
        rewrite.replaced.update(n.name for n in chain)
        done += 1
    return done


def direction_outside(rewrite) -> int:
    """The head's atan2 (~25 element-wise nodes over the full map, ~3 % of the run) is cut off: the
    direction channel of the output carries the sine slice instead, and the direction vector map
    becomes a second graph output (DIRECTION_OUTPUT); leader_model.run takes its arctan2."""
    producers = {o: n for n in rewrite.graph.node for o in n.output}
    concat = next((n for n in rewrite.graph.node if n.name.endswith("/head_conc_1/concat")), None)
    slices = {n.name.rsplit("/", 1)[1]: n for n in rewrite.graph.node
              if n.op_type == "Slice" and "/head_atan2_1/" in n.name}
    if concat is None or set(slices) != {"strided_slice", "strided_slice_1"} or len(concat.input) != 4:
        return 0
    sine, cosine = slices["strided_slice"], slices["strided_slice_1"]
    first = [tuple(_values_int(rewrite.initializers[i]) for i in n.input[1:4]) for n in (sine, cosine)]
    if sine.input[0] != cosine.input[0] or first != [((1,), (2,), (1,)), ((0,), (1,), (1,))]:
        return 0
    tensor, found = concat.input[1], None
    for _ in range(4):          # Reshape <- Unsqueeze <- the atan2's last Add
        found = producers.get(tensor)
        if found is None or "/head_atan2_1/" in found.name:
            break
        tensor = found.input[0]
    if found is None or "/head_atan2_1/" not in found.name:
        return 0
    concat.input[1] = sine.output[0]
    rewrite.graph.output.add(name=sine.input[0])
    return 1


def _values_int(tensor) -> tuple:
    return tuple(int(v) for v in np.frombuffer(tensor.raw_data, "<i8")) if tensor.raw_data else ()


def _pointwise(rewrite, conv) -> bool:
    """A 1x1 Conv of stride 1, no groups, with a bias, all constant."""
    if len(conv.input) != 3 or conv.input[1] not in rewrite.initializers or conv.input[2] not in rewrite.initializers:
        return False
    w = rewrite.initializers[conv.input[1]]
    plain = {"strides": [1, 1], "dilations": [1, 1], "group": 1, "kernel_shape": [1, 1]}
    for a in conv.attribute:
        value = list(a.ints) if a.type == ATTRIBUTE_INTS else a.i
        if a.name in plain and value != plain[a.name]:
            return False
        if a.name == "pads" and any(value):
            return False
    return len(w.dims) == 4 and list(w.dims[2:]) == [1, 1]
