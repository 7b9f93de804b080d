/* remove_identity — bypasses nodes that pass their input through unchanged.
 *
 *     %y = Identity(%x)                       uses of %y read %x
 *     %y, %m = Dropout(%x, %r, _)       ─→    uses of %m read const %m.ones : bool[shape of x] = 1
 *     %y = Pad | Slice | Reshape | Transpose | Expand | Tile | ..(%x, known..)   with %y ≡ %x
 *
 * Dropout is an identity at inference (training_mode absent or a known false) and whenever its ratio is
 * a known 0, training or not: its mask is then all ones. A movement node (vitc_moved_inputs) is one when
 * its output has the dtype and dims of its first input and every element stays in its place, as
 * vitc_probe_origins shows: a Pad of zeros, a Slice of the whole range, a Reshape to the same dims, a
 * Transpose that moves only dims of 1, an Expand or Tile that adds nothing (Swin-T's 7×7 stage pads and
 * crops by nothing). A node whose output is a graph output stays: bypassing it would rename that
 * output, or make one tensor two outputs. */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

static bool is_graph_output(const vitc_graph *g, int t) {
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == t) return true;
  return false;
}

static bool known_scalar_is_zero(const vitc_graph *g, int t) {
  const vitc_value *v = &g->tensors[t].v;
  return v->data && vitc_numel(v) == 1 && vitc_load_f(v, 0) == 0;
}

/* Identity, or a Dropout that drops nothing: at inference (training_mode absent or known false), or with
 * a known ratio of 0, which PyTorch exports for F.dropout(p=0.0) with training_mode true. */
static bool passes_input_through(const vitc_graph *g, const vitc_node *n) {
  if (n->op == VITC_OP_Identity) return true;
  if (n->op != VITC_OP_Dropout) return false;
  bool inference = n->nin < 3 || n->in[2] < 0 || known_scalar_is_zero(g, n->in[2]);
  bool ratio_zero = n->nin >= 2 && n->in[1] >= 0 && known_scalar_is_zero(g, n->in[1]);
  return inference || ratio_zero;
}

/* Whether n only moves elements of its first input into one output of the same type, each to its own
 * place (its other inputs known). */
static vitc_status moves_nothing(const vitc_graph *g, const vitc_node *n, bool *yes, vitc_error *err) {
  *yes = false;
  if (n->nout != 1 || n->nin < 1 || n->in[0] < 0 || n->out[0] < 0 || !(vitc_moved_inputs(g, n) & 1u)) return VITC_OK;
  const vitc_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
  if (!x->shape_known || !y->shape_known || x->v.dtype != y->v.dtype || x->v.rank != y->v.rank ||
      memcmp(x->v.dims, y->v.dims, sizeof(int64_t) * (size_t)x->v.rank))
    return VITC_OK;
  int64_t *origins = NULL;
  vitc_status st = vitc_probe_origins(g, n->in[0], n->out[0], &origins, err);
  *yes = origins != NULL;
  for (int64_t i = 0; *yes && i < vitc_numel(&y->v); i++) *yes = origins[i] == i;
  free(origins);
  return st;
}

/* Adds a bool constant of ones shaped like tensor `like`: what an inference Dropout's mask holds. */
static int add_ones_mask(vitc_graph *g, int like, int mask, vitc_error *err) {
  vitc_value v = g->tensors[like].v;
  v.dtype = VITC_BOOL;
  size_t bytes = vitc_nbytes(&v);
  if (!(v.data = malloc(bytes ? bytes : 1))) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for a Dropout mask", g->path);
    return -1;
  }
  memset(v.data, 1, bytes);
  char name[512];
  snprintf(name, sizeof name, "%s.ones", g->tensors[mask].name);
  int id = vitc_graph_add_constant(g, name, &v);
  free(v.data);
  if (id < 0) vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for a Dropout mask", g->path);
  return id;
}

vitc_status vitc_remove_identity(vitc_graph *g, vitc_error *err) {
  int *uses = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  if (!uses) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory removing identities", g->path);
  vitc_graph_use_counts(g, uses);
  bool changed = false;
  vitc_status st = VITC_OK;
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    vitc_node *n = &g->nodes[i];
    bool no_op = false;
    if (n->dead || (!passes_input_through(g, n) && ((st = moves_nothing(g, n, &no_op, err)) != VITC_OK || !no_op)))
      continue;
    int x = n->in[0], y = n->out[0], mask = n->nout > 1 ? n->out[1] : -1;
    if ((y >= 0 && is_graph_output(g, y)) || (mask >= 0 && is_graph_output(g, mask))) continue;
    bool mask_used = mask >= 0 && uses[mask] > 0;
    if (mask_used && !g->tensors[x].shape_known) continue; /* the mask's shape is needed for the constant */
    if (mask_used) {
      int ones = add_ones_mask(g, x, mask, err);
      if (ones < 0) {
        st = VITC_ERR_NOMEM;
        break;
      }
      vitc_graph_replace_uses(g, mask, ones);
    }
    if (y >= 0) vitc_graph_replace_uses(g, y, x);
    g->nodes[i].dead = true;
    changed = true;
  }
  free(uses);
  if (changed) vitc_graph_compact(g);
  return st;
}
