#!/bin/bash
# vitc against ONNX Runtime on full-size models (batch 1, 224x224, float32), side by side in one run:
# for each model and thread count, vitc's JIT (examples/jit_host) and ORT (bench/ort_time.js) alternate
# ROUNDS times and the best mean of each is kept, so drift on a shared machine hits both alike. Prints
# milliseconds, the ratio ORT/vitc (> 1: vitc is faster) and, when the peak is known, vitc's % of it.
#
# usage: bench/compare_ort.sh [MODEL ...]     models: vit_b_16 swin_t convnext_tiny (default: all)
# env:   THREADS="1 2"  ITERS=10  ROUNDS=2  PEAK1=GFLOP/s  PEAK2=GFLOP/s (else measured with
#        ../shared/tools/peak.c when it exists)
# Models are exported once into build/bench/NAME by bench/export_model.py; ORT comes from npm
# (onnxruntime-node 1.30.0, --ignore-scripts: its postinstall download fails here) into build/bench/ort.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=/usr/bin/python3
bench=$root/build/bench
host=$root/build/examples/jit_host
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(vit_b_16 swin_t convnext_tiny)
threads=${THREADS:-1 2}
iters=${ITERS:-10}
rounds=${ROUNDS:-2}

[[ -x $host ]] || { echo "compare_ort.sh: $host not found; run make first" >&2; exit 2; }
command -v npm >/dev/null || { echo "compare_ort.sh: npm not found" >&2; exit 2; }
if [[ ! -d $bench/ort/node_modules/onnxruntime-node ]]; then
  mkdir -p "$bench/ort"
  (cd "$bench/ort" && npm install --silent --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
fi
export NODE_PATH=$bench/ort/node_modules

peak_of() { # threads → GFLOP/s of this machine, or empty
  local var=PEAK$1 src=$root/../shared/tools/peak.c
  if [[ -n ${!var:-} ]]; then echo "${!var}"; return; fi
  [[ -f $src ]] || return 0
  [[ -x $bench/peak ]] || cc -O3 -march=native -pthread "$src" -o "$bench/peak"
  "$bench/peak" "$1" | grep -Eo '[0-9]+(\.[0-9]+)?' | tail -1
}

best() { sort -g | head -1; }

printf "%-14s %7s %7s %10s %10s %9s %8s\n" model GFLOP threads "vitc ms" "ORT ms" "ORT/vitc" "% peak"
for name in "${models[@]}"; do
  dir=$bench/$name
  if [[ ! -f $dir/model.onnx ]]; then
    echo "exporting $name to $dir" >&2
    "$python" "$root/bench/export_model.py" "$name" "$dir" >&2
  fi
  raw=$dir/input.raw
  [[ -f $raw ]] || "$python" - "$dir/test_data_set_0/input_0.pb" "$raw" <<'PY'
import sys, onnx, onnx.numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
onnx.numpy_helper.to_array(t).astype("<f4").tofile(sys.argv[2])
PY
  gflop=$(cat "$dir/gflop.txt")
  for t in $threads; do
    vitc_ms=() ort_ms=()
    for ((r = 0; r < rounds; r++)); do
      out=$("$host" "$dir/model.onnx" "$raw" --threads "$t" --iters "$iters" --expect "$dir/test_data_set_0/output_0.pb")
      vitc_ms+=("$(grep -Eo '^[0-9.]+ ms per inference' <<<"$out" | cut -d' ' -f1)")
      ort_ms+=("$(node "$root/bench/ort_time.js" "$dir/model.onnx" "$raw" "$t" "$iters" | cut -d' ' -f1)")
    done
    v=$(printf '%s\n' "${vitc_ms[@]}" | best)
    o=$(printf '%s\n' "${ort_ms[@]}" | best)
    peak=$(peak_of "$t")
    awk -v m="$name" -v g="$gflop" -v t="$t" -v v="$v" -v o="$o" -v p="$peak" 'BEGIN {
      pct = p == "" ? "-" : sprintf("%.0f%%", 100 * g / (v / 1000) / p)
      printf "%-14s %7.2f %7d %10.1f %10.1f %9.2f %8s\n", m, g, t, v, o, o / v, pct }'
  done
done
echo "(best mean of $rounds rounds of $iters runs each; vitc's output checked against torch's; GFLOP: MatMul/Gemm/Conv)"
