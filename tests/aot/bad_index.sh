# bad_index.sh — AOT code refuses an index out of range: rows_run returns non-zero and rows_last_error(ctx)
# names the node, the index and the bound; a good run on the same context then succeeds and clears it.
source "$(dirname "$0")/lib.bash"
G=$SRC/tests/graphs/gather_rows

run "$VITC" compile "$G/model.onnx" -o "$TMP/rows.o" --name rows
expect_status 0
cat >"$TMP/host.c" <<'HOST'
#include <stdio.h>
#include <string.h>
#include "rows.h"
int main(void) {
  vitc_rt_ctx *ctx = rows_create();
  int64_t bad[2] = {0, -11}, good[2] = {9, -10};
  float y[ROWS_OUTPUT0_COUNT];
  if (!ctx) return 3;
  int rc = rows_run(ctx, bad, y);
  printf("bad: %d %s\n", rc, rows_last_error(ctx));
  rc = rows_run(ctx, good, y);
  printf("good: %d '%s' %g %g\n", rc, rows_last_error(ctx), y[0], y[3]);
  rows_destroy(ctx);
  return 0;
}
HOST
run cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$TMP" "$TMP/host.c" "$TMP/rows.o" "$RT" -lm -lpthread -o "$TMP/host"
[ "$status" -eq 0 ] || { fail "the host does not build"; finish; }
run "$TMP/host"
expect_status 0
expect_stdout "^bad: 1 node 'rows' \(Gather\): index -11 is out of range for an axis of size 10$"
expect_stdout "^good: 0 '' 27 0$"

finish
