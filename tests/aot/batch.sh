# batch.sh — one AOT object for any batch (issue 19): ViT compiled once with its batch axis symbolic
# declares NAME_run_batch and per-image sizes, and a C host runs batch 1, 4 and 32 through it, matching
# torch's logits; a model compiled for a bound batch has no NAME_run_batch.
source "$(dirname "$0")/lib.bash"
VIT=$SRC/tests/models/vit_op17

run "$VITC" compile "$VIT/model.onnx" -o "$TMP/vit.o" --name vit
expect_status 0
expect_file_matches "$TMP/vit.h" "^int vit_run_batch\(vitc_rt_ctx \*ctx, int64_t n, const float \*in_input, float \*out_logits\);"
expect_file_matches "$TMP/vit.h" "^#define VIT_INPUT0_SHAPE \{1, 3, 32, 32\}"
expect_file_matches "$TMP/vit.h" "^#define VIT_OUTPUT0_COUNT 10 "

run cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$TMP" -I"$SRC/examples" "$SRC/tests/aot/host_batch.c" \
  "$SRC/examples/host_io.c" "$TMP/vit.o" "$RT" -lm -lpthread -o "$TMP/host"
[ "$status" -eq 0 ] || { fail "the host does not build"; finish; }
for set in 0:1 1:4 2:32; do
  run "$TMP/host" "$VIT/test_data_set_${set%:*}" "${set#*:}"
  expect_status 0
  expect_stdout "^batch ${set#*:}: .*: match$"
done

run "$VITC" compile "$VIT/model.onnx" --shape input=2x3x32x32 -o "$TMP/vit2.o" --name vit2
expect_status 0
grep -q "run_batch" "$TMP/vit2.h" && fail "a header for a bound batch declares vit2_run_batch"
finish
