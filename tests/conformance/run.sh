#!/usr/bin/env bash
# run.sh — the ONNX node conformance suite: `vitc check` on every node test case of the installed
# onnx package (python3-onnx), compared with the committed list of cases that must pass.
#
#   tests/conformance/run.sh [--vitc PATH] [--work DIR] [--update]
#
# The cases are generated once into WORK/data (reused afterwards). A case listed in expected_pass.txt
# that fails is a failure of the suite; a case that passes without being listed is reported as
# "unexpectedly passing" only. --update rewrites expected_pass.txt from this run, and
# known_failures.txt with the failing cases whose ops vitc claims to support (ir/ops.def) and why.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
VITC=$SRC/build/vitc
WORK=$SRC/build/tests/conformance
UPDATE=0
JOBS=2
CASE_TIMEOUT=60 # seconds; node cases are tiny, a slow one is a hang
PY=/usr/bin/python3

while [ $# -gt 0 ]; do
  case $1 in
    --vitc) VITC=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --update) UPDATE=1; shift ;;
    *) echo "run.sh: unknown argument '$1' (usage: run.sh [--vitc PATH] [--work DIR] [--update])" >&2; exit 2 ;;
  esac
done
[ -x "$VITC" ] || { echo "run.sh: $VITC is not an executable (build first)" >&2; exit 2; }

DATA=$WORK/data
RESULTS=$WORK/results
mkdir -p "$WORK"
if [ ! -d "$DATA/node" ]; then
  # numpy 1.24 removed the aliases onnx 1.12's test generators still use.
  rm -rf "$DATA.tmp"
  $PY -c "import numpy as np; np.float=float; np.int=int; np.bool=bool; np.object=object; import sys; \
from onnx.backend.test import cmd_tools; sys.argv=['x','generate-data','-o','$DATA.tmp']; cmd_tools.main()" \
    >"$WORK.generate.log" 2>&1 || { cat "$WORK.generate.log"; echo "run.sh: generating the cases failed" >&2; exit 2; }
  rm -rf "$DATA" && mv "$DATA.tmp" "$DATA"
fi

rm -rf "$RESULTS" && mkdir -p "$RESULTS"
# One case: CASE.log holds vitc's output, CASE.status its exit status (124 on timeout).
run_case() {
  local dir=$1 name status=0
  name=$(basename "$dir")
  timeout "$CASE_TIMEOUT" "$VITC" check "$dir" >"$RESULTS/$name.log" 2>&1 || status=$?
  echo "$status" >"$RESULTS/$name.status"
}
export -f run_case
export VITC RESULTS CASE_TIMEOUT
find "$DATA/node" -mindepth 1 -maxdepth 1 -type d -name 'test_*' -print0 | sort -z |
  xargs -0 -n 1 -P "$JOBS" bash -c 'run_case "$1"' _

passed=$WORK/passed.txt
failed=$WORK/failed.txt
: >"$passed"
: >"$failed"
for f in "$RESULTS"/*.status; do
  name=$(basename "$f" .status)
  if [ "$(cat "$f")" = 0 ]; then echo "$name" >>"$passed"; else echo "$name" >>"$failed"; fi
done
sort -o "$passed" "$passed"
sort -o "$failed" "$failed"
npass=$(wc -l <"$passed")
nfail=$(wc -l <"$failed")

if [ "$UPDATE" = 1 ]; then
  cp "$passed" "$HERE/expected_pass.txt"
  # Failing cases made only of ops listed in ir/ops.def, with the reason vitc gave.
  $PY - "$SRC/ir/ops.def" "$DATA/node" "$RESULTS" "$failed" >"$HERE/known_failures.txt" <<'EOF'
import os, re, sys
import onnx

ops_def, node_dir, results, failed = sys.argv[1:]
known = set(re.findall(r'^X\(\s*\w+\s*,\s*"[^"]*"\s*,\s*"(\w+)"', open(ops_def).read(), re.M))
for name in open(failed).read().split():
    model = onnx.load(os.path.join(node_dir, name, "model.onnx"))
    if not {n.op_type for n in model.graph.node} <= known:
        continue
    status = open(os.path.join(results, name + ".status")).read().strip()
    log = open(os.path.join(results, name + ".log")).read().splitlines()
    if status == "124":
        reason = "timeout"
    elif status == "1":
        bad = [l for l in log if "MISMATCH" in l]
        reason = "mismatch: " + (bad[0] if bad else "")
    else:
        errors = [l[len("vitc: "):] for l in log if l.startswith("vitc: ")]
        reason = errors[0] if errors else "exit status %s" % status
        # Drop the case's path: the name already says which case it is.
        reason = re.sub(r"^\S*/(model\.onnx|test_data_set_\d+\S*): ", "", reason)
    print("%s: %s" % (name, reason))
EOF
  echo "run.sh: wrote $HERE/expected_pass.txt ($npass cases) and $HERE/known_failures.txt"
fi

regressions=0
unexpected=0
while read -r name; do
  [ -n "$name" ] || continue
  if ! grep -qx "$name" "$passed"; then
    echo "FAIL: $name (listed in expected_pass.txt)"
    sed 's/^/  /' "$RESULTS/$name.log" 2>/dev/null || echo "  (no such case in this onnx version)"
    regressions=$((regressions + 1))
  fi
done <"$HERE/expected_pass.txt"
while read -r name; do
  if ! grep -qx "$name" "$HERE/expected_pass.txt"; then
    echo "unexpectedly passing (add to expected_pass.txt): $name"
    unexpected=$((unexpected + 1))
  fi
done <"$passed"

echo "conformance: $npass passed, $nfail failed ($regressions expected passes failed, $unexpected unexpectedly passing)"
[ "$regressions" -eq 0 ]
