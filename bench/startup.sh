#!/bin/bash
# startup.sh — time to the first result and peak resident memory of a JIT host (examples/jit_host: load
# the .onnx, passes, compile, one run) against ONNX Runtime 1.30 (bench/ort_time.js with no timed runs:
# node start, session creation, one run), side by side, best of ROUNDS, on full-size exports. The JIT
# host runs cold (an empty compile cache, which it fills) and then warm (the code and weights mapped from
# that cache).
#
# usage: bench/startup.sh [MODEL ...]     (default: vit_b_16 swin_t convnext_tiny)
# env:   MODELS_DIR=DIR (exports by bench/export_model.py; default build/bench)  NODE_PATH=DIR (onnxruntime-node)
#        THREADS=2  ROUNDS=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models_dir=${MODELS_DIR:-$root/build/bench}
threads=${THREADS:-2}
rounds=${ROUNDS:-2}
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(vit_b_16 swin_t convnext_tiny)
host=$root/build/examples/jit_host
[[ -x $host ]] || { echo "startup.sh: $host not found; run make first" >&2; exit 2; }
[[ -n ${NODE_PATH:-} && -d $NODE_PATH/onnxruntime-node ]] || { echo "startup.sh: set NODE_PATH to onnxruntime-node's node_modules" >&2; exit 2; }
export NODE_PATH

# measure CMD...: "SECONDS KILOBYTES" of one run (GNU time's wall clock and maximum resident set size).
measure() { /usr/bin/time -f "%e %M" -o /tmp/startup.$$ "$@" >/dev/null 2>&1 || { echo "startup.sh: $* failed" >&2; exit 1; }; cat /tmp/startup.$$; }
best() { sort -g | head -1; }

printf "%-14s %8s %8s %8s %9s %9s %9s %9s %10s\n" model "cold s" "warm s" "ORT s" "cold/ORT" "cold MB" "warm MB" \
  "ORT MB" "weights MB"
for name in "${models[@]}"; do
  dir=$models_dir/$name raw=$root/build/bench/$name/input.raw # MODELS_DIR may be read-only
  mkdir -p "$(dirname "$raw")"
  [[ -f $raw ]] || /usr/bin/python3 "$root/bench/to_raw.py" "$dir/test_data_set_0/input_0.pb" "$raw"
  vt=() vm=() wt=() wm=() ot=() om=()
  for ((r = 0; r < rounds; r++)); do
    cache=$(mktemp -d)
    read -r t m < <(VITC_CACHE_DIR=$cache measure "$host" "$dir/model.onnx" "$raw" --threads "$threads" --iters 1)
    vt+=("$t") vm+=("$m")
    read -r t m < <(VITC_CACHE_DIR=$cache measure "$host" "$dir/model.onnx" "$raw" --threads "$threads" --iters 1)
    wt+=("$t") wm+=("$m")
    rm -rf "$cache"
    read -r t m < <(measure node "$root/bench/ort_time.js" "$dir/model.onnx" "$raw" "$threads" 0)
    ot+=("$t") om+=("$m")
  done
  v=$(printf '%s\n' "${vt[@]}" | best) o=$(printf '%s\n' "${ot[@]}" | best) wv=$(printf '%s\n' "${wt[@]}" | best)
  vr=$(printf '%s\n' "${vm[@]}" | best) or=$(printf '%s\n' "${om[@]}" | best) wr=$(printf '%s\n' "${wm[@]}" | best)
  w=$(du -m "$dir/model.onnx" | cut -f1)
  awk -v n="$name" -v v="$v" -v wv="$wv" -v o="$o" -v vr="$vr" -v wr="$wr" -v or="$or" -v w="$w" 'BEGIN {
    printf "%-14s %8.2f %8.2f %8.2f %9.2f %9.0f %9.0f %9.0f %10d\n", n, v, wv, o, v / o, vr / 1024, wr / 1024,
           or / 1024, w }'
done
rm -f /tmp/startup.$$
echo "(best of $rounds rounds, $threads threads; cold: an empty compile cache, warm: the one it filled)"
