file(REMOVE_RECURSE
  "CMakeFiles/vitc.dir/tools/vitc.c.o"
  "CMakeFiles/vitc.dir/tools/vitc.c.o.d"
  "vitc"
  "vitc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vitc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
