/* verify.c — the structural invariants every pass must keep, checked in one walk over the live nodes.
 *
 * A tensor is defined once it is a graph input, a constant (no producer, value known) or an output of an
 * earlier live node; a node may only read defined tensors, so checking in node order also checks that
 * the graph is topologically sorted. */
#include <stdarg.h>
#include <stdlib.h>

#include "ir.h"

static bool is_constant(const vitc_tensor *t) { return t->producer < 0 && t->v.data; }

static bool has_type(const vitc_tensor *t) {
  return t->shape_known && vitc_dtype_size(t->v.dtype) && t->v.rank >= 0 && t->v.rank <= VITC_MAX_RANK;
}

/* Fails with VITC_ERR_INVALID and "file: node 'name' (Op): <formatted problem>". */
static vitc_status node_fail(const vitc_graph *g, const vitc_node *n, vitc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static vitc_status node_fail(const vitc_graph *g, const vitc_node *n, vitc_error *err, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return vitc_fail(err, VITC_ERR_INVALID, "%s: node '%s' (%s): %s", g->path, n->name, vitc_ops[n->op].name, what);
}

/* Arity and id ranges of one node, independent of the rest of the graph. */
static vitc_status check_node_shape(const vitc_graph *g, const vitc_node *n, vitc_error *err) {
  if ((unsigned)n->op >= VITC_OP_COUNT)
    return vitc_fail(err, VITC_ERR_INVALID, "%s: node '%s': op code %d is not in the op table", g->path,
                     n->name, (int)n->op);
  const vitc_op_info *info = &vitc_ops[n->op];
  if (n->nin < info->min_in || n->nin > info->max_in) {
    return node_fail(g, n, err, "has %d inputs, %s takes %d to %d", n->nin, info->name, info->min_in, info->max_in);
  }
  if (n->nout < info->min_out || n->nout > info->max_out) {
    return node_fail(g, n, err, "has %d outputs, %s gives %d to %d", n->nout, info->name, info->min_out,
             info->max_out);
  }
  for (int j = 0; j < n->nin; j++) {
    if (n->in[j] >= g->ntensors || n->in[j] < -1) {
      return node_fail(g, n, err, "input %d refers to tensor id %d, graph has %d tensors", j, n->in[j], g->ntensors);
    }
    if (n->in[j] < 0 && j < info->min_in) {
      return node_fail(g, n, err, "required input %d is absent", j);
    }
  }
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= g->ntensors || n->out[k] < -1) {
      return node_fail(g, n, err, "output %d refers to tensor id %d, graph has %d tensors", k, n->out[k], g->ntensors);
    }
  return VITC_OK;
}

static vitc_status check_type(const vitc_graph *g, const vitc_node *n, int t, vitc_error *err) {
  if (has_type(&g->tensors[t])) return VITC_OK;
  return node_fail(g, n, err, "tensor '%s' has no known shape and dtype", g->tensors[t].name);
}

/* One live producer per tensor, checked before the walk so the message names both producers. */
static vitc_status check_single_producer(const vitc_graph *g, vitc_error *err) {
  int *producer = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  if (!producer) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory verifying the graph", g->path);
  for (int t = 0; t < g->ntensors; t++) producer[t] = -1;
  vitc_status st = VITC_OK;
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead || (st = check_node_shape(g, n, err)) != VITC_OK) continue;
    for (int k = 0; k < n->nout && st == VITC_OK; k++) {
      int t = n->out[k];
      if (t < 0) continue;
      if (producer[t] >= 0)
        st = node_fail(g, n, err, "output '%s' is also produced by node '%s'", g->tensors[t].name,
                       g->nodes[producer[t]].name);
      producer[t] = i;
    }
  }
  free(producer);
  return st;
}

/* The walk proper; defined[] flags the graph inputs and constants on entry. Node arity and ids were
 * checked by check_single_producer. */
static vitc_status check_nodes(const vitc_graph *g, bool require_shapes, char *defined, vitc_error *err) {
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    vitc_status st;
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      if (t < 0) continue;
      if (!defined[t]) {
        const vitc_tensor *tt = &g->tensors[t];
        return node_fail(g, n, err, "input '%s' is used before it is defined%s", tt->name,
                         tt->producer >= i && tt->producer < g->nnodes ? " (its producer comes later)" : "");
      }
      if (require_shapes && (st = check_type(g, n, t, err)) != VITC_OK) return st;
    }
    for (int k = 0; k < n->nout; k++) {
      int t = n->out[k];
      if (t < 0) continue;
      const vitc_tensor *tt = &g->tensors[t];
      if (defined[t])
        return node_fail(g, n, err, "output '%s' is already a graph input or constant", tt->name);
      if (tt->producer != i)
        return node_fail(g, n, err, "output '%s' records producer %d instead of this node (%d)", tt->name,
                         tt->producer, i);
      defined[t] = 1;
      if (require_shapes && (st = check_type(g, n, t, err)) != VITC_OK) return st;
    }
  }
  return VITC_OK;
}

vitc_status vitc_verify(const vitc_graph *g, bool require_shapes, vitc_error *err) {
  char *defined = calloc((size_t)g->ntensors + 1, 1);
  if (!defined) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory verifying the graph", g->path);
  vitc_status st = VITC_OK;
  for (int k = 0; k < g->ninputs && st == VITC_OK; k++) {
    int t = g->inputs[k];
    if (t < 0 || t >= g->ntensors)
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph input %d refers to tensor id %d, graph has %d tensors",
                     g->path, k, t, g->ntensors);
    else if (g->tensors[t].producer >= 0 && g->tensors[t].producer < g->nnodes)
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph input '%s' is also produced by node '%s'", g->path,
                     g->tensors[t].name, g->nodes[g->tensors[t].producer].name);
    else if (require_shapes && !has_type(&g->tensors[t]))
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph input '%s' has no known shape and dtype", g->path,
                     g->tensors[t].name);
    else
      defined[t] = 1;
  }
  for (int t = 0; t < g->ntensors; t++)
    if (is_constant(&g->tensors[t])) defined[t] = 1;
  if (st == VITC_OK) st = check_single_producer(g, err);
  if (st == VITC_OK) st = check_nodes(g, require_shapes, defined, err);
  for (int k = 0; k < g->noutputs && st == VITC_OK; k++) {
    int t = g->outputs[k];
    if (t < 0 || t >= g->ntensors)
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph output %d refers to tensor id %d, graph has %d tensors",
                     g->path, k, t, g->ntensors);
    else if (!defined[t])
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph output '%s' is not defined by any node, input or constant",
                     g->path, g->tensors[t].name);
    else if (require_shapes && !has_type(&g->tensors[t]))
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: graph output '%s' has no known shape and dtype", g->path,
                     g->tensors[t].name);
  }
  free(defined);
  return st;
}
