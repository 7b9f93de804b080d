# good_paths.sh — the CLI's successful paths: help, inspect (text and JSON), dump, run, check.
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3
ADD=$GRAPHS/cli_add
DATA=$ADD/test_data_set_0

vitc --help
expect_status 0
expect_stdout "usage: vitc COMMAND"
for cmd in inspect run check dump ops; do
  vitc "$cmd" --help
  expect_status 0
  expect_stdout "usage: vitc $cmd"
done

# inspect: text and JSON.
vitc inspect "$ADD/model.onnx"
expect_status 0
expect_stdout "^  a: float32\[2,3\]"
expect_stdout "^  y: float32\[2,3\]"
expect_stdout "^params: 3 "
vitc inspect "$ADD/model.onnx" --json
expect_status 0
$PY -m json.tool "$TMP/stdout" >/dev/null || fail "inspect --json is not valid JSON"
$PY - "$TMP/stdout" <<'PYEOF' || fail "inspect --json has wrong content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["inputs"] == [{"name": "a", "dtype": "float32", "shape": [2, 3], "dim_params": [None, None]},
                       {"name": "b", "dtype": "float32", "shape": [2, 3], "dim_params": [None, None]}], d["inputs"]
assert d["outputs"] == [{"name": "y", "dtype": "float32", "shape": [2, 3], "dim_params": [None, None]}], d["outputs"]
assert d["params"] == 3 and d["param_bytes"] == 12, (d["params"], d["param_bytes"])
assert d["ops_before"] == {"Add": 1, "Mul": 1}, d["ops_before"]
assert abs(d["gflops"] - 12e-9) < 1e-12, d["gflops"]  # 6 adds + 6 multiplies
assert sum(d["ops_after"].values()) >= 1, d["ops_after"]
PYEOF
# A directory holding model.onnx stands for that file, in every command taking MODEL.
vitc inspect "$ADD" --json
expect_status 0
cp "$TMP/stdout" "$TMP/inspect_dir.json"
vitc inspect "$ADD/model.onnx" --json
cmp -s "$TMP/stdout" "$TMP/inspect_dir.json" || fail "inspect DIR differs from inspect DIR/model.onnx"
vitc dump "$ADD"
expect_status 0
expect_stdout "Add|Mul|Fused"
mkdir -p "$TMP/no_model"
vitc inspect "$TMP/no_model"
expect_status 2
expect_stderr "no_model/model.onnx"
vitc inspect "$GRAPHS/cli_odd_names.onnx" --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["inputs"][0]["name"] == "in\"put\\1\t", d' \
  "$TMP/stdout" || fail "inspect --json does not escape names"
vitc inspect "$GRAPHS/cli_dynamic/model.onnx" --shape x=5x4 --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["outputs"][0]["shape"] == [5, 4], d' \
  "$TMP/stdout" || fail "--shape did not bind the input"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["inputs"][0]["dim_params"] == ["batch", None], d' \
  "$TMP/stdout" || fail "inspect --json does not name the symbolic dim"
vitc inspect "$GRAPHS/cli_dynamic/model.onnx" --shape x=5x4
expect_status 0
expect_stdout "^  x: float32\[batch=5,4\]"
vitc inspect "$ADD/model.onnx" -O0 --verify-each
expect_status 0

# dump: text, Graphviz, to a file, with --print-after.
vitc dump "$ADD/model.onnx"
expect_status 0
expect_stdout "Add"
expect_stdout "Mul"
vitc dump "$ADD/model.onnx" --dot
expect_status 0
expect_stdout "digraph"
vitc dump "$ADD/model.onnx" --dot -o "$TMP/graph.dot"
expect_status 0
grep -q digraph "$TMP/graph.dot" || fail "dump -o did not write the graph"
vitc dump "$ADD/model.onnx" --print-after=all
expect_status 0
expect_stderr "Mul"

# run: positional and named inputs; the written output is what check expects.
vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out"
expect_status 0
expect_stdout "^y: float32\[2,3\] = "
[ -s "$TMP/out/output_0.pb" ] || fail "run did not write output_0.pb"
mkdir -p "$TMP/rerun/test_data_set_0"
cp "$ADD/model.onnx" "$TMP/rerun/"
cp "$DATA/input_0.pb" "$DATA/input_1.pb" "$TMP/out/output_0.pb" "$TMP/rerun/test_data_set_0/"
vitc check "$TMP/rerun"
expect_status 0
vitc run "$ADD/model.onnx" -i b="$DATA/input_1.pb" -i a="$DATA/input_0.pb" -o "$TMP/out2" --interp
expect_status 0
cmp -s "$TMP/out/output_0.pb" "$TMP/out2/output_0.pb" || fail "named and positional inputs differ"
vitc run "$GRAPHS/cli_dynamic/model.onnx" --shape x=3x4 "$GRAPHS/cli_dynamic/test_data_set_0/input_0.pb" -o "$TMP/out3"
expect_status 0
expect_stdout "^y: float32\[3,4\]"

# check: tolerances, NaN, integers, symbolic dims bound from the data, a deliberate mismatch.
vitc check "$ADD"
expect_status 0
expect_stdout "within tolerance"
vitc check "$GRAPHS/cli_add_wrong"
expect_status 1
expect_stdout "MISMATCH: 1 of 6 elements out of tolerance, first at index 5"
vitc check "$GRAPHS/cli_add_wrong" --atol 0.6
expect_status 0
vitc check "$GRAPHS/cli_add_wrong" --rtol=1e-4 --atol=0.4
expect_status 1
vitc check "$GRAPHS/cli_nan"
expect_status 0
vitc check "$GRAPHS/cli_int"
expect_status 0
vitc check "$GRAPHS/cli_dynamic"
expect_status 0

# ops: one line per row of ir/ops.def.
vitc ops
expect_status 0
expect_stdout "^MatMul$"
[ "$(wc -l <"$TMP/stdout")" -eq "$(grep -c '^X(' "$SRC/ir/ops.def")" ] || fail "vitc ops does not list every op"

finish
