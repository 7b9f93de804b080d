#!/bin/bash
# includes.sh SRC_DIR — the stages include one another in one direction only (architecture.md):
#
#   tools/ ──▶ api/ ──▶ frontend/   passes/   backend/ ──▶ runtime/
#                            └─────────┴─────────┴──▶ ir/
#
# Fails naming every #include "STAGE/..." that a folder may not use. Includes of the folder's own files
# and of non-stage folders (generated onnx/, ir's own ops/) are not checked here; runtime/ also never
# includes LLVM, since hosts link it without LLVM.
set -u
src=$1
declare -A allowed=(
  [ir]=""
  [runtime]=""
  [frontend]="ir"
  [passes]="ir"
  [backend]="ir runtime"
  [api]="ir frontend passes backend runtime"
  [tools]="ir frontend passes backend runtime api"
)
bad=0
for dir in "${!allowed[@]}"; do
  [[ -d $src/$dir ]] || continue
  while IFS= read -r hit; do
    file=${hit%%:*}
    stage=$(sed -n 's/.*#include "\([a-z_]*\)\/.*/\1/p' <<<"$hit")
    [[ -z ${allowed[$stage]+set} || $stage == "$dir" || " ${allowed[$dir]} " == *" $stage "* ]] && continue
    echo "${file#$src/}: $dir/ may not include $stage/ (${hit#*:})"
    bad=1
  done < <(grep -rnH --include='*.c' --include='*.h' --include='*.def' '^[[:space:]]*#[[:space:]]*include "[a-z_]*/' "$src/$dir")
done
if grep -rnH --include='*.c' --include='*.h' '#[[:space:]]*include <llvm' "$src/runtime"; then
  echo "runtime/ may not include LLVM"
  bad=1
fi
[[ $bad == 0 ]] && echo "include direction: ok"
exit $bad
