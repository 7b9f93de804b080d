/* specialize.c — binding graph inputs to values: what a compiler needs when shapes or indices depend on
 * an input (ONNX's own node tests pass Reshape's shape, Slice's starts or Gather's indices as inputs). */
#include <string.h>

#include "ir.h"

vitc_status vitc_graph_bind_inputs(vitc_graph *g, const bool *bind, const vitc_value *values, vitc_error *err) {
  int kept = 0;
  for (int k = 0; k < g->ninputs; k++) {
    vitc_tensor *t = &g->tensors[g->inputs[k]];
    if (!bind[k]) {
      g->inputs[kept++] = g->inputs[k];
      continue;
    }
    if (values[k].dtype != t->v.dtype || vitc_nbytes(&values[k]) != vitc_nbytes(&t->v))
      return vitc_fail(err, VITC_ERR_INVALID, "%s: value bound to input '%s' does not match its type", g->path, t->name);
    size_t bytes = vitc_nbytes(&t->v);
    if (!(t->v.data = vitc_arena_alloc(g->arena, bytes)))
      return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory binding input '%s'", g->path, t->name);
    memcpy(t->v.data, values[k].data, bytes);
  }
  g->ninputs = kept;
  return VITC_OK;
}
