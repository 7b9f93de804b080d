/* fusion_harness.h — checks a fusing pass on a small graph built three times by the same builder:
 *
 *   1. shape inference and the pass: the op histogram is what the case expects;
 *   2. the evaluator on the rewritten graph against the graph left alone (rtol 1e-4), same inputs;
 *   3. the whole pipeline through the LLVM backend against the evaluator (backend_harness.h);
 *      fh_check_rewrite runs 1 and 2 only.
 *
 * Used by the tests of the fusing passes (test_fusion_*.c). */
#ifndef VITC_TEST_FUSION_HARNESS_H
#define VITC_TEST_FUSION_HARNESS_H

#include "backend_harness.h"
#include "check.h"
#include "graph_inputs.h"

typedef void (*fh_builder)(test_graph *t, int variant);

typedef struct fh_count {
  vitc_op op;
  int count;
} fh_count;

static inline const vitc_node *fh_find_op(const vitc_graph *g, vitc_op op) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == op) return &g->nodes[i];
  return NULL;
}

/* Evaluates t->g on inputs filled from `seed` into out[noutputs]; false (and a message) on failure. */
static inline bool fh_eval(test_graph *t, unsigned seed, vitc_value *out) {
  vitc_value in[TG_MAX_IO];
  for (int i = 0; i < t->g->ninputs; i++) {
    in[i] = t->g->tensors[t->g->inputs[i]].v;
    in[i].data = malloc(vitc_nbytes(&in[i]) + 1);
    tg_fill(&in[i], &seed);
  }
  vitc_error err = {0};
  vitc_status st = vitc_eval_graph(t->g, in, out, &err);
  if (st != VITC_OK) fprintf(stderr, "eval: %s\n", err.msg);
  for (int i = 0; i < t->g->ninputs; i++) free(in[i].data);
  return st == VITC_OK;
}

/* Runs checks 1 and 2; `want` lists ops and their counts after the pass. Returns the rewritten graph
 * (the caller frees it with vitc_graph_free) for further checks of attributes. */
static inline vitc_graph *fh_check_rewrite(const char *what, fh_builder build, int variant, vitc_pass_fn pass,
                                           const fh_count *want, int nwant) {
  test_graph fused = tg_new(), plain = tg_new();
  build(&fused, variant);
  build(&plain, variant);
  vitc_error err = {0};
  vitc_status st = vitc_infer_shapes(fused.g, &err);
  if (st == VITC_OK) st = pass(fused.g, &err);
  if (st == VITC_OK) st = vitc_verify(fused.g, true, &err);
  if (st == VITC_OK) st = vitc_infer_shapes(plain.g, &err);
  if (st != VITC_OK) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  for (int k = 0; k < nwant; k++) {
    int c = count_op(fused.g, want[k].op);
    if (c != want[k].count) fprintf(stderr, "%s: %d %s, expected %d\n", what, c, vitc_ops[want[k].op].name, want[k].count);
    CHECK(c == want[k].count);
  }

  vitc_value got[TG_MAX_IO], ref[TG_MAX_IO];
  bool ok = st == VITC_OK && fh_eval(&fused, 99, got), ok_ref = st == VITC_OK && fh_eval(&plain, 99, ref);
  CHECK(ok && ok_ref);
  for (int k = 0; ok && ok_ref && k < fused.g->noutputs; k++) {
    CHECK(vitc_numel(&got[k]) == vitc_numel(&ref[k]));
    for (int64_t i = 0; i < vitc_numel(&ref[k]); i++) {
      double a = vitc_load_f(&got[k], i), b = vitc_load_f(&ref[k], i);
      if (fabs(a - b) > 1e-4 * fabs(b) + 1e-6) {
        fprintf(stderr, "%s: output %d [%lld] = %.9g, unrewritten %.9g\n", what, k, (long long)i, a, b);
        CHECK(!"the rewritten graph computes the same");
        break;
      }
    }
  }
  for (int k = 0; k < fused.g->noutputs; k++) {
    if (ok) free(got[k].data);
    if (ok_ref) free(ref[k].data);
  }
  tg_free(&plain);
  return fused.g; /* the only thing `fused` holds: it was never compiled */
}

/* The three checks. */
static inline vitc_graph *fh_check(const char *what, fh_builder build, int variant, vitc_pass_fn pass,
                                   const fh_count *want, int nwant) {
  vitc_graph *g = fh_check_rewrite(what, build, variant, pass, want, nwant);
  test_graph jit = tg_new();
  build(&jit, variant);
  vitc_error err = {0};
  vitc_status st = tg_compile(&jit, 2, &err);
  if (st != VITC_OK) fprintf(stderr, "%s: compile: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (st == VITC_OK) CHECK(tg_compare(&jit, what, 1e-4, 1e-5) == 0);
  tg_free(&jit);
  return g;
}

/* A one-output node with no attributes. */
static inline int fh_op(test_graph *t, vitc_op op, int a, int b) {
  int in[2] = {a, b};
  return tg_node(t, op, in, b < 0 ? 1 : 2, 1, NULL, 0);
}

/* A 1-D int64 constant of n values (shapes, axes, pads). */
static inline int fh_i64s(test_graph *t, int n, const int64_t *v) {
  vitc_value c = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &c);
}

/* Reshape(x) to the n dims of shape, and Transpose(x) by the n entries of perm: an export's head split and merge. */
static inline int fh_reshape(test_graph *t, int x, int n, const int64_t *shape) {
  int in[2] = {x, fh_i64s(t, n, shape)};
  return tg_node(t, VITC_OP_Reshape, in, 2, 1, NULL, 0);
}

static inline int fh_permute(test_graph *t, int x, int n, const int64_t *perm) {
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = n, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
}

#endif
