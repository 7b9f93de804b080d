# portable.sh — `--mcpu` alone means that CPU, not this machine: the demo model compiled for x86-64-v3
# (AVX2, no AVX-512) holds no AVX-512 instruction and still matches torch when run here.
source "$(dirname "$0")/lib.bash"

OBJDUMP=$(command -v llvm-objdump-16 || command -v llvm-objdump)
DEMO=$SRC/tests/models/demo
run "$VITC" compile "$DEMO/model.onnx" -o "$TMP/demo.o" --name demo --mcpu x86-64-v3
expect_status 0
run "$OBJDUMP" -d --no-show-raw-insn "$TMP/demo.o"
expect_status 0
expect_stdout "ymm"
! grep -Eq "zmm|%k[0-7]" "$TMP/stdout" || fail "the x86-64-v3 object uses AVX-512 registers"
run cc -O2 -I"$TMP" "$SRC/examples/aot_host.c" "$SRC/examples/host_io.c" "$TMP/demo.o" "$RT" -lm -lpthread \
  -o "$TMP/aot_host"
expect_status 0
run "$TMP/aot_host" "$DEMO/test_data_set_0/input_0.pb" "$DEMO/labels.txt" --iters 1 \
  --expect "$DEMO/test_data_set_0/output_0.pb"
expect_status 0
expect_stdout "match"

# The host's own CPU keeps its features (AVX-512 where the machine has it).
if grep -q avx512f /proc/cpuinfo; then
  run "$VITC" compile "$DEMO/model.onnx" -o "$TMP/host.s" --emit asm --name demo
  expect_status 0
  expect_file_matches "$TMP/host.s" "zmm"
fi
finish
