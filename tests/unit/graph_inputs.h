/* graph_inputs.h — building vitc_graphs by hand with the IR's own calls in tests: inputs, one-output
 * nodes, outputs, and counting what a pass left; backend_harness.h adds the JIT tests' builders. */
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

/* Adds a one-output node and returns its output tensor (named like the node, with ".out"). */
static inline int add_node(vitc_graph *g, vitc_op op, const char *name, const int *in, int nin, const vitc_attr *attrs,
                           int nattr) {
  char out_name[128];
  snprintf(out_name, sizeof out_name, "%s.out", name ? name : vitc_ops[op].name);
  int out = vitc_graph_add_tensor(g, out_name);
  vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr);
  return out;
}

static inline void set_outputs(vitc_graph *g, const int *ids, int n) {
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)n);
  for (int k = 0; k < n; k++) g->outputs[k] = ids[k];
  g->noutputs = n;
}

/* Live nodes of op `op`. */
static inline int count_op(const vitc_graph *g, vitc_op op) {
  int c = 0;
  for (int i = 0; i < g->nnodes; i++) c += !g->nodes[i].dead && g->nodes[i].op == op;
  return c;
}

#endif
