# external_calls.sh — generated code calls nothing per element but runtime/vitc_rt.h (issue 13): a model
# of every transcendental, Pow and Mod on float32, float64 and int64 tensors compiles to LLVM IR whose only
# external functions besides vitc_rt_* are libm's sin, cos, tan and fmod (float and double), which vmath.c
# calls from a branch for the rare lanes beyond its inline range (vmath.h).
source "$(dirname "$0")/lib/common.bash"
PY=/usr/bin/python3

$PY - "$TMP/math.onnx" <<'PYEOF' || fail "cannot build the test model"
import sys
import onnx
from onnx import helper, TensorProto as T
unary = ["Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Tanh", "Asinh", "Acosh", "Atanh", "Erf",
         "Exp", "Log", "Sigmoid", "Softplus", "Gelu", "Mish", "Elu", "Selu", "Celu", "HardSwish", "Softsign"]
nodes, outs, ins = [], [], []
for dtype, tag in ((T.FLOAT, "f"), (T.DOUBLE, "d"), (T.INT64, "i")):
    x = "x" + tag
    ins.append(helper.make_tensor_value_info(x, dtype, [3, 37]))
    for op in unary + ["Pow", "Mod"] if tag != "i" else ["Pow"]:
        out = op + tag
        nodes.append(helper.make_node(op, [x] if op in unary else [x, x], [out], **({"fmod": 1} if op == "Mod" else {})))
        outs.append(helper.make_tensor_value_info(out, dtype, [3, 37]))
graph = helper.make_graph(nodes, "math", ins, outs)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), sys.argv[1])
PYEOF
vitc compile "$TMP/math.onnx" --emit llvm -o "$TMP/math.ll"
expect_status 0
externals=$(grep '^declare' "$TMP/math.ll" | grep -v '@llvm\.\|@vitc_rt_' | sed 's/^[^@]*@\([A-Za-z0-9_]*\)(.*/\1/' | sort | tr '\n' ' ')
[ "$externals" = "cos cosf fmod fmodf sin sinf tan tanf " ] ||
  fail "generated code declares external functions other than the vitc_rt_* runtime and the fallbacks of sin, cos, tan and fmod: $externals"
finish
