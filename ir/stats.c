/* stats.c — model size and cost: parameters held in constants, floating-point operations per run. */
#include <stdlib.h>

#include "ir.h"

void vitc_graph_params(const vitc_graph *g, int64_t *count, int64_t *bytes) {
  *count = 0;
  *bytes = 0;
  char *seen = calloc((size_t)g->ntensors + 1, 1); /* a constant shared by several nodes counts once */
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      if (t < 0 || g->tensors[t].producer >= 0 || !g->tensors[t].v.data) continue;
      if (seen) {
        if (seen[t]) continue;
        seen[t] = 1;
      }
      *count += vitc_numel(&g->tensors[t].v);
      *bytes += (int64_t)vitc_nbytes(&g->tensors[t].v);
    }
  }
  free(seen);
}

/* Nodes whose shapes are not all known contribute nothing: the count is exact once infer_shapes ran. */
double vitc_graph_flops(const vitc_graph *g) {
  int max_in = 1, max_out = 1;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].nin > max_in) max_in = g->nodes[i].nin;
    if (g->nodes[i].nout > max_out) max_out = g->nodes[i].nout;
  }
  const vitc_value **in = malloc(sizeof *in * (size_t)max_in);
  vitc_value *out = calloc((size_t)max_out, sizeof *out);
  double total = 0;
  for (int i = 0; in && out && i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead || !vitc_ops[n->op].flops) continue;
    bool known = true;
    for (int j = 0; j < n->nin; j++) {
      in[j] = n->in[j] < 0 ? NULL : &g->tensors[n->in[j]].v;
      known &= n->in[j] < 0 || g->tensors[n->in[j]].shape_known;
    }
    for (int k = 0; k < n->nout; k++) {
      if (n->out[k] >= 0) {
        out[k] = g->tensors[n->out[k]].v;
        known &= g->tensors[n->out[k]].shape_known;
      } else {
        out[k] = (vitc_value){0};
      }
    }
    if (known) total += vitc_ops[n->op].flops(n, in, out);
  }
  free(in);
  free(out);
  return total;
}

int vitc_graph_first_dynamic_node(const vitc_graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->nin + n->nout; k++) {
      int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
      if (t >= 0 && !g->tensors[t].shape_known) return i;
    }
  }
  return -1;
}
