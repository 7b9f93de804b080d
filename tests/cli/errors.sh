# errors.sh — every error path of the CLI: exit status 2 and a message naming what is wrong.
source "$(dirname "$0")/lib/common.bash"
ADD=$GRAPHS/cli_add
DATA=$ADD/test_data_set_0

# Files that are not models.
vitc inspect "$TMP/no_such_model.onnx"
expect_error 2 "no_such_model.onnx"
printf 'this is not a protobuf at all\n\377\377\377' >"$TMP/garbage.onnx"
vitc inspect "$TMP/garbage.onnx"
expect_error 2 "garbage.onnx"
size=$(stat -c %s "$ADD/model.onnx")
head -c $((size / 2)) "$ADD/model.onnx" >"$TMP/truncated.onnx"
vitc inspect "$TMP/truncated.onnx"
expect_error 2 "truncated.onnx"
vitc run "$TMP/truncated.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "truncated.onnx"
vitc inspect "$GRAPHS/cli_unknown_op.onnx"
expect_error 2 "FrobnicateTensor"
vitc dump "$GRAPHS/cli_unknown_op.onnx"
expect_error 2 "FrobnicateTensor"

# Inputs of the wrong type or shape for `run`.
vitc run "$ADD/model.onnx" -i a="$GRAPHS/cli_i64_2x3.pb" -i b="$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "input 'a': expected float32\[2,3\], got int64\[2,3\]"
vitc run "$ADD/model.onnx" "$GRAPHS/cli_f32_3x2.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "input 'a': expected float32\[2,3\], got float32\[3,2\]"
# A symbolic dim is bound from the data (tests/cli/run_batch.sh) unless --shape binds it otherwise.
vitc run "$GRAPHS/cli_dynamic/model.onnx" "$GRAPHS/cli_dynamic/test_data_set_0/input_0.pb" --shape x=2x4 -o "$TMP/out"
expect_error 2 "input 'x': expected float32\[2,4\], got float32\[3,4\] \(bind another shape with --shape\)"
[ ! -e "$TMP/out/output_0.pb" ] || fail "a failed run left $TMP/out/output_0.pb"

# Inputs missing, doubled, unknown or unreadable.
vitc run "$ADD/model.onnx" -i a="$DATA/input_0.pb" -o "$TMP/out"
expect_error 2 "no value for input 'b'"
vitc run "$ADD/model.onnx" -i zz="$DATA/input_0.pb" -o "$TMP/out"
expect_error 2 "no input named 'zz'"
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "takes only 2 inputs"
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" -i a="$DATA/input_0.pb" -o "$TMP/out"
expect_error 2 "input 'a' is given twice"
vitc run "$ADD/model.onnx" "$TMP/no_such_input.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "no_such_input.pb"
vitc run "$ADD/model.onnx" "$TMP/garbage.onnx" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "garbage.onnx"
vitc run "$ADD/model.onnx" -i "$DATA/input_0.pb" -o "$TMP/out"
expect_error 2 "-i expects NAME=FILE.pb"
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb"
expect_error 2 "missing -o OUTDIR"
touch "$TMP/a_file"
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/a_file/sub"
expect_error 2 "a_file"

# Usage errors.
vitc
expect_status 2
expect_stderr "usage: vitc COMMAND"
vitc frobnicate
expect_error 2 "unknown command 'frobnicate'"
vitc inspect "$ADD/model.onnx" --frobnicate
expect_error 2 "unknown option '--frobnicate'"
expect_stderr "vitc inspect --help"
vitc check "$ADD" -x
expect_error 2 "unknown option '-x'"
vitc inspect
expect_error 2 "missing MODEL"
vitc inspect "$ADD/model.onnx" "$ADD/model.onnx"
expect_error 2 "unexpected argument"
vitc inspect "$ADD/model.onnx" --shape
expect_error 2 "option '--shape' needs a value"
vitc inspect "$ADD/model.onnx" --shape a=2xq
expect_error 2 "--shape: .*a=2xq"
vitc inspect "$ADD/model.onnx" --shape a=2x3 --shape a=4x3
expect_error 2 "--shape: input 'a' is bound twice \('a=2x3' and 'a=4x3'\)"
vitc inspect "$ADD/model.onnx" --disable-pass=no_such_pass
expect_error 2 "no_such_pass"
vitc dump "$ADD/model.onnx" --print-after=no_such_pass
expect_error 2 "no_such_pass"
vitc check "$ADD" --rtol abc
expect_error 2 "--rtol expects a number"
vitc check "$ADD" --atol -1
expect_error 2 "--atol expects a number"
vitc ops extra
expect_error 2 "unexpected argument 'extra'"

# check on directories that are not backend tests.
vitc check "$TMP/no_such_dir"
expect_error 2 "no_such_dir"
mkdir -p "$TMP/empty_case"
cp "$ADD/model.onnx" "$TMP/empty_case/"
vitc check "$TMP/empty_case"
expect_error 2 "no test_data_set_"
mkdir -p "$TMP/one_input/test_data_set_0"
cp "$ADD/model.onnx" "$TMP/one_input/"
cp "$DATA/input_0.pb" "$DATA/output_0.pb" "$TMP/one_input/test_data_set_0/"
vitc check "$TMP/one_input"
expect_error 2 "1 input and 1 output files for a model with 2 inputs and 1 outputs"

# A thread count in the environment that is not one is an error, not a silent fall-back; a valid one runs.
VITC_NUM_THREADS=0x2 vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_error 2 "VITC_NUM_THREADS is '0x2': expected a whole number from 1 to 1024"
VITC_NUM_THREADS=2000 vitc inspect "$ADD/model.onnx"
expect_error 2 "VITC_NUM_THREADS is '2000'"
VITC_NUM_THREADS=1 vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 0
finish

# bf16 precision: an unknown precision, and a target without avx512bf16, for which bf16 is emulated (said once).
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out" --precision fp8
expect_error 2 "--precision expects fp32 or bf16, got 'fp8'"
vitc compile "$ADD/model.onnx" -o "$TMP/add.o" --precision bf16 --mcpu x86-64-v3
expect_status 0
expect_stderr "vitc: note: bf16 is emulated on this target, which lacks avx512bf16"
