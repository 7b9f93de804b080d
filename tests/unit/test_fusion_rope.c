/* test_fusion_rope.c — fuse_rope on tiny graphs (timm's rotate-half and interleaved forms, with and
 * without the class tokens sliced off and concatenated back) and the near misses that must stay; then
 * vitc.Rope's kernel against the evaluator on awkward sizes at 1 and 3 threads. */
#include "fusion_harness.h"

enum { HEADS = 3, TOKENS = 7, CLS = 2, DIM = 10 };

enum {
  RP_HALF,          /* Concat(-x[D/2:], x[:D/2]) */
  RP_PAIRS,         /* Reshape(Concat(Unsqueeze(-x[1::2]), Unsqueeze(x[::2]))) */
  RP_HALF_CLS,      /* rotate-half of x0[CLS:], Cast, Concat(x0[:CLS], ..) */
  RP_PAIRS_CLS,     /* the same, interleaved, Mul and Add operands swapped */
  RP_MISS_SIGN,     /* Concat(x[D/2:], -x[:D/2]): the rotation the other way */
  RP_MISS_PAIRS,    /* interleaved with the even elements negated */
  RP_MISS_TABLE,    /* cos varies along the heads: not one table per token */
  RP_MISS_OTHER_X,  /* the rotated tensor is another tensor's */
  RP_MISS_CLS_GAP,  /* Concat(x0[:1], rope(x0[CLS:])): rows missing */
};

static int ints(test_graph *t, int64_t a) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {1}, .data = &a};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int slice(test_graph *t, int x, int64_t start, int64_t end, int64_t axis, int64_t step) {
  int in[5] = {x, ints(t, start), ints(t, end), ints(t, axis), ints(t, step)};
  return tg_node(t, VITC_OP_Slice, in, 5, 1, NULL, 0);
}

static int concat(test_graph *t, int a, int b, int64_t axis) {
  int in[2] = {a, b};
  vitc_attr at = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  return tg_node(t, VITC_OP_Concat, in, 2, 1, &at, 1);
}

static int rotate(test_graph *t, int x, int variant) {
  if (variant == RP_HALF || variant == RP_HALF_CLS || variant == RP_MISS_SIGN) {
    int hi = slice(t, x, DIM / 2, INT64_MAX, -1, 1), lo = slice(t, x, 0, DIM / 2, -1, 1);
    if (variant == RP_MISS_SIGN) return concat(t, hi, fh_op(t, VITC_OP_Neg, lo, -1), -1);
    return concat(t, fh_op(t, VITC_OP_Neg, hi, -1), lo, -1);
  }
  int odd = slice(t, x, 1, INT64_MAX, -1, 2), even = slice(t, x, 0, INT64_MAX, -1, 2);
  if (variant == RP_MISS_PAIRS) even = fh_op(t, VITC_OP_Neg, even, -1);
  else odd = fh_op(t, VITC_OP_Neg, odd, -1);
  int c = concat(t, fh_op(t, VITC_OP_Unsqueeze, odd, ints(t, -1)), fh_op(t, VITC_OP_Unsqueeze, even, ints(t, -1)), -1);
  const int64_t shape[] = {1, HEADS, -1, DIM};
  vitc_value sv = {.dtype = VITC_I64, .rank = 1, .dims = {4}, .data = (void *)shape};
  return fh_op(t, VITC_OP_Reshape, c, vitc_graph_add_constant(t->g, NULL, &sv));
}

static void build_rope(test_graph *t, int variant) {
  bool cls = variant == RP_HALF_CLS || variant == RP_PAIRS_CLS || variant == RP_MISS_CLS_GAP;
  int64_t rotated = cls ? TOKENS - CLS : TOKENS;
  const int64_t dims[] = {1, HEADS, TOKENS, DIM}, table[] = {1, 1, rotated, DIM}, per_head[] = {1, HEADS, rotated, DIM};
  int x0 = tg_input(t, VITC_F32, 4, dims), x = cls ? slice(t, x0, CLS, INT64_MAX, 2, 1) : x0;
  int cos = tg_const(t, VITC_F32, 4, variant == RP_MISS_TABLE ? per_head : table, 7);
  int sin = tg_const(t, VITC_F32, 2, table + 2, 8);
  int other = variant == RP_MISS_OTHER_X ? fh_op(t, VITC_OP_Neg, x, -1) : x;
  int y = variant == RP_PAIRS_CLS ? fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, sin, rotate(t, other, variant)),
                                          fh_op(t, VITC_OP_Mul, cos, x))
                                  : fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, x, cos),
                                          fh_op(t, VITC_OP_Mul, rotate(t, other, variant), sin));
  if (cls) {
    vitc_attr to = {.name = "to", .type = VITC_ATTR_INT, .i = VITC_F32};
    y = concat(t, slice(t, x0, 0, variant == RP_MISS_CLS_GAP ? 1 : CLS, 2, 1), tg_node(t, VITC_OP_Cast, &y, 1, 1, &to, 1), 2);
  }
  tg_output(t, y);
}

static void test_pass(void) {
  static const char *names[] = {"rotate-half", "pairs", "rotate-half, class tokens", "pairs, class tokens"};
  const fh_count fused[] = {{VITC_OP_Rope, 1}, {VITC_OP_Mul, 0}, {VITC_OP_Neg, 0}, {VITC_OP_Slice, 0},
                            {VITC_OP_Concat, 0}, {VITC_OP_Cast, 0}};
  for (int v = RP_HALF; v <= RP_PAIRS_CLS; v++) {
    vitc_graph *g = fh_check(names[v], build_rope, v, vitc_fuse_rope, fused, 6);
    const vitc_node *n = fh_find_op(g, VITC_OP_Rope);
    CHECK(n && vitc_attr_int(n, "interleaved", -1) == (v == RP_PAIRS || v == RP_PAIRS_CLS));
    CHECK(n && vitc_attr_int(n, "offset", -1) == (v >= RP_HALF_CLS ? CLS : 0));
    vitc_graph_free(g);
  }
  const fh_count kept[] = {{VITC_OP_Rope, 0}, {VITC_OP_Mul, 2}};
  vitc_graph_free(fh_check_rewrite("rotated the other way", build_rope, RP_MISS_SIGN, vitc_fuse_rope, kept, 2));
  vitc_graph_free(fh_check_rewrite("even elements negated", build_rope, RP_MISS_PAIRS, vitc_fuse_rope, kept, 2));
  vitc_graph_free(fh_check_rewrite("cos per head", build_rope, RP_MISS_TABLE, vitc_fuse_rope, kept, 2));
  vitc_graph_free(fh_check_rewrite("another tensor rotated", build_rope, RP_MISS_OTHER_X, vitc_fuse_rope, kept, 2));
  /* the rotation fuses, the class-token rows that do not line up stay a Slice and a Concat */
  const fh_count gap[] = {{VITC_OP_Rope, 1}, {VITC_OP_Mul, 0}, {VITC_OP_Concat, 1}, {VITC_OP_Slice, 2}};
  vitc_graph *g = fh_check("class tokens with a gap", build_rope, RP_MISS_CLS_GAP, vitc_fuse_rope, gap, 4);
  const vitc_node *n = fh_find_op(g, VITC_OP_Rope);
  CHECK(n && vitc_attr_int(n, "offset", -1) == 0);
  vitc_graph_free(g);
}

enum {
  QKV_BOTH,        /* q and k rotated alike: one Rope on the projection */
  QKV_MISS_TABLES, /* k's tables differ from q's */
  QKV_MISS_ONLY_Q, /* k not rotated */
  QKV_MISS_SHARED, /* the Transpose is also a graph output: it would see the rotation */
};

/* timm's qkv chain: Reshape [1, N, 3, H, D], Transpose [2, 0, 3, 1, 4], Split, Squeeze; q and k through
 * the rotate-half pattern with class tokens, outputs q, k, v. */
static void build_qkv(test_graph *t, int variant) {
  const int64_t dims[] = {1, TOKENS, 3 * HEADS * DIM}, shape[] = {1, TOKENS, 3, HEADS, DIM}, table[] = {TOKENS - CLS, DIM};
  const int64_t perm[] = {2, 0, 3, 1, 4}, zero = 0;
  vitc_value sv = {.dtype = VITC_I64, .rank = 1, .dims = {5}, .data = (void *)shape};
  int x = fh_op(t, VITC_OP_Reshape, tg_input(t, VITC_F32, 3, dims), vitc_graph_add_constant(t->g, NULL, &sv));
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 5, .ints = (int64_t *)perm};
  int tr = tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int parts = tg_node(t, VITC_OP_Split, &tr, 1, 3, &axis, 1);
  int cos = tg_const(t, VITC_F32, 2, table, 7), sin = tg_const(t, VITC_F32, 2, table, 8);
  for (int p = 0; p < 3; p++) {
    int y = fh_op(t, VITC_OP_Squeeze, parts + p, ints(t, zero));
    if (p == 0 || (p == 1 && variant != QKV_MISS_ONLY_Q)) {
      int c = p == 1 && variant == QKV_MISS_TABLES ? tg_const(t, VITC_F32, 2, table, 9) : cos;
      int xs = slice(t, y, CLS, INT64_MAX, 2, 1);
      int r = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, xs, c), fh_op(t, VITC_OP_Mul, rotate(t, xs, RP_HALF), sin));
      y = concat(t, slice(t, y, 0, CLS, 2, 1), r, 2);
    }
    tg_output(t, y);
  }
  if (variant == QKV_MISS_SHARED) tg_output(t, tr);
}

static void test_projection(void) {
  const fh_count moved[] = {{VITC_OP_Rope, 1}, {VITC_OP_Squeeze, 3}, {VITC_OP_Concat, 0}, {VITC_OP_Slice, 0}};
  vitc_graph *g = fh_check("q and k of one projection", build_qkv, QKV_BOTH, vitc_fuse_rope, moved, 4);
  const vitc_node *n = fh_find_op(g, VITC_OP_Rope);
  CHECK(n && vitc_attr_int(n, "rotated", -1) == 2 * HEADS * DIM && vitc_attr_int(n, "offset", -1) == CLS);
  CHECK(n && g->tensors[n->in[0]].producer < 0); /* the graph input: the projection's rows */
  vitc_graph_free(g);
  const fh_count two[] = {{VITC_OP_Rope, 2}, {VITC_OP_Squeeze, 3}};
  vitc_graph_free(fh_check("tables differ", build_qkv, QKV_MISS_TABLES, vitc_fuse_rope, two, 2));
  vitc_graph_free(fh_check("transpose read outside", build_qkv, QKV_MISS_SHARED, vitc_fuse_rope, two, 2));
  const fh_count one[] = {{VITC_OP_Rope, 1}, {VITC_OP_Squeeze, 3}};
  g = fh_check("only q rotated", build_qkv, QKV_MISS_ONLY_Q, vitc_fuse_rope, one, 2);
  n = fh_find_op(g, VITC_OP_Rope);
  CHECK(n && vitc_attr_int(n, "rotated", -1) == -1);
  vitc_graph_free(g);
}

/* One Rope node on X [dims] with tables [tokens - offset, dim] rotating the first `rotated` columns (-1:
 * the attribute left out, every column), compiled with nthreads. */
static void check_kernel(int rank, const int64_t *dims, int64_t dim, int64_t rotated, int64_t offset, int interleaved,
                         int nthreads) {
  test_graph t = tg_new();
  int64_t table[2] = {dims[rank - 2] - offset, dim};
  int in[3] = {tg_input(&t, VITC_F32, rank, dims), tg_const(&t, VITC_F32, 2, table, 3), tg_const(&t, VITC_F32, 2, table, 4)};
  vitc_attr at[3] = {{.name = "interleaved", .type = VITC_ATTR_INT, .i = interleaved},
                     {.name = "offset", .type = VITC_ATTR_INT, .i = offset},
                     {.name = "rotated", .type = VITC_ATTR_INT, .i = rotated}};
  tg_output(&t, tg_node(&t, VITC_OP_Rope, in, 3, 1, at, rotated < 0 ? 2 : 3));
  char what[128];
  snprintf(what, sizeof what, "Rope %s, %lld tokens skipped, %lld columns rotated, %d threads",
           interleaved ? "pairs" : "half", (long long)offset, (long long)rotated, nthreads);
  tg_check(&t, what, nthreads, 1e-6, 1e-7);
}

static void test_kernel(void) {
  const int64_t small[] = {5, 3, 6}, large[] = {2, 3, 67, 98}, one[] = {1, 2}, qkv[] = {2, 67, 3 * 4 * 10};
  for (int threads = 1; threads <= 3; threads += 2)
    for (int interleaved = 0; interleaved < 2; interleaved++) {
      check_kernel(3, small, 6, -1, 0, interleaved, threads);
      check_kernel(3, small, 6, -1, 3, interleaved, threads); /* every row of the tables used, none skipped twice */
      check_kernel(4, large, 98, -1, 1, interleaved, threads); /* 2·3·67 rows: across the pool */
      check_kernel(2, one, 2, -1, 0, interleaved, threads);   /* a single pair */
      check_kernel(2, one, 2, -1, 1, interleaved, threads);   /* nothing rotated */
      check_kernel(3, qkv, 10, 2 * 4 * 10, 1, interleaved, threads); /* q and k heads of a qkv row, v kept */
      check_kernel(3, small, 2, 4, 1, interleaved, threads);  /* groups of 2, the last 2 columns kept */
    }
}

int main(void) {
  test_pass();
  test_projection();
  test_kernel();
  CHECK_DONE();
}
