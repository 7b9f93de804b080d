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

/* vitc_match_centred_window and vitc_centred_pads: windows centred on their pixel, and near misses. */
typedef struct window_case {
  const char *what;
  int64_t kh, kw;
  int npads; /* -1: no pads attribute */
  int64_t pads[6];
  int64_t dilation;
  const char *auto_pad;
  bool want;
} window_case;

static const window_case window_cases[] = {
    {"3x3, pads 1", 3, 3, 4, {1, 1, 1, 1}, 1, NULL, true},
    {"7x5, pads 3 and 2", 7, 5, 4, {3, 2, 3, 2}, 1, NULL, true},
    {"1x1, no pads", 1, 1, -1, {0}, 1, NULL, true},
    {"1x1, pads 0", 1, 1, 4, {0, 0, 0, 0}, 1, "NOTSET", true},
    /* near misses */
    {"3x3, no pads", 3, 3, -1, {0}, 1, NULL, false},
    {"2x2, pads 1: an even kernel", 2, 2, 4, {1, 1, 1, 1}, 1, NULL, false},
    {"3x3, pads 1 before only", 3, 3, 4, {1, 1, 0, 0}, 1, NULL, false},
    {"5x3, pads transposed", 5, 3, 4, {1, 2, 1, 2}, 1, NULL, false},
    {"3x3, pads of three dims", 3, 3, 6, {1, 1, 1, 1, 1, 1}, 1, NULL, false},
    {"3x3, pads 1, dilation 2", 3, 3, 4, {1, 1, 1, 1}, 2, NULL, false},
    {"3x3, pads 1, auto_pad SAME_UPPER", 3, 3, 4, {1, 1, 1, 1}, 1, "SAME_UPPER", false},
};

static void test_centred_window(void) {
  for (size_t i = 0; i < sizeof window_cases / sizeof *window_cases; i++) {
    const window_case *c = &window_cases[i];
    int64_t dilations[2] = {c->dilation, c->dilation};
    vitc_attr attrs[3] = {{.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = dilations}};
    int nattr = 1;
    if (c->npads >= 0)
      attrs[nattr++] = (vitc_attr){.name = "pads", .type = VITC_ATTR_INTS, .n = c->npads, .ints = (int64_t *)c->pads};
    if (c->auto_pad) attrs[nattr++] = (vitc_attr){.name = "auto_pad", .type = VITC_ATTR_STRING, .s = c->auto_pad};
    vitc_node conv = {.op = VITC_OP_Conv, .attrs = attrs, .nattr = nattr};
    bool got = vitc_match_centred_window(&conv, c->kh, c->kw);
    if (got != c->want) fprintf(stderr, "centred window, %s: %d\n", c->what, got);
    CHECK(got == c->want);
  }
  /* what vitc_centred_pads writes is what the matcher takes */
  int64_t pads[4];
  vitc_attr a = vitc_centred_pads(7, 3, pads);
  vitc_node conv = {.op = VITC_OP_Conv, .attrs = &a, .nattr = 1};
  CHECK(!strcmp(a.name, "pads") && a.n == 4 && pads[0] == 3 && pads[1] == 1 && pads[2] == 3 && pads[3] == 1);
  CHECK(vitc_match_centred_window(&conv, 7, 3));
  CHECK(!vitc_match_centred_window(&conv, 3, 7));
}

int main(void) {
  test_channel_constant();
  test_centred_window();
  CHECK_DONE();
}
