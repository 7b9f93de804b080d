/* absorb_row_padding — an Attention stops reading a padded copy of its tokens. Swin pads its token image
 * to whole windows before the qkv projection (torchvision pads after norm1), so a padded row of q, k and
 * v holds the projection of a zero row: its bias. The projection then runs on the unpadded rows, and the
 * Attention reads a padded row from that one constant row P (negative map entries, ir/ops/
 * fused_attention.c); the crop after the window reverse is already Ymap's dropped rows
 * (passes/absorb_attention_layout).
 *
 *     %p   = Pad(%x) {constant 0}             each row of %p a whole row of %x or zeros
 *     %qkv = R(%p, ..)                        R row-wise (vitc_match_row_operand on input 0)
 *     %y   = Attention(%qkv, %qkv, %qkv, bias, S, Qmap, Kmap, Vmap, Ymap)
 *                        ─→
 *     %r   = R(%x, ..)
 *     %y   = Attention(%r, %r, %r, bias, S, Qmap', Kmap', Vmap', Ymap, P = R(one zero row))
 *
 * A map entry e (row e / W of %qkv, column e % W) becomes row' · W + column when that row copies row' of
 * %x, and -1 - column when it is padding; every head's columns must stay inside the row. Q, K and V must
 * all be mapped onto the one %qkv, which nothing else reads, and %p must be read by R alone. The Pad is
 * constant with the value 0 (absent or a known 0), since P is R of a zero row, and pads whole rows only
 * (not the channels). */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, IN_KMAP, IN_VMAP, IN_YMAP, IN_PAD, NIN_PADDED };
enum { MAX_IN = 16 };

static bool is_f32(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32;
}

/* Whether the elements Pad node p makes up (not copied from its input) are zeros. */
static bool pads_with_zero(const vitc_graph *g, const vitc_node *p) {
  if (strcmp(vitc_attr_str(p, "mode", "constant"), "constant")) return false;
  return p->nin < 3 || p->in[2] < 0 || vitc_match_scalar(g, p->in[2], 0.0);
}

/* row[r] = the row of x that row r of p (width w) copies whole, or -1 for a row of pad values; *fits
 * false when some row is neither, or no row is padding. */
static vitc_status source_rows(const vitc_graph *g, int x, int p, int64_t w, int64_t *row, bool *fits,
                               vitc_error *err) {
  int64_t *o = NULL, rows = vitc_numel(&g->tensors[p].v) / w;
  vitc_status st = vitc_probe_origins(g, x, p, &o, err);
  bool padded = false;
  *fits = st == VITC_OK && o;
  for (int64_t r = 0; *fits && r < rows; r++) {
    const int64_t *e = o + r * w;
    row[r] = e[0] < 0 ? -1 : e[0] / w;
    padded |= e[0] < 0;
    for (int64_t c = 0; c < w && *fits; c++) *fits = e[0] < 0 ? e[c] < 0 : e[0] % w == 0 && e[c] == e[0] + c;
  }
  *fits &= padded;
  free(o);
  return st;
}

/* Map m (its entries read `span` elements from the row start: heads and a row) onto %x's rows: false
 * when some entry's elements leave their row of %qkv. */
static bool remap(const vitc_value *m, const int64_t *row, int64_t w, int64_t span, int64_t *out) {
  for (int64_t i = 0; i < vitc_numel(m); i++) {
    int64_t e = ((const int64_t *)m->data)[i], r = e / w, c = e % w;
    if (e < 0 || c + span > w) return false;
    out[i] = row[r] < 0 ? -1 - c : row[r] * w + c;
  }
  return true;
}

/* P: R (node ri) evaluated on one zero row of k elements, as a [w] constant; -1 with err set when that fails. */
static int zero_row_image(vitc_rewriter *rw, int ri, int64_t k, int64_t w, vitc_error *err) {
  const vitc_graph *g = rw->g;
  const vitc_node *r = &g->nodes[ri];
  float *zeros = calloc((size_t)k, sizeof(float));
  if (!zeros) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_row_padding", g->path), -1;
  vitc_value zero = {.dtype = VITC_F32, .rank = 2, .dims = {1, k}, .data = zeros}, out = {0};
  const vitc_value *in[MAX_IN];
  for (int j = 0; j < r->nin; j++) in[j] = j == 0 ? &zero : r->in[j] >= 0 ? &g->tensors[r->in[j]].v : NULL;
  int t = -1;
  if (vitc_eval_node(g, r, in, &out, err) == VITC_OK) {
    vitc_value row = {.dtype = VITC_F32, .rank = 1, .dims = {w}, .data = out.data};
    t = vitc_numel(&out) == w ? vitc_rewrite_constant(rw, g->tensors[r->out[0]].name, "pad_row", &row, err)
                              : (vitc_fail(err, VITC_ERR_INTERNAL, "%s: a zero row through node '%s' is not one row",
                                           g->path, r->name), -1);
  }
  free(out.data);
  free(zeros);
  return t;
}

/* The Attention's inputs with Q, K, V read from `unpadded` through maps[] and P the projection of a zero
 * row: new constants; the status of what failed. */
static vitc_status unpadded_inputs(vitc_rewriter *rw, int i, int ri, int x, int64_t k, int64_t w, int64_t *const *maps,
                                   int *in, vitc_error *err) {
  static const char *const suffix[] = {"Qmap_unpadded", "Kmap_unpadded", "Vmap_unpadded"};
  vitc_graph *g = rw->g;
  const vitc_node *r = &g->nodes[ri];
  int rin[MAX_IN], map_t[3], out = g->nodes[i].out[0];
  for (int m = 0; m < 3; m++) map_t[m] = g->nodes[i].in[IN_QMAP + m];
  memcpy(rin, r->in, sizeof(int) * (size_t)r->nin);
  rin[0] = x;
  vitc_value type = g->tensors[x].v;
  type.dims[type.rank - 1] = w;
  type.data = NULL;
  int unpadded = vitc_rewrite_node(rw, r->op, rin, r->nin, &type, r->attrs, r->nattr, g->tensors[r->out[0]].name,
                                   "unpadded", err);
  if (unpadded < 0 || (in[IN_PAD] = zero_row_image(rw, ri, k, w, err)) < 0) return err->status;
  for (int m = 0; m < 3; m++) {
    const vitc_value *mv = &g->tensors[map_t[m]].v;
    vitc_value map = {.dtype = VITC_I64, .rank = 2, .dims = {mv->dims[0], mv->dims[1]}, .data = maps[m]};
    in[IN_Q + m] = unpadded;
    if ((in[IN_QMAP + m] = vitc_rewrite_constant(rw, g->tensors[out].name, suffix[m], &map, err)) < 0) return err->status;
  }
  return VITC_OK;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  const vitc_node *n = &g->nodes[i];
  if (n->op != VITC_OP_Attention || n->nin != IN_PAD || !is_f32(g, n->out[0])) return VITC_OK;
  int qkv = n->in[IN_Q];
  for (int x = IN_Q; x <= IN_V; x++)
    if (n->in[x] != qkv || n->in[IN_QMAP + x] < 0 || !vitc_match_known(g, n->in[IN_QMAP + x])) return VITC_OK;
  if (qkv >= rw->counted || rw->uses[qkv] != 3 || !is_f32(g, qkv) || g->tensors[qkv].producer < 0) return VITC_OK;
  int ri = g->tensors[qkv].producer;
  const vitc_node *r = &g->nodes[ri];
  if (r->nout != 1 || r->nin > MAX_IN || vitc_match_row_operand(g, r) != 0) return VITC_OK;
  const vitc_node *pad = vitc_match_inner(rw, r->in[0], VITC_OP_Pad, 1);
  int x = pad ? pad->in[0] : -1;
  if (!pad || !pads_with_zero(g, pad) || !is_f32(g, x) || !is_f32(g, r->in[0])) return VITC_OK;
  const vitc_value *xv = &g->tensors[x].v, *qv = &g->tensors[qkv].v;
  int64_t k = xv->dims[xv->rank - 1], w = qv->dims[qv->rank - 1], rows = vitc_numel(qv) / w;
  if (xv->rank < 2 || g->tensors[r->in[0]].v.dims[xv->rank - 1] != k) return VITC_OK;
  int len, heads = (int)vitc_attr_int(n, "heads", 1);
  const int64_t *hs = vitc_attr_ints(n, "head_strides", &len);
  int64_t d = vitc_attr_int(n, "head_dim", 0), cols[3] = {d, d, vitc_attr_int(n, "value_dim", 0)};
  if (!hs || len != 4) return VITC_OK;
  int64_t *row = malloc(sizeof(int64_t) * (size_t)rows), *maps[3] = {NULL, NULL, NULL};
  bool fits = false;
  vitc_status st = row ? source_rows(g, x, r->in[0], k, row, &fits, err)
                       : vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_row_padding", g->path);
  for (int m = 0; m < 3 && fits && st == VITC_OK; m++) {
    const vitc_value *mv = &g->tensors[n->in[IN_QMAP + m]].v;
    if (!(maps[m] = malloc(sizeof(int64_t) * (size_t)(vitc_numel(mv) + 1))))
      st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_row_padding", g->path);
    else fits = remap(mv, row, w, (heads - 1) * hs[m] + cols[m], maps[m]);
  }
  int in[NIN_PADDED];
  for (int j = 0; j < NIN_PADDED; j++) in[j] = j < n->nin ? n->in[j] : -1;
  int pi = g->tensors[r->in[0]].producer;
  if (st == VITC_OK && fits) st = unpadded_inputs(rw, i, ri, x, k, w, maps, in, err);
  if (st == VITC_OK && fits) { /* node pointers moved with the nodes added */
    vitc_node *matched[3] = {&g->nodes[i], &g->nodes[ri], &g->nodes[pi]};
    const char *name = matched[0]->name;
    st = vitc_rewrite(rw, matched, 3, VITC_OP_Attention, in, NIN_PADDED, matched[0]->out[0], matched[0]->attrs,
                      matched[0]->nattr, err);
    if (st == VITC_OK) g->nodes[g->nnodes - 1].name = name;
  }
  for (int m = 0; m < 3; m++) free(maps[m]);
  free(row);
  return st;
}

vitc_status vitc_absorb_row_padding(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "absorb_row_padding", false, visit, NULL, err);
}
