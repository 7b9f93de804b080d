/* eliminate_dead — drops nodes that no graph output depends on.
 *
 *     %a = Relu(%x)      (%a reaches an output)      %a = Relu(%x)
 *     %b = Exp(%x)       (%b is used by nothing) ─→
 *     output %a                                      output %a
 *
 * One backward walk over the topologically ordered nodes: a node is needed when one of its outputs is,
 * and then its inputs are. Constants that only dead nodes read are no longer used by anything, which
 * is all "removed" means for them: tensor ids stay stable and the arena owns their bytes. */
#include <stdlib.h>

#include "passes/passes.h"

vitc_status vitc_eliminate_dead(vitc_graph *g, vitc_error *err) {
  char *needed = calloc((size_t)g->ntensors + 1, 1);
  if (!needed) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory eliminating dead nodes", g->path);
  for (int k = 0; k < g->noutputs; k++) needed[g->outputs[k]] = 1;
  bool changed = false;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    bool live = false;
    for (int k = 0; k < n->nout; k++) live |= n->out[k] >= 0 && needed[n->out[k]];
    if (!live) {
      n->dead = true;
      changed = true;
      continue;
    }
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] >= 0) needed[n->in[j]] = 1;
  }
  free(needed);
  if (changed) vitc_graph_compact(g);
  return VITC_OK;
}
