/* test_run_errors.c — generated code refuses indices out of range at run time (backend/emit_gather.c):
 * NAME_run returns non-zero and the context's message names the node, the index and the bound, as the
 * evaluator's does; indices just inside the axis, and negative ones counting from its end, still run,
 * and a good run after a bad one succeeds (the message is cleared). */
#include "backend_harness.h"

/* A graph data[dims] → op(data, indices[idims] (, updates)) → out, the indices a graph input so that the
 * kernel reads them at run time. */
typedef struct indexed_case {
  const char *what;
  vitc_op op;
  int rank, irank;
  int64_t dims[3], idims[3];
  int axis;
  int64_t bad, bound; /* an index out of range and the axis size the message names */
  int64_t good[2];    /* the first index entries of a run that must succeed: the axis's last, and -bound */
} indexed_case;

static const indexed_case cases[] = {
    {"Gather", VITC_OP_Gather, 2, 1, {10, 3}, {2}, 0, 1000000000, 10, {9, -10}},
    {"Gather below", VITC_OP_Gather, 2, 1, {10, 3}, {2}, 0, -11, 10, {9, -10}},
    {"Gather axis 1", VITC_OP_Gather, 2, 1, {3, 5}, {2}, 1, 5, 5, {4, -5}},
    {"GatherElements", VITC_OP_GatherElements, 2, 2, {4, 3}, {2, 3}, 0, 4, 4, {3, -4}},
    {"GatherND", VITC_OP_GatherND, 2, 2, {6, 3}, {2, 1}, 0, -7, 6, {5, -6}},
    {"ScatterND", VITC_OP_ScatterND, 2, 2, {6, 3}, {2, 1}, 0, 6, 6, {5, -6}},
    {"ScatterElements", VITC_OP_ScatterElements, 2, 2, {4, 3}, {1, 3}, 0, 100, 4, {3, -4}},
};

static int updates_rank(const indexed_case *c, int64_t *dims) {
  if (c->op == VITC_OP_ScatterND) { /* indices[:-1] + data[k:] */
    dims[0] = c->idims[0];
    dims[1] = c->dims[1];
    return 2;
  }
  memcpy(dims, c->idims, sizeof c->idims);
  return c->irank;
}

static void fill_indices(test_graph *t, int64_t first, int64_t second) {
  int64_t *idx = t->in[1].data;
  for (int64_t i = 0; i < vitc_numel(&t->in[1]); i++) idx[i] = i % 2 ? second : first;
}

static void check_case(const indexed_case *c) {
  test_graph t = tg_new();
  int in[3] = {tg_input(&t, VITC_F32, c->rank, c->dims), tg_input(&t, VITC_I64, c->irank, c->idims)};
  int nin = 2;
  if (c->op == VITC_OP_ScatterND || c->op == VITC_OP_ScatterElements) {
    int64_t ud[3];
    int ur = updates_rank(c, ud);
    in[nin++] = tg_input(&t, VITC_F32, ur, ud);
  }
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = c->axis};
  bool has_axis = c->op != VITC_OP_GatherND && c->op != VITC_OP_ScatterND;
  tg_output(&t, tg_node(&t, c->op, in, nin, 1, &axis, has_axis ? 1 : 0));
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 1, &err);
  CHECK_MSG(st ? err.msg : "", "");
  if (st) return;
  size_t bytes = vitc_nbytes(&t.g->tensors[t.g->outputs[0]].v);
  void *out = malloc(bytes);

  fill_indices(&t, c->bad, 0);
  CHECK(tg_run(&t, &out) != 0);
  char want[200];
  snprintf(want, sizeof want, "index %lld is out of range for an axis of size %lld", (long long)c->bad,
           (long long)c->bound);
  CHECK_MSG(vitc_rt_error(t.ctx), want);
  CHECK_MSG(vitc_rt_error(t.ctx), "node '");
  CHECK_MSG(vitc_rt_error(t.ctx), vitc_ops[c->op].name);

  /* The evaluator agrees that the index is bad. */
  vitc_value none[TG_MAX_IO];
  CHECK(vitc_eval_graph(t.g, t.in, none, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, want);

  /* The axis's ends are fine, a good run clears the message, and the result is the evaluator's. */
  fill_indices(&t, c->good[0], c->good[1]);
  if (c->op == VITC_OP_ScatterND || c->op == VITC_OP_ScatterElements) fill_indices(&t, c->good[0], c->good[0]);
  int rc = tg_run(&t, &out);
  CHECK(rc == 0);
  CHECK_MSG(vitc_rt_error(t.ctx), "");
  if (!rc) CHECK(tg_compare(&t, c->what, 0, 0) == 0);
  free(out);
  tg_free(&t);
}

int main(void) {
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) check_case(&cases[k]);
  CHECK_DONE();
}
