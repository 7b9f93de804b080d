# batch_residual.sh — a position embedding [1, T, C] added to a batch [N, T, C] joins the fused op before
# it as a residual that repeats per image (CaiT: the patch embedding's FusedGemm; PvT: the patch
# embedding's LayerNormResidual), and the fused kernels read it so: at batch 3 (the test image, it
# negated, it halved) the JIT's logits match the evaluator's, and image 0's match torch's at batch 1.
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3

for spec in cait_op17:FusedGemm pvt_op17:LayerNormResidual; do
  name=${spec%:*} fused=${spec#*:} dir=$SRC/tests/models/${spec%:*}
  $PY - "$dir/test_data_set_0/input_0.pb" "$TMP/input3.pb" <<'PYEOF' || fail "$name: cannot build the batch-3 input"
import sys
import numpy as np
import onnx, onnx.numpy_helper as nh
t = onnx.load_tensor(sys.argv[1])
x = nh.to_array(t)
batch = np.concatenate([x, -x, 0.5 * x]).astype(np.float32)
onnx.save_tensor(nh.from_array(batch, t.name), sys.argv[2])
PYEOF
  vitc dump "$dir/model.onnx" --shape "input=3x3x32x32"
  expect_status 0
  grep -q "Add(.*pos_embed" "$TMP/stdout" && fail "$name: the position embedding's Add stays at batch 3"
  grep -q "$fused(.*pos_embed" "$TMP/stdout" || fail "$name: no $fused takes the position embedding at batch 3"
  for engine in "" --interp; do
    rm -rf "$TMP/out${engine}"
    vitc run "$dir/model.onnx" "$TMP/input3.pb" -o "$TMP/out${engine}" $engine
    expect_status 0
    expect_stdout "^logits: float32\[3,10\] = "
  done
  $PY - "$TMP/out/output_0.pb" "$TMP/out--interp/output_0.pb" "$dir/test_data_set_0/output_0.pb" <<'PYEOF' || fail "$name: the batch-3 logits differ from the evaluator's or torch's"
import sys
import numpy as np
import onnx, onnx.numpy_helper as nh
jit, ref, torch1 = (nh.to_array(onnx.load_tensor(p)) for p in sys.argv[1:4])
close = lambda a, b: a.shape == b.shape and np.all(np.abs(a - b) <= 1e-5 + 1e-4 * np.abs(b))
sys.exit(0 if close(jit, ref) and close(jit[:1], torch1) and not close(jit[1:2], jit[:1]) else 1)
PYEOF
done
finish
