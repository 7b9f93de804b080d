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
 * crops by nothing). An elementwise op of one float input x and known operands that each hold one
 * number is one when the evaluator gives x back bit for bit on probe values (x·1, x/1, x − 0: timm's
 * addcmul(b, w, t) exports as b + w·t·1, whose Mul by 1 kept ConvNeXt V2's GRN from fusing; x + 0 is not
 * one, −0 + 0 being +0). A node whose output is a graph output stays: bypassing it would rename that
 * output, or make one tensor two outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/pattern.h"

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
  vitc_origins o;
  int64_t *whole = NULL;
  vitc_status st = vitc_probe_images(g, n->in[0], n->out[0], &o, err);
  if (st == VITC_OK && o.first && (o.outer != o.base_outer || o.block != o.base_block)) /* images told unlike */
    st = vitc_origins_whole(&o, &whole, err);
  /* image 0's elements in place are every image's, told alike */
  const int64_t *at = whole ? whole : o.first;
  int64_t count = whole ? vitc_numel(&y->v) : o.outer * o.block; /* once, not per element */
  *yes = st == VITC_OK && at != NULL;
  for (int64_t i = 0; *yes && i < count; i++) *yes = at[i] == i;
  free(whole);
  vitc_origins_free(&o);
  return st;
}

/* Whether every element of the known tensor t is the same number. */
static bool is_uniform(const vitc_value *v) {
  for (int64_t i = 1; i < vitc_numel(v); i++)
    if (vitc_load_f(v, i) != vitc_load_f(v, 0)) return false;
  return vitc_numel(v) > 0;
}

/* Whether elementwise n returns its input *x unchanged (see the header); *x is its index in n->in. */
static bool computes_nothing(const vitc_graph *g, const vitc_node *n, int *x) {
  static const float probes[] = {1.5f, -2.25f, 0.0f, -0.0f, 3e38f, -1e-40f, 1e30f, (float)INFINITY, -(float)INFINITY};
  enum { NPROBES = sizeof probes / sizeof probes[0] };
  if (!vitc_op_has(n->op, VITC_OPF_ELEMWISE) || n->nout != 1 || n->nin < 2 || n->nin > 4 || n->out[0] < 0) return false;
  const vitc_tensor *y = &g->tensors[n->out[0]];
  *x = -1;
  for (int k = 0; k < n->nin; k++) {
    const vitc_tensor *t = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
    if (!t || !t->shape_known || t->v.dtype != VITC_F32) return false;
    if (vitc_match_known(g, n->in[k]) && is_uniform(&t->v)) continue;
    if (*x >= 0 || !y->shape_known || y->v.dtype != VITC_F32 || t->v.rank != y->v.rank ||
        memcmp(t->v.dims, y->v.dims, sizeof(int64_t) * (size_t)t->v.rank))
      return false;
    *x = k;
  }
  if (*x < 0) return false;
  vitc_value in[4], out = {0};
  const vitc_value *ins[4];
  for (int k = 0; k < n->nin; k++) { /* x as the probes, each known operand as its one number */
    in[k] = (vitc_value){.dtype = VITC_F32, .rank = k == *x, .dims = {NPROBES}, .data = (void *)probes};
    if (k != *x) in[k].data = g->tensors[n->in[k]].v.data;
    ins[k] = &in[k];
  }
  vitc_error ignored;
  if (vitc_eval_node(g, n, ins, &out, &ignored) != VITC_OK) return false;
  bool same = out.dtype == VITC_F32 && vitc_numel(&out) == NPROBES && !memcmp(out.data, probes, sizeof probes);
  free(out.data);
  return same;
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
    int through = 0; /* the input passed through */
    if (n->dead) continue;
    if (!passes_input_through(g, n) && (st = moves_nothing(g, n, &no_op, err)) == VITC_OK && !no_op)
      no_op = computes_nothing(g, n, &through);
    if (st != VITC_OK) break;
    if (!no_op && !passes_input_through(g, n)) continue;
    int x = n->in[through], y = n->out[0], mask = n->nout > 1 ? n->out[1] : -1;
    if ((y >= 0 && vitc_graph_is_output(g, y)) || (mask >= 0 && vitc_graph_is_output(g, mask))) continue;
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
