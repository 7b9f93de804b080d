# Empty dependencies file for onnx_proto.
# This may be replaced when dependencies are built.
