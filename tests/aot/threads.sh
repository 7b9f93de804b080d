# threads.sh — the host chooses the thread count of an AOT model: NAME_create_threads(n) (and
# NAME_create_mapped_threads) start n threads, NAME_create follows VITC_NUM_THREADS; results agree.
source "$(dirname "$0")/lib.bash"

cat >"$TMP/threads_host.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demo.h"
#include "vitc_rt.h"
/* usage: threads_host N: prints the threads of demo_create_threads(N) and of demo_create(), and whether
 * both give the same logits on the same input */
int main(int argc, char **argv) {
  static float image[DEMO_INPUT0_COUNT], a[DEMO_OUTPUT0_COUNT], b[DEMO_OUTPUT0_COUNT];
  for (int i = 0; i < DEMO_INPUT0_COUNT; i++) image[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
  vitc_rt_ctx *chosen = demo_create_threads(atoi(argv[1])), *plain = demo_create();
  if (!chosen || !plain) return 2;
  if (demo_run(chosen, image, a) || demo_run(plain, image, b)) return 2;
  printf("threads %d default %d same %d\n", vitc_rt_num_threads(chosen), vitc_rt_num_threads(plain),
         !memcmp(a, b, sizeof a));
  demo_destroy(chosen);
  demo_destroy(plain);
  return 0;
}
C
run "$VITC" compile "$SRC/tests/models/demo/model.onnx" -o "$TMP/demo.o" --name demo
expect_status 0
expect_file_matches "$TMP/demo.h" "vitc_rt_ctx \*demo_create_threads\(int nthreads\);"
run cc -O2 -I"$TMP" -I"$SRC/runtime" "$TMP/threads_host.c" "$TMP/demo.o" "$RT" -lm -lpthread -o "$TMP/threads_host"
expect_status 0
run env VITC_NUM_THREADS=2 "$TMP/threads_host" 3
expect_status 0
expect_stdout "^threads 3 default 2 same 1$"
run env VITC_NUM_THREADS=1 "$TMP/threads_host" 0
expect_status 0
expect_stdout "^threads 1 default 1 same 1$"

run "$VITC" compile "$SRC/tests/models/demo/model.onnx" -o "$TMP/mapped.o" --name demo --weights "$TMP/demo.weights"
expect_status 0
expect_file_matches "$TMP/demo.h" "demo_create_mapped_threads\(const char \*weights_path, int nthreads"
finish
