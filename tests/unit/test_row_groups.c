/* Row groups (backend/row_groups.c): which runs of row-wise nodes NAME_run takes a group of rows at a time,
 * and the code of such runs against the evaluator at batch 1, 2, 3 and 5 on 1 and 3 threads. The budget is
 * made small (vitc_target_options.row_group_bytes) so that small graphs are cut: 330 tokens an image and a
 * hidden of 52 floats (208 bytes a row) over 64 KB are groups of 66 rows. */
#include "backend/plan.h"
#include "backend_harness.h"
#include "check.h"
#include "op_harness.h"

#define WHOLE (64 << 10)
#define TOKENS 330
#define C 20
#define H 52

enum { BREAK_NONE, BREAK_NORM_AXIS, BREAK_TRANSPOSE, BREAK_ROW_CONSTANT, BREAK_BIG_WEIGHT };

typedef struct mlp {
  test_graph t;
  int x, norm, hidden, y;
} mlp;

/* y = FusedGemm(FusedGemm(LayerNorm(x), W1, b1, gelu), W2, b2, residual x) over x [batch, TOKENS, C], or a near
 * miss: the norm over axes 1.. (not row-wise along the last axis), a Transpose of the hidden between the
 * products, a residual that is a constant of TOKENS rows (differs by row), or W1 of more than 2 MB. */
static mlp build(int64_t batch, int brk) {
  mlp m = {.t = tg_new()};
  test_graph *t = &m.t;
  int64_t hidden = brk == BREAK_BIG_WEIGHT ? 30000 : H;
  m.x = tg_input(t, VITC_F32, 3, (int64_t[]){batch, TOKENS, C});
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = brk == BREAK_NORM_AXIS ? 1 : -1};
  int64_t norm_len = brk == BREAK_NORM_AXIS ? TOKENS * C : C;
  int scale = tg_const(t, VITC_F32, 1, &norm_len, 1), shift = tg_const(t, VITC_F32, 1, &norm_len, 2);
  if (brk == BREAK_NORM_AXIS) {
    scale = tg_const(t, VITC_F32, 2, (int64_t[]){TOKENS, C}, 1);
    shift = tg_const(t, VITC_F32, 2, (int64_t[]){TOKENS, C}, 2);
  }
  m.norm = tg_node(t, VITC_OP_LayerNormalization, (int[]){m.x, scale, shift}, 3, 1, &axis, 1);
  vitc_attr gelu = attr_str("activation", "gelu_erf"), none = attr_str("activation", "none");
  int w1 = tg_const(t, VITC_F32, 2, (int64_t[]){C, hidden}, 3), b1 = tg_const(t, VITC_F32, 1, &hidden, 4);
  m.hidden = tg_node(t, VITC_OP_FusedGemm, (int[]){m.norm, w1, b1}, 3, 1, &gelu, 1);
  int into = m.hidden;
  if (brk == BREAK_TRANSPOSE) {
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t[]){1, 0, 2}};
    int there = tg_node(t, VITC_OP_Transpose, (int[]){m.hidden}, 1, 1, &perm, 1);
    into = tg_node(t, VITC_OP_Transpose, (int[]){there}, 1, 1, &perm, 1);
  }
  int residual = brk == BREAK_ROW_CONSTANT ? tg_const(t, VITC_F32, 3, (int64_t[]){1, TOKENS, C}, 5) : m.x;
  int w2 = tg_const(t, VITC_F32, 2, (int64_t[]){hidden, C}, 6), b2 = tg_const(t, VITC_F32, 1, (int64_t[]){C}, 7);
  m.y = tg_node(t, VITC_OP_FusedGemm, (int[]){into, w2, b2, residual}, 4, 1, &none, 1);
  tg_output(t, m.y);
  return m;
}

static int node_of(const vitc_graph *g, int t) { return g->tensors[t].producer; }

/* The plan on the graph as built (shapes inferred, no other pass; once: `again` plans it anew). */
static void plan(mlp *m, size_t whole, bool again, vitc_row_groups *rg) {
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 0};
  if (!again && vitc_run_passes(m->t.g, &po, &err)) {
    fprintf(stderr, "passes: %s\n", err.msg);
    CHECK(false);
  }
  CHECK(vitc_plan_row_groups(m->t.g, whole, rg, &err) == VITC_OK);
}

/* Groups of at least 64 rows, each within a quarter of WHOLE (66 rows up to batch 4; batch 5's 1650 rows in
 * 22 groups of 75). */
static bool groups_fit(int64_t rows, int64_t groups) {
  return groups > 1 && rows % groups == 0 && rows / groups >= 64 && rows / groups * H * 4 <= WHOLE / 4;
}

static void test_plans(void) {
  vitc_row_groups rg;
  for (int64_t batch = 1; batch <= 5; batch++) {
    mlp m = build(batch, BREAK_NONE);
    plan(&m, WHOLE, false, &rg);
    const vitc_graph *g = m.t.g;
    int norm = node_of(g, m.norm), up = node_of(g, m.hidden), down = node_of(g, m.y);
    CHECK(rg.first[norm] == norm && rg.last[norm] == down && rg.first[down] == norm && rg.first[up] == norm);
    CHECK(groups_fit(batch * TOKENS, rg.groups[norm]) && rg.groups[down] == rg.groups[norm]);
    CHECK(rg.one_group[m.norm] && rg.one_group[m.hidden]);
    CHECK(!rg.one_group[m.y] && !rg.one_group[m.x]); /* the graph's output and input */
    vitc_row_groups_free(&rg);
    /* within the budget: whole */
    plan(&m, (size_t)batch * TOKENS * H * 4, true, &rg);
    CHECK(rg.groups[norm] == 1 && rg.groups[down] == 1 && !rg.one_group[m.hidden]);
    vitc_row_groups_free(&rg);
    tg_free(&m.t);
  }
  /* near misses: the norm leaves the run, the products stay one */
  mlp m = build(2, BREAK_NORM_AXIS);
  plan(&m, WHOLE, false, &rg);
  int norm = node_of(m.t.g, m.norm), up = node_of(m.t.g, m.hidden), down = node_of(m.t.g, m.y);
  CHECK(rg.groups[norm] == 1 && rg.groups[up] == 10 && rg.first[down] == up && rg.one_group[m.hidden]);
  CHECK(!rg.one_group[m.norm]);
  vitc_row_groups_free(&rg);
  tg_free(&m.t);
  /* a Transpose between the products: the norm and the first product are a run, the second alone */
  m = build(2, BREAK_TRANSPOSE);
  plan(&m, WHOLE, false, &rg);
  norm = node_of(m.t.g, m.norm), up = node_of(m.t.g, m.hidden), down = node_of(m.t.g, m.y);
  CHECK(rg.groups[norm] == 10 && rg.last[norm] == up && rg.groups[down] == 1);
  CHECK(!rg.one_group[m.hidden]); /* the Transpose reads it whole */
  vitc_row_groups_free(&rg);
  tg_free(&m.t);
  /* a residual that differs by row but is the same for every image: the last product leaves the run */
  m = build(2, BREAK_ROW_CONSTANT);
  plan(&m, WHOLE, false, &rg);
  norm = node_of(m.t.g, m.norm), up = node_of(m.t.g, m.hidden), down = node_of(m.t.g, m.y);
  CHECK(rg.groups[norm] > 1 && rg.last[norm] == up && rg.groups[down] == 1 && !rg.one_group[m.hidden]);
  vitc_row_groups_free(&rg);
  tg_free(&m.t);
  /* weights read once per group would not stay in cache: whole */
  m = build(2, BREAK_BIG_WEIGHT);
  plan(&m, WHOLE, false, &rg);
  for (int i = 0; i < m.t.g->nnodes; i++) CHECK(rg.groups[i] == 1);
  vitc_row_groups_free(&rg);
  tg_free(&m.t);
}

/* The compiled runs against the evaluator, and that the graph after the passes is still cut. */
static void test_code(void) {
  const int64_t batches[] = {1, 2, 3, 5};
  for (int b = 0; b < 4; b++)
    for (int brk = BREAK_NONE; brk <= BREAK_TRANSPOSE; brk += BREAK_TRANSPOSE)
      for (int threads = 1; threads <= 3; threads += 2) {
        mlp m = build(batches[b], brk);
        m.t.compile_threads = 1; /* vitc_codegen_ir: the target options reach the plan */
        vitc_target_options to = {.opt_level = 3, .row_group_bytes = WHOLE};
        vitc_error err = {0};
        char what[96];
        snprintf(what, sizeof what, "row groups batch %lld%s, %d threads", (long long)batches[b],
                 brk ? " (transpose)" : "", threads);
        vitc_status st = tg_compile_for(&m.t, &to, threads, &err);
        if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
        CHECK(st == VITC_OK);
        vitc_row_groups rg;
        CHECK(vitc_plan_row_groups(m.t.g, WHOLE, &rg, &err) == VITC_OK);
        int64_t most = 1;
        for (int i = 0; i < m.t.g->nnodes; i++) most = rg.groups[i] > most ? rg.groups[i] : most;
        CHECK(most > 1);
        vitc_row_groups_free(&rg);
        if (!st) {
          int64_t bad = tg_compare(&m.t, what, 1e-5, 1e-5);
          if (bad) fprintf(stderr, "%s: %lld mismatches\n", what, (long long)bad);
          CHECK(bad == 0);
        }
        tg_free(&m.t);
      }
}

int main(void) {
  test_plans();
  test_code();
  CHECK_DONE();
}
