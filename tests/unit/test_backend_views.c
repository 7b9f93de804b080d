/* test_backend_views.c — Reshape-like nodes between scratch tensors compile to views of their input's
 * memory (backend/plan.h): chains of them, a view read by two consumers long after its base was made
 * (the base must stay alive, not be reused by the nodes in between), and the ones that must copy: of a
 * graph input, of a constant, into a graph output. The JIT-compiled graph against the evaluator; the
 * graph after the passes must still hold views, or the test would not test them. */
#include "backend/plan.h"
#include "backend_harness.h"
#include "check.h"

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static int shape_const(test_graph *t, int n, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)dims};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int reshape(test_graph *t, int x, int n, const int64_t *dims) {
  int in[2] = {x, shape_const(t, n, dims)};
  return tg_node(t, VITC_OP_Reshape, in, 2, 1, NULL, 0);
}

static int binary(test_graph *t, vitc_op op, int a, int b) {
  int in[2] = {a, b};
  return tg_node(t, op, in, 2, 1, NULL, 0);
}

/* Compiles t, counts the views left after the passes, checks against the evaluator; frees t. */
static int compile_and_check(test_graph *t, const char *what) {
  vitc_error err = {0};
  vitc_status st = tg_compile(t, 1, &err);
  CHECK(st == VITC_OK);
  int views = 0;
  if (st == VITC_OK) {
    for (int i = 0; i < t->g->nnodes; i++) views += vitc_view_base(t->g, i) >= 0;
    CHECK(tg_compare(t, what, 1e-5, 1e-6) == 0);
  } else {
    fprintf(stderr, "%s: %s\n", what, err.msg);
  }
  tg_free(t);
  return views;
}

/* x → Add → Reshape → Unsqueeze → Flatten (a chain of views of one base), then three elementwise nodes
 * whose results could take the base's bytes if its life ended at the Reshape, then the view read by two
 * consumers; the input and the constant are reshaped too (copies), and the result reshaped into the
 * graph output (a copy into the caller's buffer). */
static void test_chain(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(4, 6, 5));
  int a = binary(&t, VITC_OP_Add, x, x);
  int v1 = reshape(&t, a, DIMS(24, 5));
  int unsq[2] = {v1, shape_const(&t, DIMS(0))};
  int v2 = tg_node(&t, VITC_OP_Unsqueeze, unsq, 2, 1, NULL, 0);
  vitc_attr axis1 = {.name = "axis", .type = VITC_ATTR_INT, .i = 1};
  int v3 = tg_node(&t, VITC_OP_Flatten, &v2, 1, 1, &axis1, 1);
  int p = binary(&t, VITC_OP_Mul, x, x);
  int q = binary(&t, VITC_OP_Sub, p, x);
  int r = binary(&t, VITC_OP_Mul, q, p);
  int x_flat = reshape(&t, x, DIMS(1, 120));
  int c_flat = reshape(&t, tg_const(&t, VITC_F32, DIMS(120), 3), DIMS(1, 120));
  int r_flat = reshape(&t, r, DIMS(1, 120));
  int s = binary(&t, VITC_OP_Add, v3, r_flat);
  int u = binary(&t, VITC_OP_Mul, v3, binary(&t, VITC_OP_Add, x_flat, c_flat));
  tg_output(&t, reshape(&t, binary(&t, VITC_OP_Sub, s, u), DIMS(4, 30)));
  CHECK(compile_and_check(&t, "reshape chain") >= 2);
}

/* A view that is itself a graph output copies (its own bytes are the caller's), and so does a view of a
 * tensor that is a graph output; the base, read through a view after another output was written, stays
 * intact. */
static void test_outputs(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(3, 7));
  int a = binary(&t, VITC_OP_Mul, x, x);
  int out1 = reshape(&t, a, DIMS(21));
  int sq = tg_node(&t, VITC_OP_Squeeze, (int[]){reshape(&t, a, DIMS(1, 21))}, 1, 1, NULL, 0);
  int b = binary(&t, VITC_OP_Add, x, x);
  int b_view = reshape(&t, b, DIMS(21));
  tg_output(&t, out1);
  tg_output(&t, b);
  tg_output(&t, binary(&t, VITC_OP_Add, sq, b_view));
  compile_and_check(&t, "views and graph outputs");
}

int main(void) {
  test_chain();
  test_outputs();
  CHECK_DONE();
}
