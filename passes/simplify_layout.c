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
 * absorb_attention_layout folds it into the Attention's output rows.
 *
 *     %a = Reshape(%x, ..)               %a read only here
 *     %b = Reshape(%a, ..)         ─→  %b = Reshape(%x, dims of %b)
 *
 *     %a = Reshape(%x, ..)               %a read only by the FusedGemm, %x's last dim not K (the rule
 *     %y = FusedGemm(%a, W, ..)           above would move it back); no residual
 *     %f = Reshape(%y, ..)               %y read only here; %f's last dim N
 *                                  ─→  %a' = Reshape(%x, dims of %f but the last, K)
 *                                       %f = FusedGemm(%a', W, ..)
 *
 * A strided conv run as a patch GEMM (PVT's spatial reduction, its patch embeddings) is a patch
 * gathering chain ending in a Reshape to [B, h, w, k·k·C] and a GEMM whose output a Reshape turns into
 * tokens [B, h·w, N]: the GEMM writes the tokens directly, and the two Reshapes on its input side are one. */
#include <stdlib.h>
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
  if (vitc_graph_is_output(g, t)) return false;
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

/* Live node inputs and graph outputs reading t, counted now, not when the pass began: the rules before
 * the last ones added readers. */
static int readers(const vitc_graph *g, int t) {
  int count = 0;
  for (int k = 0; k < g->noutputs; k++) count += g->outputs[k] == t;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++) count += g->nodes[i].in[k] == t;
  return count;
}

/* The live Reshape that produced t, when t has one reader; NULL otherwise. */
static const vitc_node *single_reshape(const vitc_graph *g, int t) {
  int p = g->tensors[t].producer;
  if (p < 0 || g->nodes[p].dead || g->nodes[p].op != VITC_OP_Reshape || readers(g, t) != 1) return NULL;
  return &g->nodes[p];
}

/* A new int64 constant holding dims[0..rank), named after tensor t; -1 with err set. */
static int dims_constant(vitc_rewriter *rw, int t, const int64_t *dims, int rank, vitc_error *err) {
  vitc_value s = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return vitc_rewrite_constant(rw, rw->g->tensors[t].name, "rows_shape", &s, err);
}

static vitc_status visit_reshape(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_node *n = &rw->g->nodes[i];
  if (n->op != VITC_OP_Reshape || !has_static_dims(rw->g, n->out[0])) return VITC_OK;
  const vitc_node *a = single_reshape(rw->g, n->in[0]);
  if (!a || !has_static_dims(rw->g, a->in[0])) return VITC_OK;
  int out = n->out[0], in[2] = {a->in[0], shape_of(rw, out, err)};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  vitc_node *matched[2] = {&rw->g->nodes[i], &rw->g->nodes[rw->g->tensors[rw->g->nodes[i].in[0]].producer]};
  return vitc_rewrite(rw, matched, 2, VITC_OP_Reshape, in, 2, out, NULL, 0, err);
}

static vitc_status visit_gemm_output(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  int *reader = ctx;
  vitc_graph *g = rw->g;
  const vitc_node *n = &g->nodes[i];
  if (n->op != VITC_OP_FusedGemm || (n->nin > IN_RESIDUAL && n->in[IN_RESIDUAL] >= 0)) return VITC_OK;
  int y = n->out[0];
  const vitc_node *a = single_reshape(g, n->in[0]);
  if (!a || reader[y] < 0 || readers(g, y) != 1 || !has_static_dims(g, a->in[0])) return VITC_OK;
  const vitc_node *f = &g->nodes[reader[y]];
  if (f->op != VITC_OP_Reshape || f->dead || f->in[0] != y || !has_static_dims(g, f->out[0])) return VITC_OK;
  const vitc_value *xv = &g->tensors[a->in[0]].v, *av = &g->tensors[n->in[0]].v, *yv = &g->tensors[y].v,
                   *fv = &g->tensors[f->out[0]].v;
  int64_t k = av->dims[av->rank - 1], dims[VITC_MAX_RANK];
  if (xv->dims[xv->rank - 1] == k || fv->rank < 2 || fv->dims[fv->rank - 1] != yv->dims[yv->rank - 1]) return VITC_OK;
  for (int j = 2; j < n->nin; j++) /* a bias of higher rank would broadcast to it */
    if (n->in[j] >= 0 && g->tensors[n->in[j]].v.rank > fv->rank) return VITC_OK;
  memcpy(dims, fv->dims, sizeof(int64_t) * (size_t)fv->rank);
  dims[fv->rank - 1] = k;
  vitc_value type = *av;
  type.rank = fv->rank;
  memcpy(type.dims, dims, sizeof dims);
  type.data = NULL;
  int out = f->out[0], view[2] = {a->in[0], dims_constant(rw, out, dims, fv->rank, err)}, in[IN_RESIDUAL + 1];
  if (view[1] < 0) return VITC_ERR_NOMEM;
  int rows = vitc_rewrite_node(rw, VITC_OP_Reshape, view, 2, &type, NULL, 0, g->tensors[out].name, "rows", err);
  if (rows < 0) return VITC_ERR_NOMEM;
  n = &g->nodes[i]; /* adding a node may move the array */
  memcpy(in, n->in, sizeof(int) * (size_t)n->nin);
  in[0] = rows;
  vitc_node *matched[3] = {&g->nodes[reader[y]], &g->nodes[i], &g->nodes[g->tensors[n->in[0]].producer]};
  return vitc_rewrite(rw, matched, 3, VITC_OP_FusedGemm, in, n->nin, out, n->attrs, n->nattr, err);
}

vitc_status vitc_simplify_layout(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "simplify_layout", err);
  if (st != VITC_OK) return st;
  st = vitc_rewriter_sweep(&rw, false, visit_transpose, NULL, err);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, visit_gemm, NULL, err);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, visit_reshape, NULL, err);
  int *reader = st == VITC_OK ? vitc_last_readers(g) : NULL;
  if (st == VITC_OK && !reader) st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in simplify_layout", g->path);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, visit_gemm_output, reader, err);
  free(reader);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
