# install.sh VITC SOURCE_DIR SCRATCH_DIR BUILD_DIR — `cmake --install` into a temporary prefix, then the
# example hosts built against it with pkg-config alone (and once through find_package(vitc)), run on
# the demo model against torch's logits.
source "$(dirname "$0")/../cli/lib/common.bash"
BUILD=$4
P=$TMP/prefix
DEMO=$SRC/tests/models/demo
DATA=$DEMO/test_data_set_0
export PKG_CONFIG_PATH=$P/lib/pkgconfig LD_LIBRARY_PATH=$P/lib
# A sanitizer build installs an instrumented libvitc.so: its hosts must link the sanitizer runtimes too.
HOST_CFLAGS=${VITC_HOST_CFLAGS:-}

run cmake --install "$BUILD" --prefix "$P"
expect_status 0
for f in bin/vitc include/vitc.h include/vitc_rt.h lib/libvitc_rt.a lib/libvitc.a lib/libonnx_proto.a lib/libvitc.so \
         lib/pkgconfig/vitc.pc lib/pkgconfig/vitc-rt.pc lib/cmake/vitc/vitcConfig.cmake \
         lib/cmake/vitc/vitcConfigVersion.cmake; do
  [[ -e $P/$f ]] || fail "cmake --install did not install $f"
done
run readelf -d "$P/lib/libvitc.so"
expect_stdout "Library soname: \[libvitc\.so\.[0-9]+\]"
# libvitc.so exports the vitc_* API and nothing else.
run bash "$SRC/tests/layout/symbols.sh" "$P/lib/libvitc.so"
expect_status 0

# The installed tool states the version the library reports.
run "$P/bin/vitc" --version
expect_status 0
tool_version=$(sed -n 's/^vitc //p' "$TMP/stdout")
[[ $tool_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "vitc --version printed '$tool_version'"
run pkg-config --modversion vitc
expect_stdout "^$tool_version\$"
cat >"$TMP/version.c" <<'CEOF'
#include <stdio.h>
#include <vitc.h>
int main(void) { puts(vitc_version()); return 0; }
CEOF
run sh -c "cc $HOST_CFLAGS -o '$TMP/version' '$TMP/version.c' \$(pkg-config --cflags --libs vitc) && '$TMP/version'"
expect_status 0
expect_stdout "^$tool_version\$"

# JIT host: include/vitc.h and libvitc.so, found by pkg-config only.
run sh -c "cc $HOST_CFLAGS -O2 -o '$TMP/jit_host' '$SRC/examples/jit_host.c' '$SRC/examples/host_io.c' \$(pkg-config --cflags --libs vitc) -lm"
expect_status 0
run "$TMP/jit_host" "$DEMO/model.onnx" "$DATA/input_0.pb" "$DEMO/labels.txt" --expect "$DATA/output_0.pb"
expect_status 0
expect_stdout ": match$"

# AOT host: an object from the installed `vitc compile`, linked with libvitc_rt.a through vitc-rt.pc.
run "$P/bin/vitc" compile "$DEMO/model.onnx" -o "$TMP/demo.o" --name demo
expect_status 0
run sh -c "cc $HOST_CFLAGS -O2 -I'$TMP' -o '$TMP/aot_host' '$SRC/examples/aot_host.c' '$SRC/examples/host_io.c' '$TMP/demo.o' \
           \$(pkg-config --cflags --libs vitc-rt)"
expect_status 0
run "$TMP/aot_host" "$DATA/input_0.pb" "$DEMO/labels.txt" --expect "$DATA/output_0.pb"
expect_status 0
expect_stdout ": match$"

# Tracing AOT code with the installed runtime: the recorder as the context's node hook (README).
cat >"$TMP/trace_host.c" <<'CEOF'
#include <stdio.h>
#include <vitc_rt.h>
#include "demo.h"
int main(int argc, char **argv) {
  static float in[DEMO_INPUT0_COUNT], out[DEMO_OUTPUT0_COUNT];
  char err[512];
  vitc_rt_ctx *ctx = demo_create();
  vitc_rt_trace *t = vitc_rt_trace_new(100000);
  if (argc != 2 || !ctx || !t) return 2;
  demo_run(ctx, in, out); /* warm-up, not recorded */
  vitc_rt_set_node_hook(ctx, vitc_rt_trace_record, t);
  for (int r = 0; r < 2; r++) demo_run(ctx, in, out);
  vitc_rt_set_node_hook(ctx, NULL, NULL);
  if (vitc_rt_trace_write(t, argv[1], err, sizeof err)) return fprintf(stderr, "%s\n", err), 2;
  vitc_rt_trace_free(t);
  demo_destroy(ctx);
  return 0;
}
CEOF
run sh -c "cc $HOST_CFLAGS -O2 -I'$TMP' -o '$TMP/trace_host' '$TMP/trace_host.c' '$TMP/demo.o' \$(pkg-config --cflags --libs vitc-rt)"
expect_status 0
run "$TMP/trace_host" "$TMP/aot.json"
expect_status 0
run "$P/bin/vitc" run "$DEMO/model.onnx" "$DATA/input_0.pb" -o "$TMP/one" --trace "$TMP/one.json" --runs 1
expect_status 0
/usr/bin/python3 - "$TMP/aot.json" "$TMP/one.json" <<'PYEOF' || fail "the AOT trace is not one event per node per run"
import json, sys
aot, one = ([e for e in json.load(open(p))["traceEvents"] if e["ph"] == "X"] for p in sys.argv[1:])
assert len(one) > 0 and len(aot) == 2 * len(one), (len(aot), len(one))
assert sorted(e["name"] for e in aot) == sorted(2 * [e["name"] for e in one])
PYEOF

# The installed tool links shared models with the installed runtime, even with the build's moved away.
run env -u VITC_RT_LIB "$P/bin/vitc" compile "$DEMO/model.onnx" -o "$TMP/libdemo.so" --emit shared
expect_status 0
run "$P/bin/vitc" run "$TMP/libdemo.so" "$DATA/input_0.pb" -o "$TMP/out"
expect_status 0
expect_stdout "^logits: float32\[1,10\]"

# CMake package: find_package(vitc) gives vitc::vitc.
mkdir -p "$TMP/pkg"
cat >"$TMP/pkg/CMakeLists.txt" <<CEOF
cmake_minimum_required(VERSION 3.20)
project(uses_vitc C)
find_package(vitc $tool_version REQUIRED)
add_executable(jit_host $SRC/examples/jit_host.c $SRC/examples/host_io.c)
target_link_libraries(jit_host PRIVATE vitc::vitc m) # host_io.c uses libm
CEOF
run cmake -S "$TMP/pkg" -B "$TMP/pkg/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$HOST_CFLAGS"
expect_status 0
run cmake --build "$TMP/pkg/build"
expect_status 0
run "$TMP/pkg/build/jit_host" "$DEMO/model.onnx" "$DATA/input_0.pb" "$DEMO/labels.txt" --expect "$DATA/output_0.pb"
expect_status 0
finish
