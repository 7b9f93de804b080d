file(REMOVE_RECURSE
  "CMakeFiles/vitc.dir/tools/cli_check.c.o"
  "CMakeFiles/vitc.dir/tools/cli_check.c.o.d"
  "CMakeFiles/vitc.dir/tools/cli_common.c.o"
  "CMakeFiles/vitc.dir/tools/cli_common.c.o.d"
  "CMakeFiles/vitc.dir/tools/cli_dump.c.o"
  "CMakeFiles/vitc.dir/tools/cli_dump.c.o.d"
  "CMakeFiles/vitc.dir/tools/cli_engine.c.o"
  "CMakeFiles/vitc.dir/tools/cli_engine.c.o.d"
  "CMakeFiles/vitc.dir/tools/cli_inspect.c.o"
  "CMakeFiles/vitc.dir/tools/cli_inspect.c.o.d"
  "CMakeFiles/vitc.dir/tools/cli_run.c.o"
  "CMakeFiles/vitc.dir/tools/cli_run.c.o.d"
  "CMakeFiles/vitc.dir/tools/vitc.c.o"
  "CMakeFiles/vitc.dir/tools/vitc.c.o.d"
  "vitc"
  "vitc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vitc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
