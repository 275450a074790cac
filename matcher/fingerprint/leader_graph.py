"""Load-time rewrite of the LEADER graph: fuse the normalisation and activation subgraphs.

The TensorFlow-to-ONNX converter left every layer normalisation as ~12 element-wise nodes
(ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Reciprocal, Mul, Neg, Mul, Add, Mul, Add) over the
channel axis of an NCHW tensor, and every tanh-GELU as 8 (Transpose, Pow, Mul, Transpose, Add, Mul,
Tanh, Add, Mul). onnxruntime's own fusions do not recognise these forms, and together they took about
45 % of the run. Here each layer normalisation becomes Transpose -> LayerNormalization(axis=-1) ->
Transpose and each GELU one ``com.microsoft.FastGelu`` (the same tanh formula); the outputs agree
with the original graph to float rounding (benchmarked: identical detections on FVC2002).
Matching is by the layer names the converter wrote ("<layer>/moments/mean", "<layer>/Gelu/Tanh");
a layer whose pieces are not all found is left as it was.

Then layout rewrites (the first below in fuse_layer_norm, the others in leader_layout.py), so
onnxruntime's blocked (NCHWc) convolution layout is broken less often (profiled at 0.9 x on FVC2002:
reorders and transposes around the fused nodes took ~20 % of the run):
- a layer normalisation over at most SMALL_NORM_CHANNELS channels (the heads' 4) is computed in NCHW
  with ReduceMean over the channel axis: LayerNormalization on rows of 4 values cost more than the
  element-wise form, and it needs no transposes;
- a GELU that follows a normalisation runs before the transpose back to NCHW (element-wise, so the
  order does not change a value), which lets onnxruntime fold that transpose into its layout reorder;
- a depthwise convolution on a channel count that is not a multiple of DEPTHWISE_BLOCK (the decoder's
  106 / 219 / 59 channels; onnxruntime's blocked depthwise kernel needs whole blocks and otherwise runs
  a generic kernel ~8x slower per operation) gets zero channels padded on, a zero-padded filter, and
  the padding sliced off again after its transpose to NHWC;
- an inverted bottleneck after a normalisation (1x1 Conv -> GELU -> 1x1 Conv, 4x wide) runs in NHWC
  as MatMul -> Add -> FastGelu -> MatMul -> Add with one transpose at its end, instead of reordering its
  widest tensor into and out of the blocked layout around the GELU.
Last, the head's atan2 (the converter's ~25 element-wise nodes over the whole map) is cut off and its
(cosine, sine) input made a second output, so leader_model.run computes the direction with
numpy.arctan2 (same angles to 1e-6 rad at every detection; -1.8 % CPU at 0.9 x).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import leader_layout as layout_rewrites
from .onnx_proto import (ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, TENSOR_FLOAT, TENSOR_INT64, ModelProto,
                         float_values)

_TO_NHWC, _TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]
SMALL_NORM_CHANNELS = 4            # normalisations over this many channels or fewer stay in NCHW


@dataclass(frozen=True)
class Rewritten:
    """The rewritten model and how many subgraphs each rewrite changed."""
    data: bytes
    layer_norms: int
    gelus: int
    small_norms: int
    gelus_moved: int
    depthwise_padded: int
    bottlenecks: int
    direction_outside: int


class _Rewrite:
    def __init__(self, model, small_norm_channels: int = SMALL_NORM_CHANNELS):
        self.small_norm_channels = small_norm_channels
        self.small_norms = 0
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.by_name = {n.name: n for n in self.graph.node}
        self.replaced: set[str] = set()

    def node(self, op, inputs, outputs, name, domain="", **attributes):
        n = self.graph.node.add(op_type=op, name=name, domain=domain)
        n.input.extend(inputs)
        n.output.extend(outputs)
        for key, value in attributes.items():
            a = n.attribute.add(name=key)
            if isinstance(value, float):
                a.f, a.type = value, ATTRIBUTE_FLOAT
            elif isinstance(value, int):
                a.i, a.type = value, ATTRIBUTE_INT
            else:
                a.ints.extend(value)
                a.type = ATTRIBUTE_INTS

    def constant(self, node):
        found = [i for i in node.input if i in self.initializers]
        return float_values(self.initializers[found[0]]) if found else None

    def vector(self, name, values, shape=None):
        t = self.graph.initializer.add(name=name, data_type=TENSOR_FLOAT, raw_data=values.astype(np.float32).tobytes())
        t.dims.extend(shape or [values.size])

    def integers(self, name, values):
        values = np.asarray(values, "<i8")
        t = self.graph.initializer.add(name=name, data_type=TENSOR_INT64, raw_data=values.tobytes())
        t.dims.extend([values.size])

    def fuse_layer_norm(self, mean_node) -> bool:
        layer = mean_node.name.rsplit("/moments/", 1)[0]
        scale, shift, eps, out = (self.by_name.get(layer + s) for s in ("/mul", "/add_1", "/add", "/add_2"))
        if None in (scale, shift, eps, out):
            return False
        gamma, beta, epsilon = self.constant(scale), self.constant(shift), self.constant(eps)
        if gamma is None or beta is None or epsilon is None or gamma.size != beta.size:
            return False
        self.replaced.add(out.name)
        if gamma.size <= self.small_norm_channels:
            self.small_layer_norm(layer, mean_node.input[0], out.output[0], gamma, beta, float(epsilon[0]))
            self.small_norms += 1
            return True
        self.vector(layer + "/fused_gamma", gamma)
        self.vector(layer + "/fused_beta", beta)
        self.node("Transpose", [mean_node.input[0]], [layer + "/fused_nhwc"], layer + layout_rewrites.LN_TO_NHWC,
                  perm=_TO_NHWC)
        self.node("LayerNormalization", [layer + "/fused_nhwc", layer + "/fused_gamma", layer + "/fused_beta"],
                  [layer + "/fused_normalised"], layer + "/fused_layer_norm", axis=-1, epsilon=float(epsilon[0]))
        self.node("Transpose", [layer + "/fused_normalised"], [out.output[0]], layer + layout_rewrites.LN_TO_NCHW,
                  perm=_TO_NCHW)
        return True

    def small_layer_norm(self, layer, x, y, gamma, beta, epsilon) -> None:
        """Normalisation over the channel axis of NCHW ``x`` in element-wise nodes (few channels)."""
        p = layer + "/fused_nchw_"
        self.vector(p + "gamma", gamma, [1, gamma.size, 1, 1])
        self.vector(p + "beta", beta, [1, beta.size, 1, 1])
        self.vector(p + "epsilon", np.array([epsilon]), [])
        self.node("ReduceMean", [x], [p + "mean"], p + "mean", axes=[1], keepdims=1)
        self.node("Sub", [x, p + "mean"], [p + "centred"], p + "centred")
        self.node("Mul", [p + "centred", p + "centred"], [p + "squares"], p + "squares")
        self.node("ReduceMean", [p + "squares"], [p + "variance"], p + "variance", axes=[1], keepdims=1)
        self.node("Add", [p + "variance", p + "epsilon"], [p + "variance_eps"], p + "variance_eps")
        self.node("Sqrt", [p + "variance_eps"], [p + "deviation"], p + "deviation")
        self.node("Div", [p + "centred", p + "deviation"], [p + "normalised"], p + "normalised")
        self.node("Mul", [p + "normalised", p + "gamma"], [p + "scaled"], p + "scaled")
        self.node("Add", [p + "scaled", p + "beta"], [y], p + "shifted")

    def consumers(self) -> dict:
        found: dict = {}
        for n in self.graph.node:
            for i in n.input:
                found.setdefault(i, []).append(n)
        return found

    def fuse_gelu(self, tanh_node) -> bool:
        layer = tanh_node.name.rsplit("/", 1)[0]
        half, out = self.by_name.get(layer + "/mul"), self.by_name.get(layer + "/mul_3")
        if half is None or out is None or self.constant(half) is None:
            return False
        x = [i for i in half.input if i not in self.initializers][0]
        self.replaced.add(out.name)
        self.node("FastGelu", [x], [out.output[0]], layer + "/fused_gelu", domain="com.microsoft")
        return True

    def prune_and_sort(self):
        """Drop nodes whose outputs nobody reads, then order the rest topologically."""
        g = self.graph
        keep = [n for n in g.node if n.name not in self.replaced]
        wanted = {o.name for o in g.output}
        while True:
            used = set(wanted).union(*(n.input for n in keep))
            alive = [n for n in keep if any(o in used for o in n.output)]
            if len(alive) == len(keep):
                break
            keep = alive
        ready = {i.name for i in g.input} | {t.name for t in g.initializer} | {""}
        ordered, pending = [], keep
        while pending:
            waiting = []
            for n in pending:
                if all(i in ready for i in n.input):
                    ordered.append(n)
                    ready.update(n.output)
                else:
                    waiting.append(n)
            if len(waiting) == len(pending):
                raise ValueError("LEADER graph rewrite left a cycle")
            pending = waiting
        _replace(g.node, ordered)
        used = set().union(*(n.input for n in ordered))
        _replace(g.initializer, [t for t in g.initializer if t.name in used])
        produced = set().union(*(n.output for n in ordered))
        _replace(g.value_info, [v for v in g.value_info if v.name in produced])


def _replace(field, items) -> None:
    copies = []
    for item in items:
        c = type(item)()
        c.CopyFrom(item)
        copies.append(c)
    del field[:]
    field.extend(copies)


def rewritten_model(data: bytes, layout: bool = True) -> Rewritten:
    """The packaged model with its normalisations and GELUs fused and, with ``layout``, the layout
    rewrites applied (module docstring)."""
    model = ModelProto()
    model.ParseFromString(data)
    rewrite = _Rewrite(model, SMALL_NORM_CHANNELS if layout else 0)
    norms = sum(rewrite.fuse_layer_norm(n) for n in list(model.graph.node)
                if n.op_type == "ReduceMean" and n.name.endswith("/moments/mean"))
    gelus = sum(rewrite.fuse_gelu(n) for n in list(model.graph.node) if n.op_type == "Tanh")
    rewrite.prune_and_sort()
    moved = padded = bottlenecks = direction = 0
    if layout:
        moved, padded = layout_rewrites.move_gelus_before_transposes(rewrite), layout_rewrites.pad_depthwise(rewrite)
        bottlenecks = layout_rewrites.bottlenecks_in_nhwc(rewrite)
        direction = layout_rewrites.direction_outside(rewrite)
        rewrite.prune_and_sort()
    if gelus and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.add(domain="com.microsoft", version=1)
    return Rewritten(model.SerializeToString(), norms, gelus, rewrite.small_norms, moved, padded, bottlenecks,
                     direction)


def fused_model(data: bytes, layout: bool = True) -> tuple[bytes, int, int]:
    """(rewritten model bytes, layer normalisations fused, GELUs fused)."""
    done = rewritten_model(data, layout)
    return done.data, done.layer_norms, done.gelus
