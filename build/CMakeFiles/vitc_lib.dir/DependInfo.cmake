
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/ir/arena.c" "CMakeFiles/vitc_lib.dir/ir/arena.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/arena.c.o.d"
  "/work/main/ir/attr.c" "CMakeFiles/vitc_lib.dir/ir/attr.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/attr.c.o.d"
  "/work/main/ir/error.c" "CMakeFiles/vitc_lib.dir/ir/error.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/error.c.o.d"
  "/work/main/ir/eval.c" "CMakeFiles/vitc_lib.dir/ir/eval.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/eval.c.o.d"
  "/work/main/ir/graph.c" "CMakeFiles/vitc_lib.dir/ir/graph.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/graph.c.o.d"
  "/work/main/ir/ops/common.c" "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o.d"
  "/work/main/ir/ops/conv.c" "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o.d"
  "/work/main/ir/ops/elementwise.c" "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o.d"
  "/work/main/ir/ops/gather.c" "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o.d"
  "/work/main/ir/ops/linalg.c" "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o.d"
  "/work/main/ir/ops/movement.c" "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o.d"
  "/work/main/ir/ops/norm.c" "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o.d"
  "/work/main/ir/ops/reduce.c" "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o.d"
  "/work/main/ir/ops/resize.c" "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o.d"
  "/work/main/ir/optable.c" "CMakeFiles/vitc_lib.dir/ir/optable.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/optable.c.o.d"
  "/work/main/ir/value.c" "CMakeFiles/vitc_lib.dir/ir/value.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/value.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/onnx_proto.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
