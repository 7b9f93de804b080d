# weights.sh — `vitc compile --weights FILE`: the weights go to a side file that NAME_create_mapped maps
# and checks; a truncated, tampered or missing file makes it fail with a message, and the host exits 2.
source "$(dirname "$0")/lib.bash"

run "$VITC" compile "$MODEL" -o "$TMP/two_io.o" --name two_io --weights "$TMP/two_io.weights"
expect_status 0
expect_stdout "^wrote $TMP/two_io.o and $TMP/two_io.h and $TMP/two_io.weights"
expect_readable "$TMP/two_io.weights"
expect_file_matches "$TMP/two_io.h" "^vitc_rt_ctx \*two_io_create_mapped\(const char \*weights_path, char \*err, size_t errlen\);"
grep -q "two_io_create(void)" "$TMP/two_io.h" && fail "a mapped-weights header declares two_io_create"
bytes=$(sed -n 's/^#define TWO_IO_WEIGHTS_BYTES \([0-9]*\)$/\1/p' "$TMP/two_io.h")
[ "$(stat -c %s "$TMP/two_io.weights")" = "$bytes" ] || fail "the weights file does not hold TWO_IO_WEIGHTS_BYTES ($bytes)"

build_host "$TMP" "$TMP/host" -DMAPPED_WEIGHTS
run "$TMP/host" "$DATA" "$TMP/two_io.weights"
expect_status 0
expect_stdout "match$"

head -c $((bytes - 16)) "$TMP/two_io.weights" >"$TMP/truncated.weights"
run "$TMP/host" "$DATA" "$TMP/truncated.weights"
expect_status 2
expect_stderr "truncated.weights: weights file has $((bytes - 16)) bytes, the model expects $bytes"

cp "$TMP/two_io.weights" "$TMP/tampered.weights"
printf '\125' | dd of="$TMP/tampered.weights" bs=1 seek=100 conv=notrunc status=none
cmp -s "$TMP/two_io.weights" "$TMP/tampered.weights" && printf '\252' | dd of="$TMP/tampered.weights" bs=1 seek=100 conv=notrunc status=none
run "$TMP/host" "$DATA" "$TMP/tampered.weights"
expect_status 2
expect_stderr "tampered.weights: weights file does not match the model"

run "$TMP/host" "$DATA" "$TMP/missing.weights"
expect_status 2
expect_stderr "missing.weights: cannot open weights file"
finish
