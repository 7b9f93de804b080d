"""Quantised test models: the small fp32 ViT, Swin and ConvNeXt of tests/models quantised by ONNX Runtime's
own quantizer, with ORT's outputs as the reference.

    tools/model-toolchain.sh --quant [NAME...]     (runs this script in the venv that has onnxruntime)
    tools/model-toolchain.sh --quant --export SRC_DIR OUT_DIR [FORM]    a full-size model (bench/compare_ort.sh)

Each tests/models/quant/<model>_<form>/ is in the ONNX backend-test layout (model.onnx,
test_data_set_0/{input_0,output_0}.pb); the input is the fp32 model's test input. atol.txt holds the largest
difference between the reference and ORT's fp32 model's output: the tolerance vitc's checks use, since an
implementation whose float sums round differently flips some quantised values and a flip propagates. Forms:
  qdq      quantize_static, QDQ format, per-tensor scales; uint8 activations, int8 weights
  qdq_pc   quantize_static, QDQ format, per-channel weight scales; int8 activations and weights
  qop      quantize_static, QOperator format (QLinearMatMul, QLinearConv), per-tensor; uint8 / int8
  dyn      quantize_dynamic (DynamicQuantizeLinear, MatMulInteger, ConvInteger); int8 weights
Only MatMul, Gemm and Conv are quantised: everything that is not a product stays float32, as vitc runs it.
Static forms are calibrated (min/max) on CALIB_INPUTS random normal images, seeded.

The reference output is ORT's with graph optimisations off, so it is the model's ONNX semantics step by
step (Q, DQ and the float products as written); `ort_fused` in README.md is the deviation of ORT's own
optimised run (which fuses the patterns into integer kernels) from it, and `vs_fp32` the deviation of the
quantised model from the fp32 model: the scale of error a correct int8 implementation may show.
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "quant")
SOURCES = {"vit": "vit_op17", "swin": "swin_v1_op17", "convnext": "convnext_v1_op17"}
PRODUCTS = ["MatMul", "Gemm", "Conv"]
CALIB_INPUTS = 8


class RandomImages(CalibrationDataReader):
    def __init__(self, name, shape, seed):
        rng = np.random.default_rng(seed)
        self.items = iter([{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(CALIB_INPUTS)])

    def get_next(self):
        return next(self.items, None)


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def write_tensor(path, array):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array).SerializeToString())


def run_ort(model_path, image, optimise):
    so = ort.SessionOptions()
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: image})[0]


def quantise(form, src, dst, input_name, shape):
    static = dict(quant_format=QuantFormat.QDQ, op_types_to_quantize=PRODUCTS, per_channel=False,
                  activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    if form == "qdq_pc":
        static.update(per_channel=True, activation_type=QuantType.QInt8)
    elif form == "qop":  # without Gemm, which QOperator makes com.microsoft's QGemm
        static.update(quant_format=QuantFormat.QOperator, op_types_to_quantize=["MatMul", "Conv"])
    if form == "dyn":
        quantize_dynamic(src, dst, op_types_to_quantize=PRODUCTS, weight_type=QuantType.QInt8)
    else:
        quantize_static(src, dst, RandomImages(input_name, shape, seed=20), **static)


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def generate(name, src_dir=None, out_dir=None):
    family, form = name.split("_", 1)
    src_dir = src_dir or os.path.join(HERE, SOURCES[family])
    src = os.path.join(src_dir, "model.onnx")
    image = read_tensor(os.path.join(src_dir, "test_data_set_0", "input_0.pb"))
    input_name = onnx.load(src).graph.input[0].name
    out_dir = out_dir or os.path.join(OUT, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(os.path.join(out_dir, "test_data_set_0"))
    with tempfile.TemporaryDirectory() as tmp:
        # the quantizer wants shapes inferred: ORT's pre-processing with onnx shape inference, no fusion
        # (its symbolic inference gives up on Swin's run-time mask construction); it leaves scratch files in
        # the working directory, hence the chdir
        pre, cwd = os.path.join(tmp, "pre.onnx"), os.getcwd()
        os.chdir(tmp)
        try:
            quant_pre_process(src, pre, skip_optimization=True, skip_onnx_shape=False, skip_symbolic_shape=True)
            quantise(form, pre, os.path.join(out_dir, "model.onnx"), input_name, image.shape)
        finally:
            os.chdir(cwd)
    model = os.path.join(out_dir, "model.onnx")
    onnx.checker.check_model(onnx.load(model), full_check=True)
    reference = run_ort(model, image, optimise=False)
    write_tensor(os.path.join(out_dir, "test_data_set_0", "input_0.pb"), image)
    write_tensor(os.path.join(out_dir, "test_data_set_0", "output_0.pb"), reference)
    fp32 = run_ort(src, image, optimise=True)
    # the absolute tolerance of vitc's checks (tests/CMakeLists.txt): ORT's own deviation from the fp32 model
    with open(os.path.join(out_dir, "atol.txt"), "w") as f:
        f.write(f"{float(np.max(np.abs(reference - fp32))):.3g}\n")
    ops = {}
    for n in onnx.load(model).graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    quant_ops = ", ".join(f"{k} {v}" for k, v in sorted(ops.items())
                          if "quant" in k.lower() or "QLinear" in k or "Integer" in k)
    return (name, relative(run_ort(model, image, optimise=True), reference), relative(reference, fp32),
            os.path.getsize(model) // 1024, quant_ops)


def main():
    if sys.argv[1:2] == ["--export"]:
        src_dir, out_dir = sys.argv[2], sys.argv[3]
        form = sys.argv[4] if len(sys.argv) > 4 else "qdq"
        print(generate("model_" + form, src_dir, out_dir))
        return
    names = sys.argv[1:] or [f"{f}_{q}" for f in SOURCES for q in ("qdq", "qdq_pc", "qop", "dyn")]
    rows = [generate(n) for n in names]
    print("| model | ort_fused | vs_fp32 | size (KiB) | quantisation ops |")
    print("|---|---|---|---|---|")
    for name, fused, fp32, size, ops in rows:
        print(f"| {name} | {fused:.1e} | {fp32:.1e} | {size} | {ops} |")


if __name__ == "__main__":
    main()
