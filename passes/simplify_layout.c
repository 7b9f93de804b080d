/* simplify_layout — views that only regroup rows get out of the way of the passes that absorb layout:
 *
 *     %t = Transpose(%x) {perm}          perm moves only dims of size 1: the memory order stays
 *                                  ─→  %t = Reshape(%x, dims of %t)
 *
 *     %a = Reshape(.. Reshape(%x))       %x of rank >= 2 with %a's last dim K; no residual
 *     %y = FusedGemm(%a, W, ..)
 *                                  ─→  %r = FusedGemm(%x, W, ..)          %x's rows, %x's leading dims
 *                                       %y = Reshape(%r, dims of %y)
 *
 * A FusedGemm works row by row, so it can take its rows as they come and reshape its output instead.
 * The view before it then dies, and the Reshape after it starts a movement chain that
 * absorb_attention_layout swallows: ViT's MHA export writes LayerNorm → Transpose {1, 0, 2} (moving
 * the batch dim of 1) → qkv projection → Slice, Reshape, Transpose → Attention. Only a FusedGemm whose
 * output is read by movement nodes alone moves so: before one that computes (Swin V2's projection
 * before its post-norm LayerNorm) the Reshape would stay a copy, where before the FusedGemm
 * absorb_attention_layout folds it into the Attention's output rows. */
#include <string.h>

#include "passes/pattern.h"

enum { MAX_VIEWS = 16, IN_RESIDUAL = 3 };

/* A new [rank] int64 constant holding t's dims, or -1 with err set. */
static int shape_of(vitc_rewriter *rw, int t, vitc_error *err) {
  int64_t dims[VITC_MAX_RANK];
  const vitc_value *v = &rw->g->tensors[t].v;
  memcpy(dims, v->dims, sizeof dims);
  vitc_value s = {.dtype = VITC_I64, .rank = 1, .dims = {v->rank}, .data = dims};
  return vitc_rewrite_constant(rw, rw->g->tensors[t].name, "shape", &s, err);
}

/* Known, static, non-empty: the shape a Reshape constant can spell (a 0 would mean "copy this dim"). */
static bool has_static_dims(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && vitc_numel(&g->tensors[t].v) > 0;
}

static vitc_status transpose_as_reshape(vitc_rewriter *rw, int i, vitc_error *err) {
  int out = rw->g->nodes[i].out[0], in[2] = {rw->g->nodes[i].in[0], shape_of(rw, out, err)};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  vitc_node *n = &rw->g->nodes[i];
  return vitc_rewrite(rw, &n, 1, VITC_OP_Reshape, in, 2, out, NULL, 0, err);
}

/* The furthest tensor above FusedGemm n's A through Reshapes whose rows are A's (rank >= 2, last dim
 * A's), or -1. */
static int row_source(const vitc_graph *g, const vitc_node *n) {
  const vitc_value *a = &g->tensors[n->in[0]].v;
  int src = -1, t = n->in[0];
  for (int k = 0; k < MAX_VIEWS; k++) {
    int p = g->tensors[t].producer;
    if (p < 0 || g->nodes[p].dead || g->nodes[p].op != VITC_OP_Reshape) break;
    t = g->nodes[p].in[0];
    const vitc_value *v = &g->tensors[t].v;
    if (!has_static_dims(g, t)) break;
    if (v->rank >= 2 && v->dims[v->rank - 1] == a->dims[a->rank - 1]) src = t;
  }
  return src;
}

/* Whether t is read, and read only as the moved input of movement nodes (not as a graph output). */
static bool moved_only(const vitc_graph *g, int t) {
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == t) return false;
  int readers = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int k = 0; !n->dead && k < n->nin; k++) {
      if (n->in[k] != t) continue;
      if (!(vitc_moved_inputs(g, n) >> k & 1)) return false;
      readers++;
    }
  }
  return readers > 0;
}

static bool hoistable(const vitc_graph *g, const vitc_node *n) {
  return n->op == VITC_OP_FusedGemm && !n->dead && (n->nin <= IN_RESIDUAL || n->in[IN_RESIDUAL] < 0) &&
         has_static_dims(g, n->out[0]) && moved_only(g, n->out[0]);
}

/* FusedGemm i reads src's rows into a new tensor, which a Reshape turns into its old output. */
static vitc_status hoist(vitc_rewriter *rw, int i, int src, vitc_error *err) {
  vitc_graph *g = rw->g;
  int y = g->nodes[i].out[0], shape = shape_of(rw, y, err);
  if (shape < 0) return VITC_ERR_NOMEM;
  char name[512];
  snprintf(name, sizeof name, "%s.rows", g->tensors[y].name);
  int r = vitc_graph_add_tensor(g, name);
  if (r < 0) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for tensor '%s'", g->path, name);
  g->tensors[r].v = g->tensors[src].v;
  g->tensors[r].v.dims[g->tensors[r].v.rank - 1] = g->tensors[y].v.dims[g->tensors[y].v.rank - 1];
  g->tensors[r].shape_known = true;
  const vitc_node *n = &g->nodes[i];
  int in[IN_RESIDUAL + 2];
  memcpy(in, n->in, sizeof(int) * (size_t)n->nin);
  in[0] = src;
  if (vitc_graph_add_node(g, VITC_OP_FusedGemm, n->name, in, n->nin, &r, 1, n->attrs, n->nattr) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding FusedGemm", g->path);
  vitc_node *old = &g->nodes[i]; /* adding a node may move the array */
  int view[2] = {r, shape};
  return vitc_rewrite(rw, &old, 1, VITC_OP_Reshape, view, 2, y, NULL, 0, err);
}

static vitc_status visit_transpose(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_node *n = &rw->g->nodes[i];
  return vitc_match_order_keeping_transpose(rw->g, n) && has_static_dims(rw->g, n->out[0])
             ? transpose_as_reshape(rw, i, err)
             : VITC_OK;
}

static vitc_status visit_gemm(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  int src = hoistable(rw->g, &rw->g->nodes[i]) ? row_source(rw->g, &rw->g->nodes[i]) : -1;
  return src >= 0 ? hoist(rw, i, src, err) : VITC_OK;
}

vitc_status vitc_simplify_layout(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "simplify_layout", err);
  if (st != VITC_OK) return st;
  st = vitc_rewriter_sweep(&rw, false, visit_transpose, NULL, err);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, visit_gemm, NULL, err);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
