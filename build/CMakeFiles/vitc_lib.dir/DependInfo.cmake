
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/backend/aot.c" "CMakeFiles/vitc_lib.dir/backend/aot.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/aot.c.o.d"
  "/work/main/backend/call.c" "CMakeFiles/vitc_lib.dir/backend/call.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/call.c.o.d"
  "/work/main/backend/cg.c" "CMakeFiles/vitc_lib.dir/backend/cg.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/cg.c.o.d"
  "/work/main/backend/codegen.c" "CMakeFiles/vitc_lib.dir/backend/codegen.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/codegen.c.o.d"
  "/work/main/backend/emit_elementwise.c" "CMakeFiles/vitc_lib.dir/backend/emit_elementwise.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/emit_elementwise.c.o.d"
  "/work/main/backend/jit.c" "CMakeFiles/vitc_lib.dir/backend/jit.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/jit.c.o.d"
  "/work/main/backend/model.c" "CMakeFiles/vitc_lib.dir/backend/model.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/model.c.o.d"
  "/work/main/backend/plan_memory.c" "CMakeFiles/vitc_lib.dir/backend/plan_memory.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/plan_memory.c.o.d"
  "/work/main/backend/target.c" "CMakeFiles/vitc_lib.dir/backend/target.c.o" "gcc" "CMakeFiles/vitc_lib.dir/backend/target.c.o.d"
  "/work/main/frontend/attributes.c" "CMakeFiles/vitc_lib.dir/frontend/attributes.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/attributes.c.o.d"
  "/work/main/frontend/constant_node.c" "CMakeFiles/vitc_lib.dir/frontend/constant_node.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/constant_node.c.o.d"
  "/work/main/frontend/external_data.c" "CMakeFiles/vitc_lib.dir/frontend/external_data.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/external_data.c.o.d"
  "/work/main/frontend/graph_inputs.c" "CMakeFiles/vitc_lib.dir/frontend/graph_inputs.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/graph_inputs.c.o.d"
  "/work/main/frontend/load_model.c" "CMakeFiles/vitc_lib.dir/frontend/load_model.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/load_model.c.o.d"
  "/work/main/frontend/map_file.c" "CMakeFiles/vitc_lib.dir/frontend/map_file.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/map_file.c.o.d"
  "/work/main/frontend/nodes.c" "CMakeFiles/vitc_lib.dir/frontend/nodes.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/nodes.c.o.d"
  "/work/main/frontend/normalize_opset.c" "CMakeFiles/vitc_lib.dir/frontend/normalize_opset.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/normalize_opset.c.o.d"
  "/work/main/frontend/shape_binding.c" "CMakeFiles/vitc_lib.dir/frontend/shape_binding.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/shape_binding.c.o.d"
  "/work/main/frontend/tensor_file.c" "CMakeFiles/vitc_lib.dir/frontend/tensor_file.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/tensor_file.c.o.d"
  "/work/main/frontend/tensor_names.c" "CMakeFiles/vitc_lib.dir/frontend/tensor_names.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/tensor_names.c.o.d"
  "/work/main/frontend/tensor_proto.c" "CMakeFiles/vitc_lib.dir/frontend/tensor_proto.c.o" "gcc" "CMakeFiles/vitc_lib.dir/frontend/tensor_proto.c.o.d"
  "/work/main/ir/arena.c" "CMakeFiles/vitc_lib.dir/ir/arena.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/arena.c.o.d"
  "/work/main/ir/attr.c" "CMakeFiles/vitc_lib.dir/ir/attr.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/attr.c.o.d"
  "/work/main/ir/error.c" "CMakeFiles/vitc_lib.dir/ir/error.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/error.c.o.d"
  "/work/main/ir/eval.c" "CMakeFiles/vitc_lib.dir/ir/eval.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/eval.c.o.d"
  "/work/main/ir/graph.c" "CMakeFiles/vitc_lib.dir/ir/graph.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/graph.c.o.d"
  "/work/main/ir/ops/activations.c" "CMakeFiles/vitc_lib.dir/ir/ops/activations.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/activations.c.o.d"
  "/work/main/ir/ops/arith.c" "CMakeFiles/vitc_lib.dir/ir/ops/arith.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/arith.c.o.d"
  "/work/main/ir/ops/cast.c" "CMakeFiles/vitc_lib.dir/ir/ops/cast.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/cast.c.o.d"
  "/work/main/ir/ops/common.c" "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o.d"
  "/work/main/ir/ops/compare.c" "CMakeFiles/vitc_lib.dir/ir/ops/compare.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/compare.c.o.d"
  "/work/main/ir/ops/conv.c" "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o.d"
  "/work/main/ir/ops/einsum.c" "CMakeFiles/vitc_lib.dir/ir/ops/einsum.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/einsum.c.o.d"
  "/work/main/ir/ops/elementwise.c" "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o.d"
  "/work/main/ir/ops/gather.c" "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o.d"
  "/work/main/ir/ops/gemm_kernel.c" "CMakeFiles/vitc_lib.dir/ir/ops/gemm_kernel.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/gemm_kernel.c.o.d"
  "/work/main/ir/ops/linalg.c" "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o.d"
  "/work/main/ir/ops/movement.c" "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o.d"
  "/work/main/ir/ops/movement_kernels.c" "CMakeFiles/vitc_lib.dir/ir/ops/movement_kernels.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/movement_kernels.c.o.d"
  "/work/main/ir/ops/norm.c" "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o.d"
  "/work/main/ir/ops/pool.c" "CMakeFiles/vitc_lib.dir/ir/ops/pool.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/pool.c.o.d"
  "/work/main/ir/ops/reduce.c" "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o.d"
  "/work/main/ir/ops/resize.c" "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o.d"
  "/work/main/ir/ops/scatter.c" "CMakeFiles/vitc_lib.dir/ir/ops/scatter.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/scatter.c.o.d"
  "/work/main/ir/ops/slice.c" "CMakeFiles/vitc_lib.dir/ir/ops/slice.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/slice.c.o.d"
  "/work/main/ir/ops/transpose.c" "CMakeFiles/vitc_lib.dir/ir/ops/transpose.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/transpose.c.o.d"
  "/work/main/ir/ops/unary.c" "CMakeFiles/vitc_lib.dir/ir/ops/unary.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/ops/unary.c.o.d"
  "/work/main/ir/optable.c" "CMakeFiles/vitc_lib.dir/ir/optable.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/optable.c.o.d"
  "/work/main/ir/print.c" "CMakeFiles/vitc_lib.dir/ir/print.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/print.c.o.d"
  "/work/main/ir/stats.c" "CMakeFiles/vitc_lib.dir/ir/stats.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/stats.c.o.d"
  "/work/main/ir/value.c" "CMakeFiles/vitc_lib.dir/ir/value.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/value.c.o.d"
  "/work/main/ir/verify.c" "CMakeFiles/vitc_lib.dir/ir/verify.c.o" "gcc" "CMakeFiles/vitc_lib.dir/ir/verify.c.o.d"
  "/work/main/passes/eliminate_common.c" "CMakeFiles/vitc_lib.dir/passes/eliminate_common.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/eliminate_common.c.o.d"
  "/work/main/passes/eliminate_dead.c" "CMakeFiles/vitc_lib.dir/passes/eliminate_dead.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/eliminate_dead.c.o.d"
  "/work/main/passes/fold_constants.c" "CMakeFiles/vitc_lib.dir/passes/fold_constants.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/fold_constants.c.o.d"
  "/work/main/passes/infer_shapes.c" "CMakeFiles/vitc_lib.dir/passes/infer_shapes.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/infer_shapes.c.o.d"
  "/work/main/passes/pipeline.c" "CMakeFiles/vitc_lib.dir/passes/pipeline.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/pipeline.c.o.d"
  "/work/main/passes/remove_identity.c" "CMakeFiles/vitc_lib.dir/passes/remove_identity.c.o" "gcc" "CMakeFiles/vitc_lib.dir/passes/remove_identity.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/onnx_proto.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/vitc_rt.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
