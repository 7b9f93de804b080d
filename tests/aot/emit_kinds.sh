# emit_kinds.sh — `vitc compile --emit llvm|asm|shared`: LLVM IR and assembly files, and a shared library
# that a host which knows nothing of the model dlopens, reads NAME_signature from, and runs.
source "$(dirname "$0")/lib.bash"

run "$VITC" compile "$MODEL" -o "$TMP/two_io.ll" --name two_io --emit llvm
expect_status 0
expect_file_matches "$TMP/two_io.ll" "^define .*@two_io_run\("
expect_file_matches "$TMP/two_io.ll" "^target triple = "
[ -e "$TMP/two_io.h" ] && fail "--emit llvm wrote a header"

run "$VITC" compile "$MODEL" -o "$TMP/two_io.s" --name two_io --emit=asm
expect_status 0
expect_file_matches "$TMP/two_io.s" "^two_io_run:"

run "$VITC" compile "$MODEL" -o "$TMP/libtwo_io.so" --name two_io --emit shared
expect_status 0
expect_readable "$TMP/two_io.h"
run cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$SRC/examples" "$SRC/tests/aot/dlopen_host.c" "$SRC/examples/host_io.c" \
  -ldl -lm -o "$TMP/dlopen_host"
expect_status 0
run "$TMP/dlopen_host" "$TMP/libtwo_io.so" two_io "$DATA"
expect_status 0
expect_stdout "^input 0: pixel.values float32 \[4,64\]$"
expect_stdout "^input 1: residual float32 \[64,4\]$"
expect_stdout "^output 0: logits float32 \[64,4\]$"
expect_stdout "^output 1: both float32 \[64,8\]$"
expect_stdout "match$"

run "$TMP/dlopen_host" "$TMP/missing.so" two_io "$DATA"
expect_status 2
expect_stderr "missing.so"
finish
