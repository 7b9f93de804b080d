/* test_pattern.c — the matchers of passes/pattern.h that several passes share, each on hits and on the
 * near misses beside them. */
#include "backend_harness.h"
#include "check.h"
#include "passes/pattern.h"

/* vitc_match_channel_constant: per-channel operands of x [2, 5, 3, 4] along axis 1 and along its last
 * axis, and what looks like one but is not. */
typedef struct channel_case {
  const char *what;
  vitc_dtype dtype;
  int rank;
  int64_t dims[5];
  int axis;
  bool known, want;
} channel_case;

static const channel_case channel_cases[] = {
    {"[C, 1, 1] along axis 1", VITC_F32, 3, {5, 1, 1}, 1, true, true},
    {"[1, C, 1, 1] along axis 1", VITC_F32, 4, {1, 5, 1, 1}, 1, true, true},
    {"[C] along the last axis", VITC_F32, 1, {4}, 3, true, true},
    {"[1, 1, 1, C] along the last axis", VITC_F32, 4, {1, 1, 1, 4}, 3, true, true},
    {"[1, C] along the last axis", VITC_F32, 2, {1, 4}, 3, true, true},
    {"[C, 1, 1, 1] along axis 0", VITC_F32, 4, {2, 1, 1, 1}, 0, true, true},
    /* near misses */
    {"[C] along axis 1: broadcasts along the last", VITC_F32, 1, {5}, 1, true, false},
    {"[C, 1] along axis 1: lines up with axis 2", VITC_F32, 2, {5, 1}, 1, true, false},
    {"[1, C, 1, 2]: varies along the last axis too", VITC_F32, 4, {1, 5, 1, 2}, 1, true, false},
    {"[1, 4, 1, 1]: not C values", VITC_F32, 4, {1, 4, 1, 1}, 1, true, false},
    {"[1, 1, C, 1, 1]: higher in rank than x", VITC_F32, 5, {1, 1, 5, 1, 1}, 2, true, false},
    {"[1, C, 1, 1] float64 against float32", VITC_F64, 4, {1, 5, 1, 1}, 1, true, false},
    {"[1, C, 1, 1] not known", VITC_F32, 4, {1, 5, 1, 1}, 1, false, false},
    {"a scalar", VITC_F32, 0, {0}, 3, true, false},
};

static void test_channel_constant(void) {
  vitc_value x = {.dtype = VITC_F32, .rank = 4, .dims = {2, 5, 3, 4}};
  for (size_t i = 0; i < sizeof channel_cases / sizeof *channel_cases; i++) {
    const channel_case *c = &channel_cases[i];
    test_graph t = tg_new();
    int p = c->known ? tg_const(&t, c->dtype, c->rank, c->dims, 1) : tg_input(&t, c->dtype, c->rank, c->dims);
    bool got = vitc_match_channel_constant(t.g, p, &x, c->axis);
    if (got != c->want) fprintf(stderr, "channel constant, %s: %d\n", c->what, got);
    CHECK(got == c->want);
    tg_free(&t);
  }
}

int main(void) {
  test_channel_constant();
  CHECK_DONE();
}
