# embedding.sh — what a host embedding vitc uses from the tool: --trace and --profile over warm runs (JIT,
# --aot, a shared library, bench, and the example hosts through the C API and the runtime), .npy/.npz
# inputs and outputs with numpy as the reference, shared libraries that name themselves, per-command
# help, and every error path of these with its message.
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3
ADD=$GRAPHS/cli_add
DATA=$ADD/test_data_set_0
DEMO=$SRC/tests/models/demo
BUILD=$(dirname "$VITC")

# trace_events FILE NODES RUNS: FILE is trace-event JSON with one event per node per run, named
# "node (Op)", each run holding the same nodes, with a thread id.
trace_events() {
  $PY - "$@" <<'PYEOF' || fail "trace $1 is not one event per node per run"
import json, re, sys
path, nodes, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(path))
ev = [e for e in (d["traceEvents"] if isinstance(d, dict) else d) if e.get("ph") == "X"]
assert len(ev) == nodes * runs, (len(ev), nodes, runs)
assert all(re.fullmatch(r".+ \([A-Za-z]+\)", e["name"]) for e in ev), [e["name"] for e in ev]
per_run = {}
for e in ev:
    per_run.setdefault(e["args"]["run"], []).append(e["args"]["node"])
    assert e["dur"] >= 0 and isinstance(e["tid"], int), e
assert sorted(per_run) == list(range(runs)), sorted(per_run)
assert all(sorted(v) == sorted(per_run[0]) and len(v) == nodes for v in per_run.values()), per_run
PYEOF
}

# The graph's live nodes after passes, as inspect counts them: each runs once per run.
vitc inspect "$ADD/model.onnx" --json
nodes=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes_after"])' "$TMP/stdout")

# --trace on run: one warm-up, then --runs recorded runs; JIT and --aot.
for engine in "" --aot; do
  vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out" --trace "$TMP/t$engine.json" \
    --runs 3 $engine
  expect_status 0
  trace_events "$TMP/t$engine.json" "$nodes" 3
done
# --profile: per-op and per-node sections with time share and GFLOP/s, also for --aot; the Add and the Mul kept
# apart (fuse_elementwise_chains would make them one node) so that each has its line.
for engine in "" --aot; do
  vitc run "$ADD/model.onnx" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out" --profile --runs 4 $engine \
    --disable-pass=fuse_elementwise_chains
  expect_status 0
  expect_stderr "^profile: 4 runs after one warm-up"
  expect_stderr "^per op:$"
  expect_stderr "^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +1  Add$"
  expect_stderr "^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +1  Mul$"
  expect_stderr "^ +[0-9.]+ +100.0 +[0-9.]+ +total$"
  expect_stderr "^per node:$"
  expect_stderr "^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +add \(Add\)$"
  expect_stderr "^ +[0-9.]+ +[0-9.]+ +[0-9.]+ +scale \(Mul\)$"
  expect_stderr "^compile: +[0-9]+ ms, CPU [0-9]+ ms: load [0-9]+ \(CPU [0-9]+\), passes [0-9]+ .*, codegen [0-9]+ \(CPU [0-9]+\) ms$"
done
# bench: the timed runs are the recorded ones.
vitc bench "$ADD/model.onnx" --iters 5 --warmup 1 --trace "$TMP/bench.json" --profile
expect_status 0
trace_events "$TMP/bench.json" "$nodes" 5
expect_stderr "^per op:$"

# A shared library states its name: run and inspect need no --name; --profile and --trace work on it.
vitc compile "$ADD/model.onnx" -o "$TMP/libadd.so" --emit shared --name addm
expect_status 0
vitc inspect "$TMP/libadd.so"
expect_status 0
expect_stdout "^model: .*libadd.so \(shared library, name addm\)$"
expect_stdout "^  a: float32\[2,3\]$"
expect_stdout "^  y: float32\[2,3\]$"
vitc inspect "$TMP/libadd.so" --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"] == "addm" and d["outputs"][0]["name"] == "y", d' \
  "$TMP/stdout" || fail "inspect LIB.so --json"
vitc run "$TMP/libadd.so" "$DATA/input_0.pb" "$DATA/input_1.pb" -o "$TMP/out_so" --trace "$TMP/so.json" --runs 2 --profile
expect_status 0
expect_stdout "^y: float32\[2,3\]"
expect_stderr "^per node:$"
trace_events "$TMP/so.json" "$nodes" 2
cp /bin/true "$TMP/notamodel.so"
vitc run "$TMP/notamodel.so" "$DATA/input_0.pb" -o "$TMP/out"
expect_error 2 "notamodel.so: not a model compiled by vitc \(no NAME_signature\)"
vitc inspect "$TMP/notamodel.so"
expect_error 2 "not a model compiled by vitc"
echo "not elf" >"$TMP/text.so"
vitc inspect "$TMP/text.so"
expect_error 2 "text.so: not a 64-bit ELF shared library"
vitc compile "$ADD/model.onnx" -o "$TMP/cross.so" --emit shared --target aarch64-linux-gnu
expect_error 2 "--emit shared links with this machine's cc and runtime, not for --target aarch64-linux-gnu"
[[ ! -e $TMP/cross.so ]] || fail "a refused cross --emit shared left a file"

# The JIT example host traces through the C API (vitc_context_trace_start/_write).
run "$BUILD/examples/jit_host" "$DEMO/model.onnx" "$DEMO/test_data_set_0/input_0.pb" --iters 3 --trace "$TMP/jit.json"
expect_status 0
vitc run "$DEMO/model.onnx" "$DEMO/test_data_set_0/input_0.pb" -o "$TMP/demo_out" --trace "$TMP/demo.json" --runs 1
demo_nodes=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len([e for e in d["traceEvents"] if e["ph"] == "X"]))' \
  "$TMP/demo.json")
trace_events "$TMP/jit.json" "$demo_nodes" 3
run "$BUILD/examples/jit_host" "$DEMO/model.onnx" "$DEMO/test_data_set_0/input_0.pb" --iters 1 --trace "$TMP/no/dir/x.json"
expect_status 2
expect_stderr "no/dir/x.json"
run "$BUILD/examples/jit_host" "$DEMO/model.onnx" "$DEMO/test_data_set_0/input_0.pb" --iters 1 --interpret --trace "$TMP/i.json"
expect_status 2
expect_stderr "tracing records compiled code; this model is interpreted"

# .npy and .npz, numpy writing the inputs and reading the outputs; the reference is numpy's (a + b) * w.
$PY - "$ADD/model.onnx" "$TMP" <<'PYEOF' || fail "cannot write numpy inputs"
import sys, numpy as np, onnx
from onnx import numpy_helper
m, tmp = onnx.load(sys.argv[1]), sys.argv[2]
w = numpy_helper.to_array(m.graph.initializer[0])
rng = np.random.default_rng(7)
a, b = rng.standard_normal((2, 3), dtype=np.float32), rng.standard_normal((2, 3), dtype=np.float32)
np.save(tmp + "/a.npy", a)
np.save(tmp + "/b.npy", b)
np.savez(tmp + "/inputs.npz", b=b, a=a)
np.savez_compressed(tmp + "/inputs_z.npz", a=a, b=b)
np.savez(tmp + "/only_a.npz", a=a)
np.savez(tmp + "/extra.npz", a=a, b=b, c=a)
np.savez(tmp + "/wrong_shape.npz", a=a, b=np.zeros((3, 2), np.float32))
np.savez(tmp + "/complex.npz", a=a, b=b.astype(np.complex64))
np.save(tmp + "/expected.npy", (a + b) * w)
PYEOF
$PY -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").writestr("a.npy", b"garbage")' "$TMP/garbage.npz"
check_y() { # check_y FILE [MEMBER]: y read by numpy equals the reference
  $PY - "$TMP/expected.npy" "$@" <<'PYEOF' || fail "output $2 differs from numpy's"
import sys, numpy as np
exp = np.load(sys.argv[1])
got = np.load(sys.argv[2])
if len(sys.argv) > 3:
    assert list(got.keys()) == [sys.argv[3]], list(got.keys())
    got = got[sys.argv[3]]
assert got.dtype == np.float32 and got.shape == exp.shape, (got.dtype, got.shape)
assert np.allclose(got, exp, rtol=1e-6, atol=1e-6), (got, exp)
PYEOF
}
vitc run "$ADD/model.onnx" "$TMP/a.npy" "$TMP/b.npy" -o "$TMP/o.npz"
expect_status 0
check_y "$TMP/o.npz" y
vitc run "$ADD/model.onnx" -i b="$TMP/b.npy" -i a="$TMP/a.npy" -o "$TMP/onpy" --format npy --interp
expect_status 0
check_y "$TMP/onpy/output_0.npy"
for npz in inputs inputs_z; do
  vitc run "$ADD/model.onnx" "$TMP/$npz.npz" -o "$TMP/o_$npz.npz"
  expect_status 0
  check_y "$TMP/o_$npz.npz" y
done
vitc run "$TMP/libadd.so" "$TMP/inputs.npz" -o "$TMP/o_so" --format npy
expect_status 0
check_y "$TMP/o_so/output_0.npy"
# check: a data set of .npy files.
mkdir -p "$TMP/case/test_data_set_0"
cp "$ADD/model.onnx" "$TMP/case/"
cp "$TMP/a.npy" "$TMP/case/test_data_set_0/input_0.npy"
cp "$TMP/b.npy" "$TMP/case/test_data_set_0/input_1.npy"
cp "$TMP/expected.npy" "$TMP/case/test_data_set_0/output_0.npy"
vitc check "$TMP/case"
expect_status 0
expect_stdout "1 data set within tolerance"
cp "$TMP/a.npy" "$TMP/case/test_data_set_0/output_0.npy"
vitc check "$TMP/case"
expect_status 1
# check: a data set of one inputs.npz and one outputs.npz, arrays named like the graph's tensors.
mkdir -p "$TMP/npzcase/test_data_set_0"
cp "$ADD/model.onnx" "$TMP/npzcase/"
cp "$TMP/inputs.npz" "$TMP/npzcase/test_data_set_0/inputs.npz"
$PY -c 'import sys, numpy as np; np.savez(sys.argv[2], y=np.load(sys.argv[1]))' "$TMP/expected.npy" \
  "$TMP/npzcase/test_data_set_0/outputs.npz"
vitc check "$TMP/npzcase"
expect_status 0
expect_stdout "1 data set within tolerance"
$PY -c 'import sys, numpy as np; np.savez(sys.argv[2], y=np.load(sys.argv[1]) + 1)' "$TMP/expected.npy" \
  "$TMP/npzcase/test_data_set_0/outputs.npz"
vitc check "$TMP/npzcase"
expect_status 1
$PY -c 'import sys, numpy as np; np.savez(sys.argv[2], z=np.load(sys.argv[1]))' "$TMP/expected.npy" \
  "$TMP/npzcase/test_data_set_0/outputs.npz"
vitc check "$TMP/npzcase"
expect_error 2 "outputs.npz: array 'z' names no output of the model"
cp "$TMP/only_a.npz" "$TMP/npzcase/test_data_set_0/inputs.npz"
vitc check "$TMP/npzcase"
expect_error 2 "1 input and 1 output files for a model with 2 inputs"
cp "$TMP/extra.npz" "$TMP/npzcase/test_data_set_0/inputs.npz"
vitc check "$TMP/npzcase"
expect_error 2 "3 input and 1 output files for a model with 2 inputs"
cp "$TMP/garbage.npz" "$TMP/npzcase/test_data_set_0/inputs.npz"
vitc check "$TMP/npzcase"
expect_error 2 "inputs.npz: member 'a': not a .npy array"

# Error paths of the above.
vitc run "$ADD/model.onnx" "$TMP/only_a.npz" -o "$TMP/e"
expect_error 2 "no value for input 'b' \(.*only_a.npz has no array 'b'\)"
vitc run "$ADD/model.onnx" "$TMP/extra.npz" -o "$TMP/e"
expect_error 2 "extra.npz: array 'c' names no input of the model"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" "$TMP/a.npy" -o "$TMP/e"
expect_error 2 "input 'a' is given twice"
vitc run "$ADD/model.onnx" "$TMP/wrong_shape.npz" -o "$TMP/e"
expect_error 2 "wrong_shape.npz: input 'b': expected float32\[2,3\], got float32\[3,2\]"
vitc run "$ADD/model.onnx" "$TMP/complex.npz" -o "$TMP/e"
expect_error 2 "complex.npz: member 'b': unsupported .npy dtype"
vitc run "$ADD/model.onnx" "$TMP/garbage.npz" -o "$TMP/e"
expect_error 2 "garbage.npz: member 'a': not a .npy array"
vitc run "$ADD/model.onnx" "$TMP/missing.npz" -o "$TMP/e"
expect_error 2 "missing.npz"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/e" --format csv
expect_error 2 "--format must be pb or npy, not 'csv'"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/e.npz" --format npy
expect_error 2 "--format names the files of an output directory"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/no/such/dir/e.npz"
expect_error 2 "no/such/dir/e.npz"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/e" --trace "$TMP/no/such/dir/t.json"
expect_error 2 "--trace: .*no/such/dir/t.json: cannot create"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/e" --profile --runs 0
expect_error 2 "--runs expects 1..100000, got '0'"
vitc run "$ADD/model.onnx" "$TMP/inputs.npz" -o "$TMP/e" --trace
expect_error 2 "option '--trace' needs a value"

# Help: one pass list (vitc passes), each command lists and takes only its own options.
vitc passes
expect_status 0
expect_stdout "^infer_shapes +\* "
vitc --version
expect_status 0
expect_stdout "^vitc [0-9]+\.[0-9]+\.[0-9]+$"
vitc --help
expect_stdout "VITC_NUM_THREADS"
for cmd in inspect run check dump compile bench; do
  vitc "$cmd" --help
  expect_status 0
  ! grep -q "infer_shapes" "$TMP/stdout" || fail "$cmd --help repeats the pass list"
  expect_stdout "^model options:$"
done
for cmd in inspect dump compile; do
  vitc "$cmd" --help
  ! grep -Eq -- "--threads|--interp|--profile|--aot|--trace" "$TMP/stdout" || fail "$cmd --help lists run options"
done
vitc run --help
expect_stdout "^  --trace FILE"
expect_stdout "^  --runs N"
vitc bench --help
expect_stdout "^  --profile"
! grep -q -- "--runs" "$TMP/stdout" || fail "bench --help lists --runs"
vitc inspect "$ADD/model.onnx" --threads 2
expect_error 2 "unknown option '--threads'"
vitc compile "$ADD/model.onnx" -o "$TMP/x.o" --profile
expect_error 2 "unknown option '--profile'"
vitc bench "$ADD/model.onnx" --runs 3
expect_error 2 "unknown option '--runs'"
finish
