# obj_header.sh — `vitc compile` to an object and NAME.h, linked into a C host that matches the expected
# outputs; the header is warning-free C and valid C++.
source "$(dirname "$0")/lib.bash"

run "$VITC" compile "$MODEL" -o "$TMP/two_io.o" --name two_io
expect_status 0
expect_stdout "^wrote $TMP/two_io.o and $TMP/two_io.h \(weights [0-9]+ bytes, scratch [0-9]+ bytes\)"
expect_readable "$TMP/two_io.o"
expect_readable "$TMP/two_io.h"
# The tensor name "pixel.values" becomes a C identifier; embedded weights mean NAME_create, not _mapped.
expect_file_matches "$TMP/two_io.h" "^int two_io_run\(vitc_rt_ctx \*ctx, const float \*in_pixel_values, const float \*in_residual, float \*out_logits, float \*out_both\);"
expect_file_matches "$TMP/two_io.h" "^vitc_rt_ctx \*two_io_create\(void\);"
expect_file_matches "$TMP/two_io.h" "^#define TWO_IO_WEIGHTS_BYTES [1-9][0-9]*$"
grep -q "two_io_create_mapped" "$TMP/two_io.h" && fail "an embedded-weights header declares two_io_create_mapped"

build_host "$TMP" "$TMP/host"
run "$TMP/host" "$DATA"
expect_status 0
expect_stdout "^in pixel.values float32 4x64$"
expect_stdout "^out both float32 64x8$"
expect_stdout "match$"

if command -v c++ >/dev/null; then
  run c++ -fsyntax-only -Wall -Wextra -Werror -x c++ -include "$TMP/two_io.h" /dev/null
  expect_status 0
fi
finish
