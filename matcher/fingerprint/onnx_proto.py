"""The few ONNX protobuf messages and fields the LEADER graph rewrite reads or writes.

The ``onnx`` package is not a dependency (it is not installed in the project's environment), so the
schema is declared here with protobuf's descriptor API. Fields not declared are kept as unknown
fields and written back unchanged, so a parse-edit-serialise round trip loses nothing.
Field numbers are those of onnx/onnx.proto (IR version 8).
"""
from __future__ import annotations

import numpy as np

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_ONE, _MANY = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_MESSAGES = {
    "TensorProto": [("dims", 1, _F.TYPE_INT64, _MANY), ("data_type", 2, _F.TYPE_INT32, _ONE),
                    ("float_data", 4, _F.TYPE_FLOAT, _MANY), ("name", 8, _F.TYPE_STRING, _ONE),
                    ("raw_data", 9, _F.TYPE_BYTES, _ONE)],
    "AttributeProto": [("name", 1, _F.TYPE_STRING, _ONE), ("f", 2, _F.TYPE_FLOAT, _ONE),
                       ("i", 3, _F.TYPE_INT64, _ONE), ("ints", 8, _F.TYPE_INT64, _MANY),
                       ("type", 20, _F.TYPE_INT32, _ONE)],
    "NodeProto": [("input", 1, _F.TYPE_STRING, _MANY), ("output", 2, _F.TYPE_STRING, _MANY),
                  ("name", 3, _F.TYPE_STRING, _ONE), ("op_type", 4, _F.TYPE_STRING, _ONE),
                  ("attribute", 5, "AttributeProto", _MANY), ("domain", 7, _F.TYPE_STRING, _ONE)],
    "ValueInfoProto": [("name", 1, _F.TYPE_STRING, _ONE)],
    "GraphProto": [("node", 1, "NodeProto", _MANY), ("initializer", 5, "TensorProto", _MANY),
                   ("input", 11, "ValueInfoProto", _MANY), ("output", 12, "ValueInfoProto", _MANY),
                   ("value_info", 13, "ValueInfoProto", _MANY)],
    "OperatorSetIdProto": [("domain", 1, _F.TYPE_STRING, _ONE), ("version", 2, _F.TYPE_INT64, _ONE)],
    "ModelProto": [("ir_version", 1, _F.TYPE_INT64, _ONE), ("graph", 7, "GraphProto", _ONE),
                   ("opset_import", 8, "OperatorSetIdProto", _MANY)],
}
ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS = 1, 2, 7
TENSOR_FLOAT, TENSOR_INT64 = 1, 7


def _build():
    file = descriptor_pb2.FileDescriptorProto(name="kiosk_onnx_subset.proto", package="kiosk_onnx",
                                              syntax="proto2")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, label in fields:
            field = message.field.add(name=field_name, number=number, label=label)
            if isinstance(kind, str):
                field.type, field.type_name = _F.TYPE_MESSAGE, f".kiosk_onnx.{kind}"
            else:
                field.type = kind
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("kiosk_onnx.ModelProto"))


ModelProto = _build()


def float_values(tensor) -> np.ndarray:
    """A float32 initializer's values, flat, whether the converter wrote them raw or as a list."""
    if tensor.raw_data:
        return np.frombuffer(tensor.raw_data, np.float32)
    return np.array(tensor.float_data, np.float32)
