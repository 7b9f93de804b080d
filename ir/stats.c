/* stats.c — model size and cost: parameters held in constants, floating-point operations per run; and the
 * clock that times a compilation's stages. */
#include <stdlib.h>
#include <time.h>

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
double vitc_node_flops(const vitc_graph *g, int node) {
  const vitc_node *n = &g->nodes[node];
  if (n->dead || !vitc_ops[n->op].flops) return 0;
  const vitc_value *in[n->nin + 1];
  vitc_value out[n->nout + 1];
  for (int j = 0; j < n->nin; j++) {
    if (n->in[j] >= 0 && !g->tensors[n->in[j]].shape_known) return 0;
    in[j] = n->in[j] < 0 ? NULL : &g->tensors[n->in[j]].v;
  }
  for (int k = 0; k < n->nout; k++) {
    if (n->out[k] >= 0 && !g->tensors[n->out[k]].shape_known) return 0;
    out[k] = n->out[k] < 0 ? (vitc_value){0} : g->tensors[n->out[k]].v;
  }
  return vitc_ops[n->op].flops(n, in, out);
}

double vitc_graph_flops(const vitc_graph *g) {
  double total = 0;
  for (int i = 0; i < g->nnodes; i++) total += vitc_node_flops(g, i);
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

static double clock_ms(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

vitc_stage_time vitc_stage_clock(void) {
  return (vitc_stage_time){clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_PROCESS_CPUTIME_ID)};
}

void vitc_stage_add(vitc_stage_time *t, vitc_stage_time since) {
  vitc_stage_time now = vitc_stage_clock();
  t->wall_ms += now.wall_ms - since.wall_ms;
  t->cpu_ms += now.cpu_ms - since.cpu_ms;
}
