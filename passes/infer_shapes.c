/* infer_shapes — gives every tensor its dtype and shape, and a value where it is computable now.
 *
 * Nodes are visited in topological order. A node whose present inputs all have known values is run by
 * the evaluator and its outputs become known values too; otherwise its shape rule gives the outputs'
 * types. Shape and Size need only their input's shape, so PyTorch's shape subgraphs
 *
 *     x ─ Shape ─ Gather ─ Unsqueeze ─ Concat ─ Reshape(x, ·)
 *
 * become known values as soon as x's shape is static, and fold_constants removes them.
 *
 * A shape that depends on a value known only at run time (Reshape to a computed input, NonZero) stays
 * unknown, and so do the shapes that depend on it: the evaluator runs such graphs, computing shapes as it
 * goes; the backend refuses them.
 *
 * Outputs larger than EVAL_LIMIT_BYTES only get their shape: evaluating them would spend compile time
 * and memory on what is a run-time computation. Nodes whose outputs already hold values are skipped, so
 * the pass is idempotent and cheap to rerun after a rewrite. */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

#define EVAL_LIMIT_BYTES ((int64_t)64 << 20)

static bool outputs_have_values(const vitc_graph *g, const vitc_node *n) {
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= 0 && !g->tensors[n->out[k]].v.data) return false;
  return true;
}

/* Collects the node's input values into in[]; false when an input's shape is unknown (data-dependent). */
static bool gather_inputs(const vitc_graph *g, const vitc_node *n, const vitc_value **in, bool *all_values) {
  *all_values = true;
  for (int j = 0; j < n->nin; j++) {
    int t = n->in[j];
    in[j] = t < 0 ? NULL : &g->tensors[t].v;
    if (t < 0) continue;
    if (!g->tensors[t].shape_known) return false;
    if (!g->tensors[t].v.data) *all_values = false;
  }
  if (vitc_op_has(n->op, VITC_OPF_SHAPE_ONLY)) *all_values = true;
  return true;
}

/* Every output must be representable and within the graph's memory limit, before anything holds it. */
static vitc_status check_size(const vitc_graph *g, const vitc_node *n, const vitc_value *out, int64_t limit,
                              vitc_error *err) {
  for (int k = 0; k < n->nout; k++) {
    int64_t count;
    size_t esize = vitc_dtype_size(out[k].dtype);
    if (n->out[k] < 0 || !esize || out[k].rank < 0 || out[k].rank > VITC_MAX_RANK) continue; /* store_outputs says */
    if (!vitc_checked_numel(out[k].dims, out[k].rank, &count) || count > INT64_MAX / (int64_t)esize)
      return vitc_fail(err, VITC_ERR_INVALID, "output '%s' would have more elements than can be counted",
                       g->tensors[n->out[k]].name);
    if (count * (int64_t)esize > limit)
      return vitc_fail(err, VITC_ERR_INVALID, "output '%s' would take %lld bytes, above the memory limit of %lld",
                       g->tensors[n->out[k]].name, (long long)(count * (int64_t)esize), (long long)limit);
  }
  return VITC_OK;
}

static bool small_enough_to_evaluate(const vitc_node *n, const vitc_value *out) {
  for (int k = 0; k < n->nout; k++) {
    int64_t count;
    if (!vitc_checked_numel(out[k].dims, out[k].rank, &count)) return false;
    if (count * (int64_t)vitc_dtype_size(out[k].dtype) > EVAL_LIMIT_BYTES) return false;
  }
  return true;
}

/* Moves evaluated outputs into the graph's arena (freeing the malloc'd buffers), or records types only
 * when out[k].data is NULL. */
static vitc_status store_outputs(vitc_graph *g, const vitc_node *n, vitc_value *out, vitc_error *err) {
  vitc_status st = VITC_OK;
  for (int k = 0; k < n->nout; k++) {
    int t = n->out[k];
    void *data = out[k].data;
    if (t >= 0 && st == VITC_OK) {
      if (!vitc_dtype_size(out[k].dtype) || out[k].rank < 0 || out[k].rank > VITC_MAX_RANK) {
        st = vitc_fail(err, VITC_ERR_INTERNAL, "shape rule gave output %d no valid dtype or rank", k);
        vitc_node_error_prefix(g, n, err);
      } else {
        vitc_tensor *tt = &g->tensors[t];
        tt->v = out[k];
        tt->v.data = NULL;
        tt->shape_known = true;
        if (data) {
          size_t bytes = vitc_nbytes(&out[k]);
          if (!(tt->v.data = vitc_arena_alloc(g->arena, bytes))) {
            st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory storing the value of '%s'", g->path, tt->name);
          } else if (bytes) {
            memcpy(tt->v.data, data, bytes);
          }
        }
      }
    }
    free(data);
  }
  return st;
}

static vitc_status infer_node(vitc_graph *g, const vitc_node *n, const vitc_value **in, vitc_value *out, int64_t limit,
                              vitc_error *err) {
  bool all_values;
  if (!gather_inputs(g, n, in, &all_values)) return VITC_OK;
  memset(out, 0, sizeof *out * (size_t)n->nout);
  vitc_status st = vitc_ops[n->op].shape(n, in, out, err);
  if (st == VITC_ERR_DATA_DEPENDENT) return VITC_OK;
  if (st == VITC_OK) st = check_size(g, n, out, limit, err);
  if (st != VITC_OK) {
    vitc_node_error_prefix(g, n, err);
    return st;
  }
  if (all_values && small_enough_to_evaluate(n, out) && (st = vitc_eval_node(g, n, in, out, err)) != VITC_OK)
    return st; /* vitc_eval_node freed its outputs and added the node context */
  return store_outputs(g, n, out, err);
}

vitc_status vitc_infer_shapes(vitc_graph *g, vitc_error *err) {
  int max_in = 1, max_out = 1;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].nin > max_in) max_in = g->nodes[i].nin;
    if (g->nodes[i].nout > max_out) max_out = g->nodes[i].nout;
  }
  const vitc_value **in = malloc(sizeof *in * (size_t)max_in);
  vitc_value *out = malloc(sizeof *out * (size_t)max_out);
  vitc_status st = VITC_OK;
  if (!in || !out) st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory inferring shapes", g->path);
  int64_t limit = vitc_graph_memory_limit(g); /* read once: the default asks the system */
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead || outputs_have_values(g, n)) continue;
    st = infer_node(g, n, in, out, limit, err);
  }
  free(in);
  free(out);
  return st;
}
