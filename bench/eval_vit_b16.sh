#!/bin/bash
# Times vitc's reference evaluator on ViT-B/16 (224x224, batch 1) and prints model, GFLOP, seconds
# and GFLOP/s. The model (random seeded weights, opset 17, ~330 MB) is exported once into
# build/bench/vit_b_16/ by bench/export_model.py and reused; it is never committed.
# vitc's output is also compared with torch's, so a fast wrong answer does not pass as a result.
#
# usage: bench/eval_vit_b16.sh            (from anywhere; VITC=path overrides build/vitc)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=/usr/bin/python3 # Debian's torch and onnx live there, not in the pyenv python on PATH
vitc=${VITC:-$root/build/vitc}
model_dir=$root/build/bench/vit_b_16
data=$model_dir/test_data_set_0
out_dir=$model_dir/vitc_out

if [[ ! -f $model_dir/model.onnx || ! -f $model_dir/gflop.txt ]]; then
  echo "exporting vit_b_16 to $model_dir (takes about a minute)" >&2
  "$python" "$root/bench/export_model.py" vit_b_16 "$model_dir"
fi
if [[ ! -x $vitc ]]; then
  echo "eval_vit_b16.sh: $vitc not found; build vitc first (cmake -S . -B build && make -C build)" >&2
  exit 2
fi

rm -rf "$out_dir" # an earlier run's output must not pass for this one's
start=$(date +%s.%N)
"$vitc" run "$model_dir/model.onnx" "$data/input_0.pb" -o "$out_dir" --shape input=1x3x224x224 >/dev/null
end=$(date +%s.%N)

# Within 1e-3 of torch's logits (relative to their scale): float32 sums in another order differ
# by about 1e-5 over 12 layers; a wrong kernel differs by O(1).
"$python" - "$data/output_0.pb" "$out_dir/output_0.pb" <<'EOF'
import sys
import numpy as np
import onnx
import onnx.numpy_helper

def read(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return onnx.numpy_helper.to_array(tensor)

expected, got = read(sys.argv[1]), read(sys.argv[2])
if expected.shape != got.shape:
    sys.exit(f"eval_vit_b16.sh: vitc's output has shape {got.shape}, torch's {expected.shape}")
error = float(np.abs(expected - got).max() / np.abs(expected).max())
if not error < 1e-3:
    sys.exit(f"eval_vit_b16.sh: vitc's output differs from torch's: max relative error {error:.3g}")
EOF

gflop=$(cat "$model_dir/gflop.txt")
awk -v gflop="$gflop" -v start="$start" -v end="$end" 'BEGIN {
  seconds = end - start
  printf "%-10s %8s %9s %9s\n", "model", "GFLOP", "seconds", "GFLOP/s"
  printf "%-10s %8.2f %9.2f %9.2f\n", "vit_b16", gflop, seconds, gflop / seconds
}'
echo "(seconds: wall time of 'vitc run', including loading the 330 MB model; GFLOP: MatMul/Gemm/Conv only)"
