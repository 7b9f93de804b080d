# cross.sh — cross-compiling: an aarch64 object (checked by llvm-objdump) and header from an x86 host.
source "$(dirname "$0")/lib.bash"

OBJDUMP=$(command -v llvm-objdump-16 || command -v llvm-objdump)
run "$VITC" compile "$MODEL" -o "$TMP/two_io.o" --name two_io --target aarch64-linux-gnu --mcpu neoverse-v1
expect_status 0
[ -f "$TMP/two_io.h" ] || fail "no header beside the cross-compiled object"
run "$OBJDUMP" -f "$TMP/two_io.o"
expect_status 0
expect_stdout "file format elf64-littleaarch64"
expect_stdout "^architecture: aarch64"
run "$OBJDUMP" -d --no-show-raw-insn "$TMP/two_io.o"
expect_status 0
expect_stdout "<two_io_run>:"
expect_stdout "^ +[0-9a-f]+:[[:space:]]+ret$"

run "$VITC" compile "$MODEL" -o "$TMP/two_io_sve.s" --name two_io --emit asm --target aarch64-linux-gnu \
  --mcpu neoverse-v1 --mattr +sve
expect_status 0
expect_file_matches "$TMP/two_io_sve.s" "^two_io_run:"
finish
