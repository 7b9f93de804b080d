/* fuse_elementwise_chains — what is left of float32 elementwise arithmetic after the fusing passes runs as
 * one node per connected group, one pass over memory instead of one per op (PoolFormer's
 * x - pool(x), LayerScale Mul and residual Add; a per-channel Mul and Add after a GroupNorm):
 *
 *   %a = Sub(%p, %x)
 *   %b = Mul(%a, %s)            ─→   %y = vitc.ElementwiseChain(%p, %x, %s) {ops = "Sub,Mul,Add",
 *   %y = Add(%x, %b)                                                     args = [0,1, -1,2, 1,-2]}
 *
 * A group grows up from its last node through inputs that an eligible node computes with the group's
 * output type and that only the group reads (once). Eligible: an ELEMWISE op of one or two inputs
 * (ops.def's max_in), all present, without attributes (the chain carries none), float32 in and out.
 * Everything else is an input of the group, broadcast as the op it feeds broadcast it. A Pow by a known
 * scalar 2 (MetaFormer's StarReLU, s·relu(x)² + b) is the step Mul(x, x): the same float, where the
 * general Pow works through log and exp in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

static bool eligible(const vitc_graph *g, const vitc_node *n) {
  if (n->dead || !vitc_chain_op(n->op) || n->nin != vitc_ops[n->op].max_in ||
      n->nattr || n->nout != 1 || n->out[0] < 0 || !g->tensors[n->out[0]].shape_known ||
      g->tensors[n->out[0]].v.dtype != VITC_F32)
    return false;
  for (int k = 0; k < n->nin; k++)
    if (n->in[k] < 0 || !g->tensors[n->in[k]].shape_known || g->tensors[n->in[k]].v.dtype != VITC_F32) return false;
  return true;
}

static int by_index(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Operand code of tensor t in the program: a step's result, or an input (added on first use). */
static int64_t operand(const vitc_graph *g, int t, const int *members, int nmembers, int *in, int *nin) {
  for (int s = 0; s < nmembers; s++)
    if (g->nodes[members[s]].out[0] == t) return -s - 1;
  for (int k = 0; k < *nin; k++)
    if (in[k] == t) return k;
  in[*nin] = t;
  return (*nin)++;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  if (!eligible(g, &g->nodes[i])) return VITC_OK;
  int y = g->nodes[i].out[0], members[VITC_CHAIN_MAX_STEPS] = {i}, nmembers = 1;
  for (int m = 0; m < nmembers; m++) {
    const vitc_node *n = &g->nodes[members[m]];
    for (int k = 0; k < n->nin && nmembers < VITC_CHAIN_MAX_STEPS; k++) {
      int t = n->in[k], p = g->tensors[t].producer;
      if (p < 0 || t >= rw->counted || rw->uses[t] != 1 || !eligible(g, &g->nodes[p]) ||
          !vitc_match_same_type(g, t, y))
        continue;
      members[nmembers++] = p;
    }
  }
  if (nmembers < 2) return VITC_OK;
  qsort(members, (size_t)nmembers, sizeof members[0], by_index); /* the graph's order is a topological one */
  int64_t args[2 * VITC_CHAIN_MAX_STEPS];
  char ops[VITC_CHAIN_MAX_STEPS * 32] = "";
  int in[2 * VITC_CHAIN_MAX_STEPS], nin = 0;
  vitc_node *matched[VITC_CHAIN_MAX_STEPS];
  for (int s = 0; s < nmembers; s++) {
    vitc_node *n = &rw->g->nodes[members[s]];
    double e;
    bool square = n->op == VITC_OP_Pow && vitc_match_scalar_value(g, n->in[1], &e) && e == 2;
    matched[s] = n;
    snprintf(ops + strlen(ops), sizeof ops - strlen(ops), "%s%s", s ? "," : "", square ? "Mul" : vitc_ops[n->op].name);
    args[2 * s] = operand(g, n->in[0], members, s, in, &nin);
    args[2 * s + 1] = n->nin > 1 && !square ? operand(g, n->in[1], members, s, in, &nin) : args[2 * s];
  }
  vitc_attr attrs[2] = {{.name = "ops", .type = VITC_ATTR_STRING, .s = ops},
                        {.name = "args", .type = VITC_ATTR_INTS, .n = 2 * nmembers, .ints = args}};
  return vitc_rewrite(rw, matched, nmembers, VITC_OP_ElementwiseChain, in, nin, y, attrs, 2, err);
}

vitc_status vitc_fuse_elementwise_chains(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_elementwise_chains", true, visit, NULL, err);
}
