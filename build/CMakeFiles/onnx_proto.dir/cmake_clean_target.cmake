file(REMOVE_RECURSE
  "libonnx_proto.a"
)
