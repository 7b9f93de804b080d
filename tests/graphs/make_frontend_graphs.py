#!/usr/bin/python3
"""Writes the tiny models in tests/graphs/ in the ONNX backend-test layout:

    NAME/model.onnx
    NAME/test_data_set_0/input_K.pb, output_K.pb   (expected outputs computed here with numpy)

Run from anywhere with /usr/bin/python3 (python3-onnx, numpy); the outputs are committed, so this only
needs running again when a model changes. Each model is small enough to check by hand.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, graph, opset, inputs, outputs):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="vitc tests/graphs/make_frontend_graphs.py")
    model.ir_version = 8
    folder = os.path.join(HERE, name)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    onnx.checker.check_model(os.path.join(folder, "model.onnx"))  # by path: it reads external data
    for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
        for k, (value, info) in enumerate(zip(values, infos)):
            tensor = numpy_helper.from_array(value, info.name)
            with open(os.path.join(data, f"{kind}_{k}.pb"), "wb") as f:
                f.write(tensor.SerializeToString())


def add_relu():
    """y = Relu(x + b), x f32[2,3], b an initializer: the smallest model with a constant."""
    b = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["s"], name="add"),
         helper.make_node("Relu", ["s"], ["y"], name="relu")],
        "add_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(b, "b")])
    x = np.array([[1, 2, -3], [-4, 0.25, -1]], dtype=np.float32)
    save("add_relu", graph, 17, [x], [np.maximum(x + b, 0)])


def mlp_dynamic_batch():
    """y = Softmax(x @ W + c) over the last axis with a symbolic batch dim "N" (bind N, or it is 1)."""
    w = np.array([[1, -1], [0.5, 2], [-2, 0.25]], dtype=np.float32)
    c = np.array([0.1, -0.2], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
         helper.make_node("Add", ["h", "c"], ["z"], name="add"),
         helper.make_node("Softmax", ["z"], ["y"], name="softmax", axis=-1)],
        "mlp_dynamic_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(c, "c")])
    x = np.array([[1, 2, 3], [0, -1, 0.5]], dtype=np.float32)  # N = 2: run with a binding x=2x3
    z = x @ w + c
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    save("mlp_dynamic_batch", graph, 13, [x], [(e / e.sum(axis=-1, keepdims=True)).astype(np.float32)])


def reduce_opset11():
    """Opset-11 forms the frontend rewrites: Unsqueeze/ReduceMean/Squeeze with an 'axes' attribute and a
    Constant node. y = Squeeze(ReduceMean(Unsqueeze(x, [0]), axes=[2], keepdims=1) * k, axes=[0])."""
    graph = helper.make_graph(
        [helper.make_node("Unsqueeze", ["x"], ["u"], name="unsqueeze", axes=[0]),
         helper.make_node("ReduceMean", ["u"], ["m"], name="mean", axes=[2], keepdims=1),
         helper.make_node("Constant", [], ["k"], name="k", value=numpy_helper.from_array(np.float32(3.0))),
         helper.make_node("Mul", ["m", "k"], ["p"], name="scale"),
         helper.make_node("Squeeze", ["p"], ["y"], name="squeeze", axes=[0])],
        "reduce_opset11",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1])])
    x = np.array([[1, 2, 3, 4], [-1, 0, 1, 8]], dtype=np.float32)
    save("reduce_opset11", graph, 11, [x], [(x.mean(axis=1, keepdims=True) * 3).astype(np.float32)])


def external_weights():
    """y = x @ W with W stored in weights.bin next to the model (ONNX external data, offset 0 and 4096)."""
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
    v = np.array([1, -1, 2, -2], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
         helper.make_node("Mul", ["h", "v"], ["y"], name="mul")],
        "external_weights",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(v, "v")])
    folder = os.path.join(HERE, "external_weights")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.write(w.tobytes())
        f.write(b"\0" * (4096 - w.nbytes))
        f.write(v.tobytes())
    for t, offset in zip(graph.initializer, (0, 4096)):
        nbytes = len(t.raw_data)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "weights.bin"), ("offset", str(offset)), ("length", str(nbytes))):
            t.external_data.add(key=key, value=value)
    x = np.array([[1, 2, -1]], dtype=np.float32)
    save("external_weights", graph, 17, [x], [(x @ w) * v])


def gather_rows():
    """y = table[indices], table f32[10,3] an initializer, indices int64[2] an input: compiled code reads
    the indices at run time and must refuse one out of range (bad_indices.pb holds 1000000000 and 0)."""
    table = np.arange(30, dtype=np.float32).reshape(10, 3)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "indices"], ["y"], name="rows")],
        "gather_rows",
        [helper.make_tensor_value_info("indices", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(table, "table")])
    indices = np.array([9, -10], dtype=np.int64)
    save("gather_rows", graph, 17, [indices], [table[indices]])
    bad = numpy_helper.from_array(np.array([1000000000, 0], dtype=np.int64), "indices")
    with open(os.path.join(HERE, "gather_rows", "bad_indices.pb"), "wb") as f:
        f.write(bad.SerializeToString())


def batch_constant():
    """y = Reshape(x, [2, 4]) + 1 with x f32["N", 2, 2]: the shape is written out for N = 2, so the model
    loads only for a batch of 2 (no batch-1 graph to run image by image)."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
         helper.make_node("Add", ["r", "one"], ["y"], name="add")],
        "batch_constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(np.array([2, 4], dtype=np.int64), "shape"),
         numpy_helper.from_array(np.array(1, dtype=np.float32), "one")])
    x = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    save("batch_constant", graph, 17, [x], [x.reshape(2, 4) + 1])


if __name__ == "__main__":
    add_relu()
    mlp_dynamic_batch()
    reduce_opset11()
    external_weights()
    gather_rows()
    batch_constant()
