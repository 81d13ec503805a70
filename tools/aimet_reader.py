#!/usr/bin/env python3
"""An independent reader of AIMET encodings: AIMET's documented formulas applied to an FP32 ONNX model, run in numpy.

It shares no code with Quant.Net and uses only json, onnx and numpy (onnx's own dependency). It reads the pair that
AIMET's `sim.export` writes and QNN's converters consume -- here the one `quant quantize --aimet-model M.onnx
--encodings E.json` writes -- fake-quantizes every tensor the encodings name (parameters when the model is loaded,
model inputs when fed, activations as they are computed) and evaluates the graph:

    0.6.1 / 1.0.0 (unsigned domain):  q = clamp(round(x / scale) - offset, 0, qmax),  x^ = (q + offset) * scale
        qmax = 2^bw - 1, or 2^bw - 2 for strict symmetric entries (is_sym with offset -2^(bw-1) + 1)
    2.0.0 (ONNX QuantizeLinear terms): q = clamp(round(x / y_scale) + y_zero_point, qmin(dtype), qmax(dtype)),
        x^ = (q - y_zero_point) * y_scale

round() is half to even, as ONNX's QuantizeLinear and PyTorch round. Per-channel scales lie along the weight's output
axis (Conv 0, ConvTranspose 1, Gemm 0 with transB else 1, MatMul the last); per-block scales (1.0.0 PER_BLOCK, 2.0.0
block_size) have the weight's shape with the input axis divided by the block size (Conv [O, I/B, 1, 1]: a block spans
the kernel window); LPBQ scales are per_block_int_scale x the per-channel float scale.

usage: aimet_reader.py MODEL.onnx ENCODINGS.json --input NAME=FILE.npy [--input ...] --output-dir DIR
Writes each graph output to DIR/output_<i>.npy (float32) in the graph's output order. With ENCODINGS "-" the model runs
as it is: a QDQ model's QuantizeLinear/DequantizeLinear nodes are evaluated with the same numpy arithmetic, which is how
a test compares the two routes without float summation order in between.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


class Encoding:
    """One tensor's grid: scale broadcastable to the tensor, the zero point added to round(x / scale), [qmin, qmax]."""

    def __init__(self, name, scale, zero_point, qmin, qmax, kind, block_size=None, axis=None):
        self.name, self.kind, self.block_size, self.axis = name, kind, block_size, axis
        self.scale = np.asarray(scale, dtype=np.float32)
        self.zero_point = np.asarray(zero_point, dtype=np.float32)
        self.qmin, self.qmax = float(qmin), float(qmax)

    def apply(self, x, shape_scale):
        s, z = shape_scale(self.scale), shape_scale(self.zero_point)
        q = np.clip(np.round(x.astype(np.float32) / s) + z, self.qmin, self.qmax)
        return ((q - z) * s).astype(np.float32)


def _bool(v):
    return v is True or v == "True" or v == "true"


def _unsigned(name, bw, scales, offsets, symmetric, kind, block_size=None):
    """0.6.1/1.0.0: q_u = round(x/s) - offset in [0, qmax]; as round(x/s) + z with z = -offset."""
    strict = symmetric and all(o == -(1 << (bw - 1)) + 1 for o in offsets)
    qmax = (1 << bw) - (2 if strict else 1)
    return Encoding(name, scales, [-o for o in offsets], 0, qmax, kind, block_size)


def read_encodings(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = {}
    version = doc.get("version", "0.6.1")
    if version == "0.6.1":
        for section in ("activation_encodings", "param_encodings"):
            for name, entries in doc.get(section, {}).items():
                if isinstance(entries, dict):
                    entries = [entries]
                e0 = entries[0]
                if e0.get("dtype", "int") != "int":
                    continue  # a float tensor: no integer grid
                kind = "PER_TENSOR" if len(entries) == 1 else "PER_CHANNEL"
                out[name] = _unsigned(name, int(e0["bitwidth"]), [e["scale"] for e in entries], [int(e["offset"]) for e in entries],
                                      _bool(e0.get("is_symmetric", "False")), kind)
    elif version == "1.0.0":
        for section in ("activation_encodings", "param_encodings"):
            for e in doc.get(section, []):
                if e.get("dtype", "INT") != "INT":
                    continue
                kind, bw = e["enc_type"], int(e["bw"])
                if kind == "LPBQ":
                    # Per-channel float scales times per-block integer scales.
                    ints = np.asarray(e["per_block_int_scale"], dtype=np.float64)
                    channel = np.asarray(e["scale"], dtype=np.float64).reshape(-1, *([1] * (ints.ndim - 1))) if ints.ndim > 1 else np.asarray(e["scale"])
                    scales = (ints * channel).astype(np.float32)
                    offsets = list(np.broadcast_to(np.asarray(e["offset"]).reshape(-1, *([1] * (ints.ndim - 1))), ints.shape).ravel())
                    enc = _unsigned(e["name"], bw, scales.ravel(), [int(o) for o in offsets], _bool(e["is_sym"]), "PER_BLOCK", int(e["block_size"]))
                    enc.scale, enc.zero_point = scales, -np.asarray(offsets, dtype=np.float32).reshape(ints.shape)
                    out[e["name"]] = enc
                    continue
                if kind not in ("PER_TENSOR", "PER_CHANNEL", "PER_BLOCK"):
                    raise ValueError(f"encoding '{e['name']}': enc_type {kind} is not supported by this reader")
                out[e["name"]] = _unsigned(e["name"], bw, e["scale"], [int(o) for o in e["offset"]], _bool(e["is_sym"]), kind,
                                           int(e["block_size"]) if kind == "PER_BLOCK" else None)
    elif version == "2.0.0":
        ranges = {"int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
                  "uint16": (0, 65535), "int32": (-(1 << 31), (1 << 31) - 1)}
        for e in doc["encodings"]:
            dtype = e["output_dtype"]
            if dtype not in ranges:
                continue  # float16/float32: no integer grid
            qmin, qmax = ranges[dtype]
            scale = np.asarray(e["y_scale"], dtype=np.float32)
            zero = np.asarray(e.get("y_zero_point", 0), dtype=np.float32)
            kind = "PER_TENSOR" if scale.ndim == 0 else ("PER_BLOCK" if e.get("block_size") else "PER_CHANNEL")
            out[e["name"]] = Encoding(e["name"], scale, np.broadcast_to(zero, scale.shape), qmin, qmax, kind, e.get("block_size"), e.get("axis"))
    else:
        raise ValueError(f"unknown encodings version {version}")
    return out


def weight_axes(model, name):
    """(output-channel axis, input axis) of a weight as its consumer reads it."""
    for n in model.graph.node:
        if len(n.input) > 1 and n.input[1] == name:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if n.op_type == "Conv":
                return 0, 1
            if n.op_type == "ConvTranspose":
                return 1, 0
            if n.op_type == "Gemm":
                return (0, 1) if attrs.get("transB", 0) else (1, 0)
            if n.op_type == "MatMul":
                return -1, -2
    return None, None


def broadcaster(enc, shape, axes):
    """A function that shapes an encoding's scales (or zero points) to broadcast over a tensor of `shape`."""
    rank = len(shape)
    if enc.kind == "PER_TENSOR" or enc.scale.size == 1:
        return lambda v: v.reshape(())
    channel, inner = axes
    if enc.axis is not None and enc.kind == "PER_CHANNEL":
        channel = enc.axis
    if channel is None:
        raise ValueError(f"'{enc.name}': per-channel or per-block encoding on a tensor that is not a Conv/Gemm/MatMul weight")
    channel %= rank
    if enc.kind == "PER_CHANNEL":
        dims = [shape[d] if d == channel else 1 for d in range(rank)]
        return lambda v: v.reshape(dims)
    inner %= rank
    block = enc.block_size
    if enc.scale.ndim == rank and enc.scale.shape[inner] * block >= shape[inner]:  # 2.0.0: the tensor's shape, input axis divided
        dims = list(enc.scale.shape)
    else:  # 1.0.0: the weight's shape with the input axis divided and the kernel window 1
        dims = [shape[d] if d == channel else (-(-shape[d] // block) if d == inner else 1) for d in range(rank)]

    def expand(v):
        v = np.asarray(v).reshape(dims)
        v = np.repeat(v, block, axis=inner)
        return v.take(range(shape[inner]), axis=inner)
    return expand


def fake_quant(enc, x, axes=(None, None)):
    return enc.apply(x, broadcaster(enc, x.shape, axes))


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pads_for(x_hw, k, strides, dilations, attrs):
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    n = len(k)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(n):
            out = -(-x_hw[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (k[i] - 1) * dilations[i] + 1 - x_hw[i])
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return begin, end
    if auto == "VALID":
        return [0] * n, [0] * n
    pads = list(attrs.get("pads", [0] * (2 * n)))
    return pads[:n], pads[n:]


def windows(x, k, strides, dilations, begin, end, fill, ceil_mode=False):
    """[N, C, *out, *k] views of x padded with `fill`."""
    n = len(k)
    extra = [0] * n
    if ceil_mode:
        for i in range(n):
            size = x.shape[2 + i] + begin[i] + end[i]
            span = (k[i] - 1) * dilations[i] + 1
            out = -(-(size - span) // strides[i]) + 1
            if (out - 1) * strides[i] >= x.shape[2 + i] + begin[i]:
                out -= 1
            extra[i] = max(0, (out - 1) * strides[i] + span - size)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(begin[i], end[i] + extra[i]) for i in range(n)], constant_values=fill)
    spans = [(k[i] - 1) * dilations[i] + 1 for i in range(n)]
    v = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(2, 2 + n)))
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides) + tuple(slice(None, None, d) for d in dilations)
    return v[index], xp, extra


def conv(x, w, b, attrs):
    k = list(w.shape[2:])
    n = len(k)
    strides, dilations, group = list(attrs.get("strides", [1] * n)), list(attrs.get("dilations", [1] * n)), attrs.get("group", 1)
    begin, end = pads_for(x.shape[2:], k, strides, dilations, attrs)
    win, _, _ = windows(x, k, strides, dilations, begin, end, 0.0)
    cg, og = x.shape[1] // group, w.shape[0] // group
    letters = "ijk"[:n]
    outs = []
    for g in range(group):
        wg = win[:, g * cg:(g + 1) * cg]
        kg = w[g * og:(g + 1) * og]
        spatial = "xyz"[:n]
        outs.append(np.einsum(f"nc{spatial}{letters},oc{letters}->no{spatial}", wg, kg, optimize=True))
    y = np.concatenate(outs, axis=1).astype(np.float32)
    if b is not None:
        y = y + b.reshape([1, -1] + [1] * n)
    return y.astype(np.float32)


def pool(x, attrs, kind):
    k = list(attrs["kernel_shape"])
    n = len(k)
    strides, dilations = list(attrs.get("strides", [1] * n)), list(attrs.get("dilations", [1] * n))
    begin, end = pads_for(x.shape[2:], k, strides, dilations, attrs)
    axes = tuple(range(-n, 0))
    ceil = bool(attrs.get("ceil_mode", 0))
    if kind == "max":
        win, _, _ = windows(x, k, strides, dilations, begin, end, -np.inf, ceil)
        return win.max(axis=axes).astype(np.float32)
    win, _, extra = windows(x, k, strides, dilations, begin, end, 0.0, ceil)
    total = win.sum(axis=axes, dtype=np.float32)
    if attrs.get("count_include_pad", 0):
        ones = np.ones((1, 1) + x.shape[2:], dtype=np.float32)
        # Padding counts, the ceil-mode overhang does not.
        inner, _, _ = windows(np.pad(ones, [(0, 0), (0, 0)] + [(begin[i], end[i]) for i in range(n)], constant_values=1.0),
                              k, strides, dilations, [0] * n, extra, 0.0)
        return (total / inner.sum(axis=axes)).astype(np.float32)
    ones = np.ones((1, 1) + x.shape[2:], dtype=np.float32)
    counts, _, _ = windows(ones, k, strides, dilations, begin, end, 0.0, ceil)
    return (total / counts.sum(axis=axes)).astype(np.float32)


INTEGER_RANGES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255), np.dtype(np.int16): (-32768, 32767),
                  np.dtype(np.uint16): (0, 65535), np.dtype(np.int32): (-(1 << 31), (1 << 31) - 1)}


def _qdq_shape(scale, x, attrs):
    """ONNX Q/DQ: a scalar, a 1-D scale along `axis`, or a blocked scale along `axis` with `block_size`."""
    if scale.ndim == 0 or scale.size == 1:
        return scale.reshape(())
    axis = attrs.get("axis", 1) % x.ndim
    block = attrs.get("block_size", 0)
    if block:
        return np.repeat(scale, block, axis=axis).take(range(x.shape[axis]), axis=axis)
    return scale.reshape([x.shape[d] if d == axis else 1 for d in range(x.ndim)])


def quantize_linear(i, attrs, four_bit=None):
    x, scale = i[0], i[1]
    zero = i[2] if len(i) > 2 and i[2] is not None else np.zeros((), np.uint8)
    lo, hi = four_bit or INTEGER_RANGES[zero.dtype]
    q = np.round(x / _qdq_shape(scale, x, attrs)) + _qdq_shape(zero.astype(np.float32), x, attrs)
    return np.clip(q, lo, hi).astype(zero.dtype)


def dequantize_linear(i, attrs):
    q, scale = i[0], i[1]
    zero = i[2] if len(i) > 2 and i[2] is not None else np.zeros((), q.dtype)
    diff = q.astype(np.int64) - _qdq_shape(zero, q, attrs).astype(np.int64)
    return (diff.astype(np.float32) * _qdq_shape(scale, q, attrs)).astype(np.float32)


FOUR_BIT = {22: (-8, 7), 21: (0, 15)}  # TensorProto INT4 and UINT4, which older onnx packages cannot convert


def to_array(tensor):
    """An initializer's values; 4-bit tensors (two values per byte, low nibble first) unpacked into int8/uint8."""
    if tensor.data_type not in FOUR_BIT:
        return numpy_helper.to_array(tensor)
    count = int(np.prod(tensor.dims)) if len(tensor.dims) else 1
    packed = np.frombuffer(tensor.raw_data, dtype=np.uint8) if tensor.raw_data else np.asarray(tensor.int32_data, dtype=np.uint8)
    nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).ravel()[:count].astype(np.int16)
    if tensor.data_type == 22:
        nibbles = np.where(nibbles > 7, nibbles - 16, nibbles)
    return nibbles.astype(np.int8 if tensor.data_type == 22 else np.uint8).reshape(tuple(tensor.dims))


def run(model, encodings, feeds):
    values = {}
    four_bit = {t.name: FOUR_BIT[t.data_type] for t in model.graph.initializer if t.data_type in FOUR_BIT}
    for init in model.graph.initializer:
        v = to_array(init)
        if init.name in encodings and v.dtype == np.float32:
            v = fake_quant(encodings[init.name], v, weight_axes(model, init.name))
        values[init.name] = v
    for inp in model.graph.input:
        if inp.name in values:
            continue
        x = feeds[inp.name]
        values[inp.name] = fake_quant(encodings[inp.name], x) if inp.name in encodings else x

    for node in model.graph.node:
        a = attributes(node)
        i = [values[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else a.get("min", -np.inf)
            hi = i[2] if len(i) > 2 and i[2] is not None else a.get("max", np.inf)
            y = np.clip(i[0], lo, hi)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-i[0]))
        elif op in ("Add", "Sub", "Mul", "Div"):
            y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](i[0], i[1])
        elif op == "MaxPool":
            y = pool(i[0], a, "max")
        elif op == "AveragePool":
            y = pool(i[0], a, "average")
        elif op == "GlobalAveragePool":
            y = i[0].mean(axis=tuple(range(2, i[0].ndim)), keepdims=True, dtype=np.float32)
        elif op == "Flatten":
            axis = a.get("axis", 1) % max(i[0].ndim, 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:axis])), -1)
        elif op == "Reshape":
            shape = [int(d) for d in i[1]]
            shape = [i[0].shape[k] if d == 0 and not a.get("allowzero", 0) else d for k, d in enumerate(shape)]
            y = i[0].reshape(shape)
        elif op == "Transpose":
            y = np.transpose(i[0], a.get("perm"))
        elif op == "Identity":
            y = i[0]
        elif op == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
        elif op == "MatMul":
            y = np.matmul(i[0], i[1])
        elif op in ("QuantizeLinear", "DequantizeLinear"):
            zero = node.input[2] if len(node.input) > 2 else ""
            y = quantize_linear(i, a, four_bit.get(zero)) if op == "QuantizeLinear" else dequantize_linear(i, a)
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(axis=a.get("axis", -1), keepdims=True))
            y = e / e.sum(axis=a.get("axis", -1), keepdims=True)
        else:
            raise ValueError(f"node '{node.name}': op {op} is not supported by this reader")
        y = np.asarray(y)
        if y.dtype == np.float64:
            y = y.astype(np.float32)
        name = node.output[0]
        values[name] = fake_quant(encodings[name], y) if name in encodings else y
    return [values[o.name] for o in model.graph.output]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("encodings")
    p.add_argument("--input", action="append", default=[], help="NAME=FILE.npy")
    p.add_argument("--output-dir", required=True)
    args = p.parse_args(argv)
    model = onnx.load(args.model)
    encodings = {} if args.encodings == "-" else read_encodings(args.encodings)
    feeds = {}
    for spec in args.input:
        name, _, path = spec.partition("=")
        feeds[name] = np.load(path)
    outputs = run(model, encodings, feeds)
    os.makedirs(args.output_dir, exist_ok=True)
    for k, y in enumerate(outputs):
        np.save(os.path.join(args.output_dir, f"output_{k}.npy"), np.ascontiguousarray(y, dtype=np.float32))
    print(f"{len(encodings)} encodings applied; {len(outputs)} output(s) written")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, KeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
