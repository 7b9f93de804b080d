# limits.sh — bad input data at run time and --max-memory: exit status 2 and a message naming the model,
# the node, and the index and bound or the limit, with every engine.
source "$(dirname "$0")/lib/common.bash"
G=$GRAPHS/gather_rows
GOOD=$G/test_data_set_0/input_0.pb

# An index out of range (1000000000 for a table of 10 rows) stops the run; no output is written.
for engine in "" --interp --aot; do
  vitc run "$G/model.onnx" "$G/bad_indices.pb" -o "$TMP/out" $engine
  expect_error 2 "gather_rows/model.onnx: node 'rows' \(Gather\): index 1000000000 is out of range for an axis of size 10"
  [ ! -e "$TMP/out/output_0.pb" ] || fail "a failed run ($engine) left $TMP/out/output_0.pb"
  vitc run "$G/model.onnx" "$GOOD" -o "$TMP/out" $engine
  expect_status 0
  expect_stdout "y: float32\[2,3\] = 27, 28, 29, 0, 1, 2"
  rm -rf "$TMP/out"
done

# --max-memory: the weights (a 120-byte table) above the limit are refused at compile time.
vitc run "$G/model.onnx" "$GOOD" -o "$TMP/out" --max-memory 100
expect_error 2 "gather_rows/model.onnx: constant 'table': the weights need at least 120 bytes, above the memory limit of 100 bytes"
vitc compile "$G/model.onnx" -o "$TMP/g.o" --max-memory=100
expect_error 2 "above the memory limit of 100 bytes"
vitc run "$G/model.onnx" "$GOOD" -o "$TMP/out" --max-memory 1K
expect_status 0
# The planned activations above the limit while each tensor (24 bytes) is below it: the arena's slots are
# 64-byte aligned. The Add and the Relu kept apart: as one ElementwiseChain they have no intermediate.
vitc run "$GRAPHS/add_relu/model.onnx" "$GRAPHS/add_relu/test_data_set_0/input_0.pb" -o "$TMP/out" --max-memory 30 \
  --disable-pass=fuse_elementwise_chains
expect_error 2 "add_relu/model.onnx: the planned activations need 64 bytes, above the memory limit of 30 bytes"
# An activation above the limit: the add of cli_add makes a float32[2,3] (24 bytes).
vitc inspect "$GRAPHS/cli_add/model.onnx" --max-memory 16
expect_error 2 "cli_add/model.onnx: node .*above the memory limit|cli_add/model.onnx.*limit of 16 bytes"
for bad in 0 -5 1x 12KB "" 99999999999G; do
  vitc inspect "$G/model.onnx" --max-memory="$bad"
  expect_error 2 "--max-memory expects a positive number of bytes with an optional K, M or G suffix, got '$bad'"
done

finish
