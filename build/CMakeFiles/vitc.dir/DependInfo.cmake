
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tools/cli_check.c" "CMakeFiles/vitc.dir/tools/cli_check.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_check.c.o.d"
  "/work/main/tools/cli_common.c" "CMakeFiles/vitc.dir/tools/cli_common.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_common.c.o.d"
  "/work/main/tools/cli_dump.c" "CMakeFiles/vitc.dir/tools/cli_dump.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_dump.c.o.d"
  "/work/main/tools/cli_engine.c" "CMakeFiles/vitc.dir/tools/cli_engine.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_engine.c.o.d"
  "/work/main/tools/cli_inspect.c" "CMakeFiles/vitc.dir/tools/cli_inspect.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_inspect.c.o.d"
  "/work/main/tools/cli_run.c" "CMakeFiles/vitc.dir/tools/cli_run.c.o" "gcc" "CMakeFiles/vitc.dir/tools/cli_run.c.o.d"
  "/work/main/tools/vitc.c" "CMakeFiles/vitc.dir/tools/vitc.c.o" "gcc" "CMakeFiles/vitc.dir/tools/vitc.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/vitc_lib.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/onnx_proto.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/vitc_rt.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
