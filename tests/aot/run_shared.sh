# run_shared.sh — `vitc run LIB.so`: a model compiled into a shared library runs through the CLI (dlopen,
# its signature for the inputs, libffi for the call), with embedded or side-file weights, and `vitc check
# --aot` does the same round trip from an .onnx; wrong names and missing weights are clear errors.
source "$(dirname "$0")/lib.bash"

run "$VITC" compile "$MODEL" -o "$TMP/libtwo_io.so" --name two_io --emit shared
expect_status 0
run "$VITC" run "$TMP/libtwo_io.so" --name two_io "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 0
expect_stdout "^logits: float32\[64,4\]"
[ -f "$TMP/out/output_1.pb" ] || fail "no output_1.pb written"

run "$VITC" run "$TMP/libtwo_io.so" --name other "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 2
expect_stderr "not a model compiled by vitc with --name other"

run "$VITC" run "$TMP/libtwo_io.so" --name two_io --shape x=2x4 "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 2
expect_stderr "--shape has no effect on .*libtwo_io.so: its shapes were fixed when it was compiled"

run "$VITC" run "$TMP/missing.so" --name two_io "$DATA/input_0.pb" -o "$TMP/out"
expect_status 2
expect_stderr "missing.so: cannot load"

run "$VITC" compile "$MODEL" -o "$TMP/libside.so" --name side --emit shared --weights "$TMP/side.weights"
expect_status 0
run "$VITC" run "$TMP/libside.so" --name side "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 2
expect_stderr "keeps its weights in a file: give --weights FILE"
run "$VITC" run "$TMP/libside.so" --name side --weights "$TMP/side.weights" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out2"
expect_status 0
head -c 100 "$TMP/side.weights" >"$TMP/short.weights"
run "$VITC" run "$TMP/libside.so" --name side --weights "$TMP/short.weights" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out3"
expect_status 2
expect_stderr "the model expects"

mkdir -p "$TMP/case/test_data_set_0"
cp "$MODEL" "$TMP/case/model.onnx"
cp "$DATA"/*.pb "$TMP/case/test_data_set_0/"
run "$VITC" check "$TMP/case" --aot
expect_status 0
expect_stdout "within tolerance"

run "$VITC" run "$MODEL" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out4" --threads x
expect_status 2
expect_stderr "--threads expects 0..1024, got 'x'"
run "$VITC" run "$MODEL" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out4" --profile --threads 1
expect_status 0
expect_stderr "^ +[0-9.]+ +100.0 +[0-9.]+ +total$"
expect_stderr "^per node:$"
finish
