#!/usr/bin/python3
"""Writes a TensorProto file's values as raw little-endian float32 (what bench/ort_time.js and
examples/jit_host read). usage: bench/to_raw.py INPUT.pb OUTPUT.raw"""
import sys

import onnx
import onnx.numpy_helper

t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
onnx.numpy_helper.to_array(t).astype("<f4").tofile(sys.argv[2])
