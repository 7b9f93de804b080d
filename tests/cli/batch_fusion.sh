# batch_fusion.sh — the passes fuse the same at every batch (issue 19): a test model's node count after
# the passes at batch 2, 3 and 5 equals its count at batch 1. (CaiT's and PvT's position embedding
# [1, T, C] joins the patch embedding's FusedGemm or LayerNorm as a residual repeated per image:
# batch_residual.sh checks the results.)
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3

nodes_after() {
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes_after"])' "$TMP/stdout"
}

for spec in swin_v1_op17:64 convnext_v1_op17:32 beit_op17:32 maxvit_op17:64 tinyvit_op17:64 xcit_op17:32 \
  eva02_op17:32 vit_op17:32 vit_op13:32 deit_op17:32 deit_op13:32 cait_op17:32 cait_op13:32 pvt_op17:32 \
  pvt_v2_op17:64 coat_op17:32 swin_v2_op17:64 convnext_v2_op17:32 eva02_half_op17:32; do
  name=${spec%:*} side=${spec#*:}
  vitc inspect "$SRC/tests/models/$name/model.onnx" --shape "input=1x3x${side}x${side}" --json
  expect_status 0
  one=$(nodes_after)
  [ -n "$one" ] || fail "$name: inspect --json gave no nodes_after"
  for batch in 2 3 5; do
    vitc inspect "$SRC/tests/models/$name/model.onnx" --shape "input=${batch}x3x${side}x${side}" --json
    expect_status 0
    n=$(nodes_after)
    [ "$n" = "$one" ] || fail "$name: $n nodes after the passes at batch $batch, $one at batch 1"
  done
done
finish
