"""SFace's int8 graph made batchable and fast for onnxruntime, by editing the ONNX protobuf's wire format.

The pinned `face_recognition_sface_2021dec_int8bq.onnx` stores its weights block-quantized: each weight is an int8
initializer behind a DequantizeLinear (and a Reshape) node, so every run dequantizes 6.5M weights again (~2/3 of
OpenCV's ~25 ms per face), the batch axis is fixed at 1, and stale graph inputs named like the weights make
onnxruntime refuse the file. `batched_float_graph` runs the weight-only nodes once in onnxruntime (its own
DequantizeLinear semantics, nothing re-implemented), stores their results as float initializers, drops the stale
inputs and the shape hints, and names the batch axis `N`. The arithmetic of every face is unchanged: the outputs equal
OpenCV's within float rounding (tests/vision/test_batched_embeddings.py).

The `onnx` package would do this in a few calls; a hundred lines of wire format saves a 17 MB dependency.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# ONNX field numbers (onnx.proto3): ModelProto.graph=7; GraphProto node=1, initializer=5, input=11, output=12,
# value_info=13; NodeProto input=1, output=2, op_type=4; ValueInfoProto name=1, type=2; TypeProto tensor_type=1;
# TypeProto.Tensor elem_type=1, shape=2; TensorShapeProto dim=1; Dimension dim_param=2; TensorProto dims=1,
# data_type=2, name=8, raw_data=9.
_MODEL_GRAPH, _NODE, _INITIALIZER, _INPUT, _OUTPUT, _VALUE_INFO = 7, 1, 5, 11, 12, 13
_FLOAT = 1


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


@dataclass(frozen=True)
class _Field:
    number: int
    raw: bytes  # the whole field as it appeared (key and payload), to copy unchanged
    payload: memoryview | None  # length-delimited fields only


def _fields(buf: memoryview) -> Iterator[_Field]:
    i = 0
    while i < len(buf):
        start = i
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        payload = None
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = _varint(buf, i)
            payload = buf[i : i + length]
            i += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield _Field(number, bytes(buf[start:i]), payload)


def _message(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _strings(buf: memoryview, number: int) -> list[str]:
    return [bytes(f.payload).decode() for f in _fields(buf) if f.number == number and f.payload is not None]


@dataclass(frozen=True)
class _Node:
    raw: bytes
    inputs: list[str]
    outputs: list[str]
    op: str


def _float_tensor(name: str, array: np.ndarray) -> bytes:
    dims = b"".join(_encode_varint(1 << 3) + _encode_varint(int(d)) for d in array.shape)
    return (
        dims
        + _encode_varint(2 << 3)
        + _encode_varint(_FLOAT)
        + _message(8, name.encode())
        + _message(9, np.ascontiguousarray(array, dtype="<f4").tobytes())
    )


def _float_value(name: str) -> bytes:
    """A ValueInfoProto naming a float tensor of any shape."""
    tensor = _encode_varint(1 << 3) + _encode_varint(_FLOAT)
    return _message(1, name.encode()) + _message(2, _message(1, tensor))


def _with_batch_axis(value_info: memoryview) -> bytes:
    """The same ValueInfoProto with its first dimension replaced by the symbolic `N`."""
    out = b""
    for f in _fields(value_info):
        if f.number != 2 or f.payload is None:
            out += f.raw
            continue
        type_proto = b""
        for t in _fields(f.payload):
            if t.number != 1 or t.payload is None:
                type_proto += t.raw
                continue
            tensor = b""
            for s in _fields(t.payload):
                if s.number != 2 or s.payload is None:
                    tensor += s.raw
                    continue
                dims = [d.raw for d in _fields(s.payload)]
                dims[0] = _message(1, _message(2, b"N"))
                tensor += _message(2, b"".join(dims))
            type_proto += _message(1, tensor)
        out += _message(2, type_proto)
    return out


def batched_float_graph(model: bytes) -> bytes:
    """`model` with its weight-only nodes computed once into float initializers and a batch axis `N` (see above)."""
    top = list(_fields(memoryview(model)))
    graph = next(f.payload for f in top if f.number == _MODEL_GRAPH and f.payload is not None)
    parts = list(_fields(graph))
    initializers = {_strings(f.payload, 8)[0]: f.raw for f in parts if f.number == _INITIALIZER and f.payload}
    nodes = [
        _Node(f.raw, _strings(f.payload, 1), _strings(f.payload, 2), _strings(f.payload, 4)[0])
        for f in parts
        if f.number == _NODE and f.payload is not None
    ]
    constant: set[str] = set(initializers)
    weight_nodes: list[_Node] = []
    for node in nodes:  # ONNX nodes are topologically sorted
        if node.op in {"DequantizeLinear", "Reshape"} and node.inputs and all(i in constant for i in node.inputs):
            weight_nodes.append(node)
            constant.update(node.outputs)
    compute_nodes = [n for n in nodes if n not in weight_nodes]
    used = {i for n in compute_nodes for i in n.inputs}
    folded = [o for n in weight_nodes for o in n.outputs if o in used]
    header = b"".join(f.raw for f in top if f.number != _MODEL_GRAPH)
    values = _run_once(header, weight_nodes, initializers, folded)

    kept = b""
    for f in parts:
        if f.number in (_NODE, _VALUE_INFO):
            continue  # nodes are written below; the shape hints say batch 1, so they go
        if f.number == _INITIALIZER and f.payload is not None and _strings(f.payload, 8)[0] not in used:
            continue  # only the weight nodes read it
        if f.number == _INPUT and f.payload is not None:
            name = _strings(f.payload, 1)[0]
            if name in used and name not in initializers:
                kept += _message(_INPUT, _with_batch_axis(f.payload))
            continue  # an initializer listed as an input, or a stale input no node reads
        if f.number == _OUTPUT and f.payload is not None:
            kept += _message(_OUTPUT, _with_batch_axis(f.payload))
            continue
        kept += f.raw
    kept += b"".join(n.raw for n in compute_nodes)
    kept += b"".join(_message(_INITIALIZER, _float_tensor(name, values[name])) for name in folded)
    return header + _message(_MODEL_GRAPH, kept)


def _run_once(
    header: bytes, weight_nodes: list[_Node], initializers: dict[str, bytes], outputs: list[str]
) -> dict[str, np.ndarray]:
    """The weight nodes' results, computed by onnxruntime from a graph of just them (no inputs)."""
    if not outputs:
        return {}
    import onnxruntime as ort

    needed = dict.fromkeys(i for n in weight_nodes for i in n.inputs if i in initializers)
    graph = b"".join(n.raw for n in weight_nodes) + b"".join(initializers[i] for i in needed)
    graph += b"".join(_message(_OUTPUT, _float_value(name)) for name in outputs)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(header + _message(_MODEL_GRAPH, graph), options, providers=["CPUExecutionProvider"])
    return dict(zip(outputs, session.run(outputs, {}), strict=True))
