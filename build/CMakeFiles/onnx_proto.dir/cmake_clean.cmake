file(REMOVE_RECURSE
  "CMakeFiles/onnx_proto.dir/gen/onnx/onnx.pb-c.c.o"
  "CMakeFiles/onnx_proto.dir/gen/onnx/onnx.pb-c.c.o.d"
  "gen/onnx/onnx.pb-c.c"
  "gen/onnx/onnx.pb-c.h"
  "libonnx_proto.a"
  "libonnx_proto.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/onnx_proto.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
