/* fold_constants — nodes whose results infer_shapes already computed become constants.
 *
 *     %s = Shape(%x)              const %s : i64[4] = [1, 3, 224, 224]
 *     %d = Gather(%s, %one)  ─→   const %d : i64 = [3]
 *
 * infer_shapes evaluates every node whose inputs are known (up to its size limit); this pass only drops
 * those nodes: each output keeps its value and loses its producer. A node qualifies when every output
 * something uses has a value, so an unused optional output without one does not block it. */
#include <stdlib.h>

#include "passes/passes.h"

static bool foldable(const vitc_graph *g, const vitc_node *n, const int *uses) {
  bool any_value = false;
  for (int k = 0; k < n->nout; k++) {
    int t = n->out[k];
    if (t < 0) continue;
    if (g->tensors[t].v.data) any_value = true;
    else if (uses[t]) return false;
  }
  return any_value;
}

vitc_status vitc_fold_constants(vitc_graph *g, vitc_error *err) {
  int *uses = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  if (!uses) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding constants", g->path);
  vitc_graph_use_counts(g, uses);
  bool changed = false;
  for (int i = 0; i < g->nnodes; i++) {
    vitc_node *n = &g->nodes[i];
    if (n->dead || !foldable(g, n, uses)) continue;
    n->dead = true;
    changed = true;
  }
  free(uses);
  if (changed) vitc_graph_compact(g); /* renumbers producers: the folded outputs are left with none */
  return VITC_OK;
}
