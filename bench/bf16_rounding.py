#!/usr/bin/python3
"""Which products' bfloat16 rounding moves a model's logits, independently of vitc: the ONNX graph run
in numpy (tests/models/run_numpy.py's ops) twice on the same standard-normal inputs, once as it is and
once with the operands of chosen products rounded to bfloat16 (round to nearest even), as
ir/precision.c's products are; prints the max and mean over the inputs of max |error| / (max - min of
the float32 logits), bench/accuracy.c's measure.

usage: /usr/bin/python3 bench/bf16_rounding.py MODEL.onnx [--products S1,S2..] [--operand a|w|both]
                                             [--inputs N] [--each]

The products are MatMul, Gemm and Conv nodes with a constant weight whose name contains one of the
substrings (default: every such node; vitc keeps the one on the image and the classifier head in float32,
so name the others). --operand rounds only A or only the weight. --each rounds one product at a time
and prints each one's effect, then the square root of their sum of squares (what independent errors add
up to)."""

import argparse
import math
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
import run_numpy  # noqa: E402


def bf16(x):
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def logits(model, x, rounded, operands):
    values = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x
    for node in model.graph.node:
        inputs = [values[n] if n else None for n in node.input]
        if node.name in rounded:
            inputs = [bf16(v) if k in operands and v is not None and v.dtype == np.float32 else v
                      for k, v in enumerate(inputs)]
        for name, v in zip(node.output, run_numpy.run_node(node, inputs)):
            if name:
                values[name] = run_numpy.as_float32(np.asarray(v))
    return values[model.graph.output[0].name]


def error(model, inputs, rounded, operands):
    errs = []
    for x in inputs:
        ref, got = logits(model, x, set(), operands), logits(model, x, rounded, operands)
        for r, g in zip(ref.reshape(-1, ref.shape[-1]), got.reshape(-1, ref.shape[-1])):
            errs.append(np.abs(g - r).max() / (r.max() - r.min()))
    return max(errs), float(np.mean(errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--products", default="")
    ap.add_argument("--operand", choices=("a", "w", "both"), default="both")
    ap.add_argument("--inputs", type=int, default=100)
    ap.add_argument("--each", action="store_true")
    args = ap.parse_args()
    model = onnx.load(args.model)
    consts = {t.name for t in model.graph.initializer}
    keys = [k for k in args.products.split(",") if k]
    products = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm", "Conv") and len(n.input) > 1
                and n.input[1] in consts and (not keys or any(k in n.name for k in keys))]
    operands = {"a": (0,), "w": (1,), "both": (0, 1)}[args.operand]
    shape = [d.dim_value or 1 for d in model.graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(20261207)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _ in range(args.inputs)]
    if args.each:
        total = 0.0
        for p in products:
            worst, mean = error(model, inputs, {p}, operands)
            total += worst * worst
            print(f"{p}: max {100 * worst:.3f}%, mean {100 * mean:.3f}%")
        print(f"square root of the sum of squares: {100 * math.sqrt(total):.3f}%")
    worst, mean = error(model, inputs, set(products), operands)
    print(f"{len(products)} products rounded ({args.operand}): max {100 * worst:.3f}%, mean {100 * mean:.3f}% of the logit range")


if __name__ == "__main__":
    main()
