# run_batch.sh — `vitc run` takes any batch from the data (issue 19): ViT's symbolic batch is bound to the
# input file's 4 images, with each engine and with a shared library compiled once for one image (through
# its NAME_run_batch), and the logits match torch's.
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3
VIT=$SRC/tests/models/vit_op17

vitc compile "$VIT/model.onnx" --emit shared -o "$TMP/libvit.so" --name vit
expect_status 0
for engine in "" --interp --aot lib; do
  rm -rf "$TMP/out"
  model=$VIT/model.onnx label=${engine:-JIT}
  [ "$engine" = lib ] && model=$TMP/libvit.so engine=
  vitc run "$model" "$VIT/test_data_set_1/input_0.pb" -o "$TMP/out" $engine
  expect_status 0
  expect_stdout "^logits: float32\[4,10\] = "
  $PY - "$TMP/out/output_0.pb" "$VIT/test_data_set_1/output_0.pb" <<'PYEOF' || fail "vitc run ($label): the logits differ from torch's"
import sys
import numpy as np
import onnx, onnx.numpy_helper as nh
got, want = (nh.to_array(onnx.load_tensor(p)) for p in sys.argv[1:3])
sys.exit(0 if got.shape == want.shape and np.all(np.abs(got - want) <= 1e-5 + 1e-4 * np.abs(want)) else 1)
PYEOF
done
finish
