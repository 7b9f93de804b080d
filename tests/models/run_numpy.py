#!/usr/bin/python3
"""An independent ONNX runner in plain numpy, for the ops the models in tests/models use.

usage: /usr/bin/python3 tests/models/run_numpy.py MODEL_DIR...

Runs each MODEL_DIR/model.onnx on test_data_set_0/input_0.pb (batch bound to 1 by the input itself)
and compares with test_data_set_0/output_0.pb. It shares no code with torch's exporter or with vitc,
so agreement shows the exported graph computes what torch computed; gen.py runs it on every model.
Each op follows the ONNX operator spec for the opsets used here (13 and 17); an op it does not know
is an error, not a guess.
"""

import math
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper

_erf = np.vectorize(math.erf, otypes=[np.float64])


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def axes_of(node, x, inputs, position):
    """Reduce/Unsqueeze axes: an attribute before opset 13/18, an optional input after."""
    a = attrs(node).get("axes")
    if a is None and len(inputs) > position and inputs[position] is not None:
        a = inputs[position].tolist()
    return None if a is None else tuple(int(v) for v in a)


def conv(x, w, b, a):
    groups = a.get("group", 1)
    kh, kw = w.shape[2:]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, h, wd = x.shape
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (wd - dw * (kw - 1) - 1) // sw + 1
    cg, og = c // groups, w.shape[0] // groups
    out = np.zeros((n, w.shape[0], oh, ow), dtype=np.float64)
    for g in range(groups):
        xg = x[:, g * cg:(g + 1) * cg]
        wg = w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def average_pool(x, a):
    """2-D average pooling, floor mode; the padding counts only with count_include_pad."""
    if a.get("ceil_mode", 0) or a.get("auto_pad", b"NOTSET") != b"NOTSET":
        raise ValueError("AveragePool with ceil_mode or auto_pad is not supported by run_numpy.py")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    padded = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ones = np.pad(np.ones(x.shape[2:]), ((pt, pb), (pl, pr))) if not a.get("count_include_pad", 0) else np.ones(padded.shape[2:])
    oh, ow = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    total = np.zeros(x.shape[:2] + (oh, ow))
    count = np.zeros((oh, ow))
    for i in range(kh):
        for j in range(kw):
            total += padded[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]
            count += ones[i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]
    return total / count


def slice_op(x, starts, ends, axes, steps):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[int(ax)] = slice(int(max(min(s, 2**62), -2**62)), int(max(min(e, 2**62), -2**62)), int(st))
    return x[tuple(index)]


def scatter_nd(data, indices, updates):
    out = data.copy()
    for idx in np.ndindex(indices.shape[:-1]):
        out[tuple(indices[idx])] = updates[idx]
    return out


def pad(x, pads, value, mode):
    if mode != "constant":
        raise ValueError(f"Pad mode {mode} is not supported")
    r = x.ndim
    widths = [(int(pads[i]), int(pads[i + r])) for i in range(r)]
    if any(p < 0 for w in widths for p in w):
        raise ValueError("negative pads are not supported")
    return np.pad(x, widths, constant_values=value)


def layer_norm(x, scale, bias, a):
    axes = tuple(range(a.get("axis", -1) % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale
    return y + bias if bias is not None else y


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def gemm(a_, b_, c_, a):
    a_ = a_.T if a.get("transA", 0) else a_
    b_ = b_.T if a.get("transB", 0) else b_
    y = a.get("alpha", 1.0) * (a_ @ b_)
    return y + a.get("beta", 1.0) * c_ if c_ is not None else y


def run_node(node, x):
    """x: the node's input values (None for an omitted optional input); returns its outputs."""
    a = attrs(node)
    op = node.op_type
    unary = {"Erf": _erf, "Exp": np.exp, "Sqrt": np.sqrt, "Relu": lambda v: np.maximum(v, 0),
             "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Not": np.logical_not, "Identity": np.copy, "Neg": np.negative,
             "Tanh": np.tanh}
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Equal": np.equal,
              "MatMul": np.matmul}
    if op in unary:
        return [unary[op](x[0])]
    if op in binary:
        return [binary[op](x[0], x[1])]
    if op == "Div":
        integer = np.issubdtype(x[0].dtype, np.integer)
        return [np.trunc(x[0] / x[1]).astype(x[0].dtype) if integer else x[0] / x[1]]
    if op == "Mod":
        return [np.fmod(x[0], x[1]) if a.get("fmod", 0) else np.mod(x[0], x[1])]
    if op == "Constant":
        return [onnx.numpy_helper.to_array(a["value"])]
    if op == "ConstantOfShape":
        value = onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return [np.full(tuple(int(d) for d in x[0]), value[0], dtype=value.dtype)]
    if op == "Cast":
        return [x[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])]
    if op == "Shape":
        return [np.array(x[0].shape, dtype=np.int64)]
    if op == "Gather":
        return [np.take(x[0], x[1], axis=a.get("axis", 0))]
    if op == "Unsqueeze":
        axes = axes_of(node, x[0], x, 1)
        out_rank = x[0].ndim + len(axes)
        return [np.expand_dims(x[0], tuple(sorted(v % out_rank for v in axes)))]
    if op == "Split":  # opset 13+: sizes as an optional input, else equal parts, one per output
        axis = a.get("axis", 0) % x[0].ndim
        sizes = x[1] if len(x) > 1 and x[1] is not None else [x[0].shape[axis] // len(node.output)] * len(node.output)
        return np.split(x[0], np.cumsum(sizes)[:-1].astype(int), axis=axis)
    if op == "Squeeze":
        axes = axes_of(node, x[0], x, 1)
        axes = tuple(i for i, d in enumerate(x[0].shape) if d == 1) if axes is None else axes
        return [np.squeeze(x[0], tuple(v % x[0].ndim for v in axes))]
    if op == "Concat":
        return [np.concatenate(x, axis=a["axis"])]
    if op == "Reshape":
        shape = [int(d) for d in x[1]]
        shape = [x[0].shape[i] if d == 0 and not a.get("allowzero", 0) else d for i, d in enumerate(shape)]
        return [x[0].reshape(shape)]
    if op == "Expand":
        return [x[0] * np.ones(tuple(int(d) for d in x[1]), dtype=x[0].dtype)]
    if op == "Transpose":
        return [np.transpose(x[0], a.get("perm"))]
    if op == "Flatten":
        axis = a.get("axis", 1) % x[0].ndim if x[0].ndim else 0
        return [x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)]
    if op == "Slice":
        return [slice_op(x[0], x[1], x[2], x[3] if len(x) > 3 else None, x[4] if len(x) > 4 else None)]
    if op == "Where":
        return [np.where(x[0], x[1], x[2])]
    if op == "Range":
        return [np.arange(x[0], x[1], x[2]).astype(x[0].dtype)]
    if op == "ScatterND":
        return [scatter_nd(x[0], x[1], x[2])]
    if op == "Pad":
        value = x[2] if len(x) > 2 and x[2] is not None else 0
        return [pad(x[0], x[1], value, a.get("mode", b"constant").decode())]
    if op == "Clip":
        lo = x[1] if len(x) > 1 and x[1] is not None else -np.inf
        hi = x[2] if len(x) > 2 and x[2] is not None else np.inf
        return [np.clip(x[0], lo, hi)]
    if op in ("ReduceMean", "ReduceL2"):
        axes = axes_of(node, x[0], x, 1)
        keep = bool(a.get("keepdims", 1))
        if op == "ReduceMean":
            return [x[0].mean(axis=axes, keepdims=keep)]
        return [np.sqrt((x[0] ** 2).sum(axis=axes, keepdims=keep))]
    if op == "Softmax":
        return [softmax(x[0], a.get("axis", -1))]
    if op == "LayerNormalization":
        return [layer_norm(x[0], x[1], x[2] if len(x) > 2 else None, a)]
    if op == "Gemm":
        return [gemm(x[0], x[1], x[2] if len(x) > 2 else None, a)]
    if op == "Conv":
        return [conv(x[0], x[1], x[2] if len(x) > 2 else None, a)]
    if op == "BatchNormalization":  # inference form: the stored mean and variance
        shape = (1, -1) + (1,) * (x[0].ndim - 2)
        scale, bias, mean, var = (v.reshape(shape) for v in x[1:5])
        return [(x[0] - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias]
    if op == "AveragePool":
        return [average_pool(x[0], a)]
    if op == "Einsum":  # numpy's rules are ONNX's; numpy does not take the spaces torch writes
        return [np.einsum(a["equation"].decode().replace(" ", ""), *x)]
    if op == "GlobalAveragePool":
        return [x[0].mean(axis=tuple(range(2, x[0].ndim)), keepdims=True)]
    if op == "Dropout":  # inference: identity; the mask is all true when nothing is dropped
        ratio = float(x[1]) if len(x) > 1 and x[1] is not None else a.get("ratio", 0.5)
        training = len(x) > 2 and x[2] is not None and bool(x[2])
        if training and ratio != 0.0:
            raise ValueError(f"Dropout in training mode with ratio {ratio} is random")
        return [x[0].copy(), np.ones(x[0].shape, dtype=bool)]
    raise ValueError(f"op {op} is not supported by run_numpy.py")


def as_float32(v):
    return v.astype(np.float32) if v.dtype == np.float64 else v


def run(model, feeds):
    values = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        inputs = [values[name] if name else None for name in node.input]
        try:
            outputs = run_node(node, inputs)
        except Exception as e:
            raise RuntimeError(f"{node.name} ({node.op_type}): {e}") from e
        for name, value in zip(node.output, outputs):
            if name:
                values[name] = as_float32(np.asarray(value))
    return [values[o.name] for o in model.graph.output]


def read_tensor(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return onnx.numpy_helper.to_array(tensor)


def check(model_dir):
    """Max relative difference between this runner's output and the stored reference."""
    model = onnx.load(os.path.join(model_dir, "model.onnx"))
    data = os.path.join(model_dir, "test_data_set_0")
    feeds = {model.graph.input[0].name: read_tensor(os.path.join(data, "input_0.pb"))}
    got = run(model, feeds)[0]
    expected = read_tensor(os.path.join(data, "output_0.pb"))
    if got.shape != expected.shape:
        raise RuntimeError(f"output shape {got.shape}, reference {expected.shape}")
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def main():
    failed = False
    for model_dir in sys.argv[1:]:
        error = check(model_dir)
        ok = error < 1e-4
        failed |= not ok
        print(f"{model_dir}: max relative error {error:.2e} {'ok' if ok else 'MISMATCH'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
