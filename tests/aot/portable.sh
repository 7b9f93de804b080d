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

# An object built for a feature this CPU lacks refuses to start, naming it, instead of dying of SIGILL.
missing=
for f in avx512fp16:avx512_fp16 avx512vp2intersect:avx512_vp2intersect; do
  grep -qw "${f#*:}" /proc/cpuinfo || missing=${f%%:*}
done
[ -n "$missing" ] || fail "this CPU has both AVX512-FP16 and VP2INTERSECT: no feature left to test the refusal with"
run "$VITC" compile "$DEMO/model.onnx" -o "$TMP/lacking.o" --name demo --mattr "+$missing"
expect_status 0
expect_file_matches "$TMP/demo.h" "demo_cpu_features"
run cc -O2 -I"$TMP" "$SRC/examples/aot_host.c" "$SRC/examples/host_io.c" "$TMP/lacking.o" "$RT" -lm -lpthread \
  -o "$TMP/lacking_host"
expect_status 0
run "$TMP/lacking_host" "$DEMO/test_data_set_0/input_0.pb" "$DEMO/labels.txt" --iters 1
[ "$status" -ne 0 ] || fail "the host ran code built for +$missing on a CPU without it"
expect_stderr "demo_create: this CPU lacks '$missing', which the compiled code needs"
finish
