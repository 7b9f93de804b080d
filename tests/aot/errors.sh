# errors.sh — `vitc compile` failures: exit status 2, a message naming the cause, and nothing left behind in
# the output directory (no output, header, weights file or temporary), whichever stage failed.
source "$(dirname "$0")/lib.bash"

out=$TMP/out
mkdir -p "$out"

run "$VITC" compile "$MODEL" -o "$out/m.o" --target not-a-triple
expect_status 2
expect_stderr "^vitc: unknown target triple 'not-a-triple'"
expect_empty_dir "$out"

run "$VITC" compile "$MODEL" -o "$out/m.o" --mcpu not-a-cpu
expect_status 2
expect_stderr "^vitc: .*'not-a-cpu' is not a recognized processor"
expect_empty_dir "$out"

run "$VITC" compile "$MODEL" -o "$out/m.o" --target aarch64-linux-gnu --mcpu znver4
expect_status 2
expect_stderr "^vitc: .*'znver4' is not a recognized processor"
expect_empty_dir "$out"

run "$VITC" compile "$MODEL" -o /nonexistent/m.o
expect_status 2
expect_stderr "^vitc: /nonexistent/m.o: cannot write"

# The object and header are ready when the weights file cannot be created: all three must go.
run "$VITC" compile "$MODEL" -o "$out/m.o" --name m --weights /nonexistent/m.weights
expect_status 2
expect_stderr "^vitc: /nonexistent/m.weights: cannot write"
expect_empty_dir "$out"

# The shared library's link step fails after the object was written.
run env VITC_RT_LIB=/nonexistent/libvitc_rt.a "$VITC" compile "$MODEL" -o "$out/libm.so" --name m --emit shared
expect_status 2
expect_stderr "^vitc: linking $out/libm.so failed"
expect_empty_dir "$out"

run "$VITC" compile "$SRC/tests/graphs/cli_unknown_op.onnx" -o "$out/m.o"
expect_status 2
expect_stderr "^vitc: .*cli_unknown_op.onnx"
expect_empty_dir "$out"

run "$VITC" compile "$MODEL" -o "$out/m.o" --name 1m
expect_status 2
expect_stderr "^vitc: --name '1m' is not a C identifier"
run "$VITC" compile "$MODEL" -o "$out/m.o" --emit exe
expect_status 2
expect_stderr "^vitc: --emit must be obj, asm, llvm or shared, not 'exe'"
run "$VITC" compile "$MODEL"
expect_status 2
expect_stderr "^vitc: missing -o OUT"
expect_empty_dir "$out"
finish
