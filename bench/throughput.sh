#!/bin/bash
# Throughput by batch (issue 19): vitc against ONNX Runtime on full-size exports whose batch axis is
# symbolic (bench/export_model.py --dynamic-batch), side by side in one run. For each model, batch and
# thread count, `vitc bench --shape input=Bx3x224x224 --json` (the graph compiled for that batch: the
# images folded into the products' rows) and ORT on the same export (bench/ort_time.js with BATCH)
# alternate ROUNDS times and the best mean of each is kept. Prints per-image milliseconds and images/s of
# both, ORT/vitc per image (> 1: vitc is faster), vitc's per-image time against its batch-1 time, and
# vitc's compile time. vitc's one-artifact code for any batch (NAME_run_batch, vitc_run_batch) runs the
# images one by one: its per-image time is the batch-1 row's.
#
# usage: bench/throughput.sh MODEL_DIR ...     each holding model.onnx and test_data_set_0/input_0.pb
# env:   BATCHES="1 8 32"  THREADS=2  ITERS=3  ROUNDS=2
#        NODE_PATH=DIR   where onnxruntime-node is (e.g. /work/shared-bench/ort/node_modules)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=/usr/bin/python3
vitc=$root/build/vitc
batches=${BATCHES:-1 8 32}
threads=${THREADS:-2}
iters=${ITERS:-3}
rounds=${ROUNDS:-2}
[[ $# -gt 0 ]] || { echo "usage: bench/throughput.sh MODEL_DIR ..." >&2; exit 2; }
[[ -x $vitc ]] || { echo "throughput.sh: $vitc not found; build first" >&2; exit 2; }
[[ -n ${NODE_PATH:-} && -d $NODE_PATH/onnxruntime-node ]] || { echo "throughput.sh: set NODE_PATH" >&2; exit 2; }

best() { sort -g | head -1; }
json_field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

printf "%-20s %5s %7s %12s %12s %10s %10s %9s %10s %10s\n" model batch threads "vitc ms/img" "ORT ms/img" \
  "vitc img/s" "ORT img/s" "ORT/vitc" "vs batch1" "compile s"
for dir in "$@"; do
  name=$(basename "$dir")
  raw=$root/build/bench/$name/input.raw
  mkdir -p "$(dirname "$raw")"
  [[ -f $raw ]] || "$python" "$root/bench/to_raw.py" "$dir/test_data_set_0/input_0.pb" "$raw"
  for t in $threads; do
    one=""
    for b in $batches; do
      vitc_ms=() ort_ms=()
      for ((r = 0; r < rounds; r++)); do
        report=$("$vitc" bench "$dir/model.onnx" --shape "input=${b}x3x224x224" --threads "$t" --iters "$iters" \
          --warmup 1 --json)
        vitc_ms+=("$(json_field "$report" mean_ms)")
        ort_ms+=("$(node "$root/bench/ort_time.js" "$dir/model.onnx" "$raw" "$t" "$iters" "$b" | cut -d' ' -f1)")
      done
      v=$(printf '%s\n' "${vitc_ms[@]}" | best)
      o=$(printf '%s\n' "${ort_ms[@]}" | best)
      [[ -n $one ]] || one=$(awk -v v="$v" -v b="$b" 'BEGIN { print v / b }')
      compile=$(json_field "$report" compile_ms)
      awk -v m="$name" -v b="$b" -v t="$t" -v v="$v" -v o="$o" -v one="$one" -v c="$compile" 'BEGIN {
        vi = v / b; oi = o / b
        printf "%-20s %5d %7d %12.1f %12.1f %10.1f %10.1f %9.2f %10.2f %10.1f\n", m, b, t, vi, oi, 1000 / vi,
          1000 / oi, oi / vi, vi / one, c / 1000 }'
    done
  done
done
echo "(best mean of $rounds rounds of $iters runs each, interleaved; vs batch1: vitc's per-image time over"
echo " its per-image time at the first batch listed)"
