# bench.sh — `vitc bench`: text and JSON reports, the peak cache, and every bad option (exit 2, message).
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3
ADD=$GRAPHS/cli_add
export XDG_CACHE_HOME=$TMP/cache # the probe's cache goes here, not into the user's home

vitc bench --help
expect_status 0
expect_stdout "usage: vitc bench MODEL"
expect_stdout "--iters N"

# JSON: every key, and numbers that fit together.
vitc bench "$ADD/model.onnx" --threads 2 --iters 5 --warmup 1 --json --no-cache # compiled: every stage timed
expect_status 0
$PY - "$TMP/stdout" <<'PYEOF' || fail "bench --json has wrong content"
import json, sys
d = json.load(open(sys.argv[1]))
for key in ["model", "precision", "threads", "iters", "warmup", "load_ms", "compile_ms", "min_ms", "median_ms", "mean_ms",
            "gflop", "gflops", "peak_gflops", "pct_peak", "rss_bytes"]:
    assert key in d, key
assert d["precision"] == "fp32", d
assert d["threads"] == 2 and d["iters"] == 5 and d["warmup"] == 1, d
assert 0 < d["min_ms"] <= d["median_ms"] and d["min_ms"] <= d["mean_ms"], d
assert abs(d["gflop"] - 12e-9) < 1e-12, d["gflop"]  # 6 adds + 6 multiplies, as vitc inspect counts them
assert abs(d["gflops"] - d["gflop"] / (d["median_ms"] * 1e-3)) <= 1e-3 * d["gflops"], d
assert d["peak_gflops"] > 0 and abs(d["pct_peak"] - 100 * d["gflops"] / d["peak_gflops"]) < 0.01 + 1e-3 * d["pct_peak"], d
assert d["compile_ms"] > 0 and d["load_ms"] > 0, d
assert d["rss_bytes"] > 1 << 20, d["rss_bytes"]
assert d["first_run_ms"] > 0, d
stages = d["compile_stages"]
assert list(stages) == ["load", "passes", "ir", "weights", "optimise", "codegen"], stages
assert all(s["wall_ms"] >= 0 and s["cpu_ms"] >= 0 for s in stages.values()), stages
assert stages["ir"]["wall_ms"] > 0 and stages["optimise"]["wall_ms"] > 0 and stages["codegen"]["wall_ms"] > 0, stages
assert stages["weights"]["wall_ms"] <= stages["ir"]["wall_ms"], stages  # a part of it
assert stages["ir"]["wall_ms"] + stages["optimise"]["wall_ms"] + stages["codegen"]["wall_ms"] <= d["compile_ms"], d
PYEOF
grep -Eq "^2 [0-9.]+ " "$XDG_CACHE_HOME/vitc/peak.txt" || fail "the peak of 2 threads was not cached"

# Text, from a model directory; the peak now comes from the cache.
vitc bench "$ADD" --threads 2 --iters 2
expect_status 0
expect_stdout "^time: +min [0-9.]+ ms, median [0-9.]+ ms, mean [0-9.]+ ms"
expect_stdout "^compile: +[0-9]+ ms, CPU [0-9]+ ms: load [0-9]+ \(CPU [0-9]+\), passes .*, codegen [0-9]+ \(CPU [0-9]+\) ms$"
expect_stdout "of this machine's peak .*cached in $XDG_CACHE_HOME/vitc/peak.txt"
expect_stdout "^memory: +[0-9.]+ MB peak resident"
vitc bench "$GRAPHS/cli_dynamic/model.onnx" --shape x=5x4 --iters 1 --threads 1 --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["threads"] == 1 and d["median_ms"] > 0, d' \
  "$TMP/stdout" || fail "bench with --shape"

# --precision: recorded in the report; an unknown one is refused.
vitc bench "$ADD/model.onnx" --precision bf16 --iters 1 --threads 1 --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["precision"] == "bf16", d' "$TMP/stdout" ||
  fail "bench --precision bf16"
vitc bench "$ADD/model.onnx" --precision fp16 --iters 1
expect_status 2
expect_stderr "--precision expects fp32 or bf16, got 'fp16'"

# A cached peak below the speed just measured (taken on a busy machine) is measured again, and kept.
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
[[ -n $cpu ]] || cpu=$(uname -m)
echo "1 1e-09 $cpu" >"$XDG_CACHE_HOME/vitc/peak.txt"
vitc bench "$ADD/model.onnx" --threads 1 --iters 1 --json
expect_status 0
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["peak_gflops"] > 1e-3, d' "$TMP/stdout" ||
  fail "a cached peak below the measured speed was used"
[[ $(grep -c "^1 " "$XDG_CACHE_HOME/vitc/peak.txt") == 2 ]] || fail "the new peak was not cached"

# Errors.
vitc bench
expect_error 2 "missing MODEL"
vitc bench "$ADD/model.onnx" --iters 0
expect_error 2 "--iters expects 1..1000000, got '0'"
vitc bench "$ADD/model.onnx" --iters many
expect_error 2 "--iters expects 1..1000000, got 'many'"
vitc bench "$ADD/model.onnx" --warmup -1
expect_error 2 "--warmup expects 0..1000000, got '-1'"
vitc bench "$ADD/model.onnx" --warmup
expect_error 2 "option '--warmup' needs a value"
vitc bench "$ADD/model.onnx" --threads x
expect_error 2 "--threads expects 0..1024"
vitc bench "$ADD/model.onnx" --fast
expect_error 2 "unknown option '--fast'"
expect_stderr "see 'vitc bench --help'"
vitc bench "$ADD/model.onnx" "$ADD/model.onnx"
expect_error 2 "more than one MODEL"
vitc bench "$ADD/model.onnx" --interp
expect_error 2 "bench times JIT-compiled code"
vitc bench "$GRAPHS/no_such_model.onnx"
expect_error 2 "no_such_model.onnx"

finish
