/* graph_inputs.h — declaring graph inputs in tests that build vitc_graphs by hand with the IR's own
 * calls (test_eval.c, test_passes.c); backend_harness.h has the JIT tests' builders. */
#ifndef VITC_TEST_GRAPH_INPUTS_H
#define VITC_TEST_GRAPH_INPUTS_H

#include "ir/ir.h"

static inline void set_type(vitc_value *v, vitc_dtype dt, int rank, const int64_t *dims) {
  *v = (vitc_value){.dtype = dt, .rank = rank};
  for (int d = 0; d < rank; d++) v->dims[d] = dims[d];
}

/* Appends a graph input of the given type (the input list grows in the graph's arena). */
static inline int add_input(vitc_graph *g, const char *name, vitc_dtype dt, int rank, const int64_t *dims) {
  int t = vitc_graph_add_tensor(g, name);
  set_type(&g->tensors[t].v, dt, rank, dims);
  g->tensors[t].shape_known = true;
  int *inputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(g->ninputs + 1));
  for (int k = 0; k < g->ninputs; k++) inputs[k] = g->inputs[k];
  inputs[g->ninputs++] = t;
  g->inputs = inputs;
  return t;
}

#endif
