# write_failures.sh — an output that cannot be written (a file-size limit, which fails writes with EFBIG
# the way a full disk fails them with ENOSPC) ends `vitc compile` with exit status 2, a message naming
# the output, and neither the output nor a temporary file left beside it, whichever writer fails: the
# check before LLVM starts, LLVM's own writer, the linker, or the weights side file.
source "$(dirname "$0")/lib/common.bash"
M=$SRC/tests/models/vit_op17/model.onnx # 1,002,536 bytes of weights, a 1.05 MB object

# vitc_limited KIB ARGS...: vitc with files limited to KIB KiB (SIGXFSZ ignored, so a write fails instead).
vitc_limited() {
  local kib=$1
  shift
  run bash -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' "$kib" "$VITC" "$@"
}

# expect_nothing_written: the output directory is empty.
expect_nothing_written() {
  [ -z "$(ls -A "$TMP/out")" ] || fail "a failed write left: $(ls -A "$TMP/out" | tr '\n' ' ')"
  rm -rf "$TMP/out" && mkdir -p "$TMP/out"
}
mkdir -p "$TMP/out"

# The weights alone are above the limit: refused before LLVM starts.
for kind in obj shared; do
  vitc_limited 400 compile "$M" -o "$TMP/out/m.$kind" --emit $kind
  expect_error 2 "out/m.$kind: write failed: it needs at least [0-9]+ bytes, the file size limit is 409600"
  expect_nothing_written
done
# Room for the weights but not for the object around them: LLVM's write fails.
vitc_limited 1000 compile "$M" -o "$TMP/out/m.o"
expect_error 2 "out/m.o: write failed: .*File too large"
expect_nothing_written
for kind in asm llvm; do
  vitc_limited 40 compile "$M" -o "$TMP/out/m.$kind" --emit $kind
  expect_error 2 "out/m.$kind: .*(write failed|File too large)"
  expect_nothing_written
done
# The object (its weights beside it) fits, the weights side file does not.
vitc_limited 400 compile "$M" -o "$TMP/out/m.o" --weights "$TMP/out/m.weights"
expect_error 2 "out/m.weights: write failed: File too large"
expect_nothing_written
# Without a limit the same commands write their files.
vitc compile "$M" -o "$TMP/out/m.o" --weights "$TMP/out/m.weights"
expect_status 0
[ -s "$TMP/out/m.o" ] && [ -s "$TMP/out/m.weights" ] || fail "compile without a limit wrote no object or weights"

finish
