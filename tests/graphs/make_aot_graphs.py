#!/usr/bin/python3
"""Writes the small models that the AOT tests (tests/aot/) and the public API test (tests/unit/test_api.c)
compile, in the ONNX backend-test layout:

    NAME/model.onnx
    NAME/test_data_set_0/input_K.pb, output_K.pb   (expected outputs computed here with numpy)

Run with /usr/bin/python3 (python3-onnx, numpy); the outputs are committed, so this only needs running
again when a model changes. The models use only ops every backend stage handles (elementwise, Transpose,
Concat), so they exercise `vitc compile` and the API rather than any one kernel.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, graph, inputs, outputs):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="vitc tests/graphs/make_aot_graphs.py")
    model.ir_version = 8
    folder = os.path.join(HERE, name)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    onnx.checker.check_model(os.path.join(folder, "model.onnx"), full_check=True)
    for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
        for k, (value, info) in enumerate(zip(values, infos)):
            tensor = numpy_helper.from_array(value, info.name)
            with open(os.path.join(data, f"{kind}_{k}.pb"), "wb") as f:
                f.write(tensor.SerializeToString())


def aot_two_io():
    """Two inputs, two outputs, two initializers (so there is a weights blob to map and to tamper with):

        pixel.values f32[4,64] ─ Add(b) ─ Relu ─ Mul(c) ─ Transpose ─ Add(residual) ─→ logits f32[64,4]
        residual     f32[64,4] ──────────────────────────────────────┴─ Concat(axis 1) → both f32[64,8]

    The input name holds a '.', which the generated header turns into a C identifier."""
    rng = np.random.default_rng(7)
    b = rng.standard_normal((4, 64)).astype(np.float32)
    c = rng.standard_normal((4, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["pixel.values", "b"], ["s"], name="add_bias"),
         helper.make_node("Relu", ["s"], ["r"], name="relu"),
         helper.make_node("Mul", ["r", "c"], ["m"], name="scale"),
         helper.make_node("Transpose", ["m"], ["t"], name="transpose", perm=[1, 0]),
         helper.make_node("Add", ["t", "residual"], ["logits"], name="add_residual"),
         helper.make_node("Concat", ["logits", "residual"], ["both"], name="concat", axis=1)],
        "aot_two_io",
        [helper.make_tensor_value_info("pixel.values", TensorProto.FLOAT, [4, 64]),
         helper.make_tensor_value_info("residual", TensorProto.FLOAT, [64, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [64, 4]),
         helper.make_tensor_value_info("both", TensorProto.FLOAT, [64, 8])],
        [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")])
    x = rng.standard_normal((4, 64)).astype(np.float32)
    z = rng.standard_normal((64, 4)).astype(np.float32)
    logits = (np.maximum(x + b, 0) * c).T + z
    save("aot_two_io", graph, [x, z], [logits, np.concatenate([logits, z], axis=1)])


if __name__ == "__main__":
    aot_two_io()
