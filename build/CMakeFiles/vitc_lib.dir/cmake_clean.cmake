file(REMOVE_RECURSE
  "CMakeFiles/vitc_lib.dir/ir/arena.c.o"
  "CMakeFiles/vitc_lib.dir/ir/arena.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/attr.c.o"
  "CMakeFiles/vitc_lib.dir/ir/attr.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/error.c.o"
  "CMakeFiles/vitc_lib.dir/ir/error.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/graph.c.o"
  "CMakeFiles/vitc_lib.dir/ir/graph.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/common.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/conv.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/elementwise.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/gather.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/linalg.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/movement.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/norm.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/reduce.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o"
  "CMakeFiles/vitc_lib.dir/ir/ops/resize.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/optable.c.o"
  "CMakeFiles/vitc_lib.dir/ir/optable.c.o.d"
  "CMakeFiles/vitc_lib.dir/ir/value.c.o"
  "CMakeFiles/vitc_lib.dir/ir/value.c.o.d"
  "libvitc.a"
  "libvitc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vitc_lib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
