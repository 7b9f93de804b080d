#!/bin/bash
# vitc against ONNX Runtime on full-size models (batch 1, 224x224 unless the export says otherwise, float32), side by side in one run:
# for each model and thread count, `vitc bench --json` (JIT-compiled code) and ORT (bench/ort_time.js)
# alternate ROUNDS times and the best mean of each is kept, so drift on a shared machine hits both
# alike. Before timing, vitc's output on each model is checked once against torch's (examples/jit_host
# --expect: the same top-1 class). Prints milliseconds, the ratio ORT/vitc (> 1: vitc is faster), vitc's
# % of this machine's peak and its compile time.
#
# usage: bench/compare_ort.sh [MODEL ...]
#        models: vit_b_16 vit_b_32 swin_t swin_v2_t convnext_tiny maxvit_t (default: all)
# env:   THREADS="1 2"  ITERS=10  ROUNDS=2
#        PRECISIONS="fp32 bf16 int8"  vitc's --precision for each row (default fp32; ORT runs float32); int8
#                        rows run vitc and ORT on the same QDQ model, QDQ_DIR/NAME_qdq (made by
#                        tools/model-toolchain.sh --quant --export), checked first against ORT's output on
#                        it within ORT's own deviation from the fp32 model (its atol.txt)
#        MODELS_DIR=DIR  exports to use as DIR/NAME/{model.onnx,gflop.txt,test_data_set_0} (e.g.
#                        /work/shared-bench/models); models missing there are exported into build/bench/NAME
#                        by bench/export_model.py
#        NODE_PATH=DIR   where onnxruntime-node is; else npm installs it (1.30.0, --ignore-scripts: its
#                        postinstall download fails here) into build/bench/ort
#        PEAK1=GFLOP/s PEAK2=… the machine's peak per thread count; else vitc bench's FMA probe (cached)
# GFLOP is the model's MatMul/Gemm/Conv arithmetic as torch counts it (gflop.txt); % peak divides it by
# vitc's time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=/usr/bin/python3
bench=$root/build/bench
vitc=$root/build/vitc
host=$root/build/examples/jit_host
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(vit_b_16 vit_b_32 swin_t swin_v2_t convnext_tiny maxvit_t)
threads=${THREADS:-1 2}
precisions=${PRECISIONS:-fp32}
iters=${ITERS:-10}
rounds=${ROUNDS:-2}

for tool in "$vitc" "$host"; do
  [[ -x $tool ]] || { echo "compare_ort.sh: $tool not found; build first" >&2; exit 2; }
done
if [[ -z ${NODE_PATH:-} || ! -d $NODE_PATH/onnxruntime-node ]]; then
  command -v npm >/dev/null || { echo "compare_ort.sh: npm not found (or set NODE_PATH)" >&2; exit 2; }
  if [[ ! -d $bench/ort/node_modules/onnxruntime-node ]]; then
    mkdir -p "$bench/ort"
    (cd "$bench/ort" && npm install --silent --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
  fi
  export NODE_PATH=$bench/ort/node_modules
fi

best() { sort -g | head -1; }
json_field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

printf "%-14s %7s %9s %7s %10s %10s %9s %8s %10s\n" model GFLOP precision threads "vitc ms" "ORT ms" "ORT/vitc" \
  "% peak" "compile s"
for name in "${models[@]}"; do
  dir=${MODELS_DIR:+$MODELS_DIR/$name}
  if [[ -z $dir || ! -f $dir/model.onnx ]]; then
    dir=$bench/$name
    if [[ ! -f $dir/model.onnx ]]; then
      echo "exporting $name to $dir" >&2
      "$python" "$root/bench/export_model.py" "$name" "$dir" >&2
    fi
  fi
  raw=$bench/$name/input.raw # beside our own files: MODELS_DIR may be read-only
  mkdir -p "$bench/$name"
  [[ -f $raw ]] || "$python" "$root/bench/to_raw.py" "$dir/test_data_set_0/input_0.pb" "$raw"
  gflop=$(cat "$dir/gflop.txt")
  if ! "$host" "$dir/model.onnx" "$raw" --iters 1 --expect "$dir/test_data_set_0/output_0.pb" >&2; then
    echo "compare_ort.sh: vitc's output on $name differs from torch's" >&2
    exit 1
  fi
  qdq=${QDQ_DIR:-}/${name}_qdq
  if [[ " $precisions " == *" int8 "* ]]; then
    [[ -n ${QDQ_DIR:-} && -f $qdq/model.onnx ]] || { echo "compare_ort.sh: int8 needs QDQ_DIR/${name}_qdq" >&2; exit 2; }
    if ! "$vitc" check "$qdq" --rtol 0 --atol "$(cat "$qdq/atol.txt")" >&2; then
      echo "compare_ort.sh: vitc's output on ${name}_qdq differs from ORT's" >&2
      exit 1
    fi
  fi
  for t in $threads; do
    for prec in $precisions; do
      vitc_ms=() ort_ms=() model=$dir/model.onnx vprec=$prec
      [[ $prec != int8 ]] || model=$qdq/model.onnx vprec=fp32 # the model itself is int8
      for ((r = 0; r < rounds; r++)); do
        report=$("$vitc" bench "$model" --precision "$vprec" --threads "$t" --iters "$iters" --warmup 1 --json)
        vitc_ms+=("$(json_field "$report" mean_ms)")
        ort_ms+=("$(node "$root/bench/ort_time.js" "$model" "$raw" "$t" "$iters" | cut -d' ' -f1)")
      done
      v=$(printf '%s\n' "${vitc_ms[@]}" | best)
      o=$(printf '%s\n' "${ort_ms[@]}" | best)
      peak_var=PEAK$t
      peak=${!peak_var:-$(json_field "$report" peak_gflops)}
      compile=$(json_field "$report" compile_ms)
      awk -v m="$name" -v g="$gflop" -v q="$prec" -v t="$t" -v v="$v" -v o="$o" -v p="$peak" -v c="$compile" 'BEGIN {
        pct = p > 0 ? sprintf("%.0f%%", 100 * g / (v / 1000) / p) : "-"
        printf "%-14s %7.2f %9s %7d %10.1f %10.1f %9.2f %8s %10.1f\n", m, g, q, t, v, o, o / v, pct, c / 1000 }'
    done
  done
done
echo "(best mean of $rounds rounds of $iters runs each, interleaved; vitc's output checked against torch's;"
echo " % peak is of the float32 FMA peak, whatever the precision; bf16's dot-product peak is twice that,"
echo " int8's four times; int8 rows run vitc and ORT on the same QDQ model)"
