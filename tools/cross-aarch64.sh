#!/usr/bin/env bash
# cross-aarch64.sh — vitc's output for another CPU, verified by running it: builds the runtime
# (libvitc_rt.a) and the AOT demo host for aarch64 with Debian's cross compiler, compiles the demo model
# for a Neoverse N1 (NEON) and a Neoverse V1 (+SVE), runs both hosts under qemu-aarch64 against torch's
# logits, and checks the generated code multiplies with NEON vector FMAs rather than scalar ones.
#
# usage: tools/cross-aarch64.sh VITC OUTDIR     (make cross-aarch64 runs it on build/vitc)
# needs: gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user (tools/install-deps.sh installs them)
set -euo pipefail

vitc=$(realpath "$1")
out=$2
src=$(cd "$(dirname "$0")/.." && pwd)
demo=$src/tests/models/demo
cc=aarch64-linux-gnu-gcc
for tool in $cc aarch64-linux-gnu-ar qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "cross-aarch64: $tool not found (run tools/install-deps.sh)" >&2; exit 2; }
done
rm -rf "$out" && mkdir -p "$out/rt"

echo "== the runtime for aarch64: $out/libvitc_rt.a"
for f in "$src"/runtime/*.c; do
  $cc -std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -Wno-unused-parameter -I"$src/runtime" -c "$f" \
    -o "$out/rt/$(basename "$f" .c).o"
done
aarch64-linux-gnu-ar rcs "$out/libvitc_rt.a" "$out"/rt/*.o

for cpu in neoverse-n1 neoverse-v1:+sve; do
  mcpu=${cpu%%:*} mattr=${cpu#*:}
  [[ $mattr == "$cpu" ]] && mattr=
  dir=$out/$mcpu && mkdir -p "$dir"
  echo "== demo model for aarch64 $mcpu${mattr:+ ($mattr)}"
  "$vitc" compile "$demo/model.onnx" -o "$dir/demo.o" --name demo --target aarch64-linux-gnu --mcpu "$mcpu" \
    ${mattr:+--mattr "$mattr"}
  "$vitc" compile "$demo/model.onnx" -o "$dir/demo.s" --name demo --emit asm --target aarch64-linux-gnu \
    --mcpu "$mcpu" ${mattr:+--mattr "$mattr"} >/dev/null
  vector_fmas=$(grep -cE $'^\t(fmla|bfmla)\t(v[0-9]+\\.4s|z[0-9]+\\.s)' "$dir/demo.s" || true)
  scalar_fmas=$(grep -cE $'^\tfmadd\ts[0-9]+' "$dir/demo.s" || true)
  spills=$(grep -cE $'^\t(str|stp)\tq[0-9]+, .*\[sp' "$dir/demo.s" || true)
  echo "   $vector_fmas vector FMAs (4 or more lanes), $scalar_fmas scalar FMAs, $spills vector spill stores"
  if ((vector_fmas == 0 || scalar_fmas * 10 > vector_fmas)); then
    echo "cross-aarch64: the $mcpu code is not vectorised" >&2
    exit 1
  fi
  $cc -std=gnu11 -O2 -I"$dir" "$src/examples/aot_host.c" "$src/examples/host_io.c" "$dir/demo.o" \
    "$out/libvitc_rt.a" -lm -lpthread -o "$dir/aot_host"
  echo "== running it under qemu-aarch64 against torch's logits"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$dir/aot_host" "$demo/test_data_set_0/input_0.pb" "$demo/labels.txt" \
    --iters 1 --expect "$demo/test_data_set_0/output_0.pb"
done
echo "cross-aarch64: both aarch64 builds match torch"
