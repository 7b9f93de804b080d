/* fuse_attention — scaled dot-product attention becomes one vitc.Attention, whose kernel streams the
 * scores of one query row at a time and never writes the [.., N, N] tensor:
 *
 *     %q' = Mul(%q, c) | Div(%q, c)         optional, c a known scalar (also on K, before or after %kt)
 *     %q" = F.normalize(%q', dim=-1)        optional, on Q and K both (cosine attention, XCiT's XCA), below
 *     %kt = Transpose(%k) {perm swaps the last two dims}   or any %kt [.., D, Nk]
 *     %s  = MatMul(%q", %kt)
 *     %s' = Mul(%s, c) | Div(%s, c)         optional, c a known scalar; or Mul(%s, %S), %S known and
 *                                             constant along the key axis (Swin V2's per-head logit scale
 *                                             [H, 1, 1], its cosine attention's Q and K normalised before)
 *     %s" = Add(%s', %bias)                 optional, %bias broadcasting to %s' without growing it
 *     %w  = Reshape(%s")                    optional (Swin's shifted windows): [B*nW, H, N, N] → [B, nW, H, N, N],
 *     %w' = Add(%w, %mask)                    %mask known, and %bias known too; the Reshape keeps the last two
 *     %m  = Reshape(%w')                      dims and the second restores the shape of %s"
 *     %p  = Softmax(%s" | %m) {last axis}
 *     %y  = MatMul(%p, %v)
 *                              ─→  %y = Attention(%q, %k, %v, %bias, %S) {scale = Π c (1/c for Div)}
 *                                       k_transposed = 0 when the Transpose is absorbed, else 1 with %kt,
 *                                       normalize_qk = 1 when the normalisations are absorbed
 *
 * Channels-first attention (timm's Attention2d: CoAtNet's and CoAtNeXt's rw transformer stages, whose q,
 * k, v are [B, H, D, N] slices of a 1x1 conv's map) ends with the product transposed:
 *
 *     %pt = Transpose(%p) {perm swaps the last two dims}      %p the Softmax itself
 *     %yt = MatMul(%vt, %pt)                                   Yᵀ = Vᵀ Pᵀ
 *                              ─→  %yt = Transpose(Attention(.., Transpose(%vt), ..))
 *
 * the two Transposes [.., N, Dv] ⇄ [.., Dv, N] moving D·N elements where the unfused pieces wrote N² twice.
 *
 * F.normalize(x, dim=-1) is what torch exports, or ONNX's own op:
 *
 *     %n = ReduceL2(%x) {axes = [last], keepdims = 1}
 *     %c = Clip(%n, 1e-12)                  min only, eps exactly F.normalize's
 *     %e = Expand(%c, shape of %x)          optional
 *     %u = Div(%x, %e | %c)                 or  %u = LpNormalization(%x) {axis = last, p = 2}
 *
 * normalize_qk divides by max(‖row‖₂, 1e-12); LpNormalization has no eps, so the two differ only on an
 * all-zero row, where LpNormalization divides 0 by 0. Q and K are both normalised or neither is absorbed,
 * and K's normalisation only when the Transpose is absorbed (normalize_qk works on K's rows, not Kᵀ's).
 *
 * Nq and Nk are free: class attention (CaiT, XCiT: Q is the class token alone, Nq = 1) and spatial-
 * reduction attention (PVT: K and V from the tokens pooled by a strided conv, Nk < Nq) match as they are.
 * XCiT's cross-covariance attention runs over channels: its Q, K, V are [B, H, C/H, N] (the export's
 * head split transposes them), the normalisation is along the tokens and the temperature [H, 1, 1] is
 * %S; it is the pattern above with D = N.
 *
 * Talking-heads attention (CaiT) does not match and cannot stream: Linear layers over the head axis mix
 * the heads' scores before the softmax and their weights after it, so every head's row of scores must
 * exist before any softmax. It stays a sequence of the pieces other passes fuse:
 *
 *     MatMul(Q·c, Kᵀ) → Transpose to [B, N, N, H] → FusedGemm([H, H] + bias) → Transpose back
 *     → Softmax → Transpose → FusedGemm → Transpose → MatMul(·, V)
 *
 * With the window mask, %bias becomes one constant of the scores' shape, %bias + %mask read through the
 * Reshape (a reshape keeps the row-major order, so element i of %w' is element i of %m).
 *
 * A QDQ model (ORT's quantizer) rounds each operand of both products to a grid, a QuantizeLinear-
 * DequantizeLinear pair of one scale and zero point (int8 or uint8, per tensor) on %q", %kt (or %k), %v,
 * the scores before the Softmax and the probabilities after it:
 *
 *     %q" = DQ(Q(%q', s, z), s, z)    %kt = DQ(Q(%kt', ..))    %s" = DQ(Q(%s", ..))
 *     %p' = DQ(Q(%p, ..))             %y  = MatMul(%p', DQ(Q(%v, ..)))
 *                              ─→  Attention(..) {q_quant, k_quant, s_quant, p_quant, v_quant = [s, z, lo, hi]}
 *
 * Each grid is optional. The query's scale c (ViT: q / √D) sits inside its grid, so with q_quant the scale
 * attribute is c from below the Q pair alone and the kernel rounds scale·Q: a scalar on the query above
 * its pair, on the scores, or on K (either side of its pair) leaves the pattern alone, as does a scalar
 * inside K's pair; Q and K normalisations stay outside (are not absorbed) when either has a grid.
 *
 * Q, K and V must share rank and batch dims (no broadcasting inside the product), all float32. Every
 * tensor between them is read once, by the next node. The head split and merge (Reshape, Transpose)
 * around the pattern stay. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

typedef struct attn_match {
  vitc_node *nodes[32]; /* PV, Softmax, window Reshape-Add-Reshape, Add, scores scale, QK, Q scales, K scales
                           either side of Transpose, two normalisations of up to four nodes, five grids' pairs */
  int nnodes;
  int grid_scale[VITC_NGRIDS], grid_zp[VITC_NGRIDS]; /* each grid's scale and zero point, or -1 */
  int q, k, v, bias;
  int row_scale; /* %S, or -1 */
  int mask, windows, scores; /* with the window mask: %mask, %w (its shape) and %m (the bias's); else -1 */
  bool k_transposed, normalize_qk;
  bool v_transposed; /* the channels-first form: m->v is Vᵀ, the output Yᵀ (header) */
  double scale;
} attn_match;

static bool is_f32(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32; }

/* A known f32 tensor S whose last dim, if any, is 1: with t = Mul(x, S) keeping x's shape, one factor per
 * row of the scores. */
static bool is_row_scale(const vitc_graph *g, int s) {
  const vitc_value *v = &g->tensors[s].v;
  return vitc_match_known(g, s) && is_f32(g, s) && (v->rank == 0 || v->dims[v->rank - 1] == 1);
}

/* t = Mul(x, c) or Div(x, c) with c a known scalar, read once: folds c into m->scale, returns x. With
 * `rows` (t is the scores), also t = Mul(x, S), S a row scale: records S in m->row_scale, returns x.
 * Otherwise returns t. */
static int strip_scale(const vitc_rewriter *rw, int t, attn_match *m, bool rows) {
  vitc_node *n = vitc_match_inner(rw, t, VITC_OP_Mul, 1);
  if (!n) n = vitc_match_inner(rw, t, VITC_OP_Div, 1);
  if (!n) return t;
  double c;
  int x;
  if (n->op == VITC_OP_Div) {
    if (!vitc_match_scalar_value(rw->g, n->in[1], &c) || c == 0) return t;
    x = n->in[0];
    c = 1 / c;
  } else if (vitc_match_scalar_value(rw->g, n->in[1], &c)) {
    x = n->in[0];
  } else if (vitc_match_scalar_value(rw->g, n->in[0], &c)) {
    x = n->in[1];
  } else if (rows && m->row_scale < 0 && (is_row_scale(rw->g, n->in[1]) || is_row_scale(rw->g, n->in[0]))) {
    int s = is_row_scale(rw->g, n->in[1]) ? n->in[1] : n->in[0];
    x = vitc_match_other(n, s);
    if (!vitc_match_same_type(rw->g, x, t)) return t;
    m->row_scale = s;
    m->nodes[m->nnodes++] = n;
    return x;
  } else {
    return t;
  }
  if (!vitc_match_same_type(rw->g, x, t)) return t; /* the scalar must not broadcast x to a larger shape */
  m->scale *= c;
  m->nodes[m->nnodes++] = n;
  return x;
}

/* t = DQ(Q(x)) on one grid, read once: records it as grid `which` and returns x; otherwise returns t. */
static int strip_grid(const vitc_rewriter *rw, int t, attn_match *m, int which) {
  int x, s, z;
  if (!vitc_match_fake_quant(rw, t, 1, &x, &s, &z, m->nodes + m->nnodes) || !vitc_match_same_type(rw->g, x, t)) return t;
  m->nnodes += 2;
  m->grid_scale[which] = s;
  m->grid_zp[which] = z;
  return x;
}

/* t is Q·Kᵀ, possibly scaled, and read once: the scores rather than the bias of an Add. */
static bool leads_to_product(const vitc_rewriter *rw, int t) {
  attn_match probe = {.scale = 1, .row_scale = -1};
  return vitc_match_inner(rw, strip_scale(rw, t, &probe, true), VITC_OP_MatMul, 1) != NULL;
}

/* Q, K, V of one rank >= 2 with equal batch dims. */
static bool same_batch(const vitc_graph *g, const attn_match *m) {
  const vitc_value *q = &g->tensors[m->q].v, *k = &g->tensors[m->k].v, *v = &g->tensors[m->v].v;
  if (q->rank < 2 || k->rank != q->rank || v->rank != q->rank) return false;
  for (int d = 0; d < q->rank - 2; d++)
    if (k->dims[d] != q->dims[d] || v->dims[d] != q->dims[d]) return false;
  return true;
}

/* A Transpose exchanging the last two dims of a rank-r tensor and keeping the others. */
static bool swaps_last_two(const vitc_node *n, int rank) {
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  if (!perm || len != rank || rank < 2) return false;
  for (int d = 0; d < rank - 2; d++)
    if (perm[d] != d) return false;
  return perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
}

/* s = Reshape(Add(Reshape(x), mask)) with mask known f32, the inner Reshape keeping the last two dims
 * and the outer one restoring the shape of x, each tensor read once: records the mask, returns x.
 * Otherwise returns s. */
static int strip_window_mask(const vitc_rewriter *rw, int s, attn_match *m) {
  const vitc_graph *g = rw->g;
  vitc_node *merge = vitc_match_inner(rw, s, VITC_OP_Reshape, 1);
  vitc_node *add = merge ? vitc_match_inner(rw, merge->in[0], VITC_OP_Add, 1) : NULL;
  if (!add) return s;
  int w = vitc_match_op(rw, add->in[0], VITC_OP_Reshape) ? add->in[0] : add->in[1];
  int mask = vitc_match_other(add, w);
  vitc_node *split = vitc_match_inner(rw, w, VITC_OP_Reshape, 1);
  if (!split || !vitc_match_known(g, mask) || !is_f32(g, mask) || !vitc_match_same_type(g, split->in[0], s) ||
      !vitc_match_same_type(g, w, add->out[0]))
    return s;
  const vitc_value *sv = &g->tensors[s].v, *wv = &g->tensors[w].v;
  if (sv->rank < 2 || wv->rank < 2 || sv->dims[sv->rank - 1] != wv->dims[wv->rank - 1] ||
      sv->dims[sv->rank - 2] != wv->dims[wv->rank - 2])
    return s;
  m->mask = mask;
  m->windows = w;
  m->scores = s;
  m->nodes[m->nnodes++] = merge;
  m->nodes[m->nnodes++] = add;
  m->nodes[m->nnodes++] = split;
  return split->in[0];
}

/* Elements 0..count) of known f32 x broadcast right-aligned to dims[0..rank), in row-major order (dims[0]
 * wrapping around), stored into out[] or added to it. The offset in x follows an index counter: a
 * division per dim and element made this most of the pass on Swin-T's window masks. */
static void broadcast_into(const vitc_value *x, const int64_t *dims, int rank, int64_t count, bool add, float *out) {
  int64_t stride[VITC_MAX_RANK] = {0}, idx[VITC_MAX_RANK] = {0}, size = 1, off = 0;
  for (int d = rank - 1, e = x->rank - 1; d >= 0 && e >= 0; d--, e--) {
    stride[d] = x->dims[e] != 1 ? size : 0;
    size *= x->dims[e];
  }
  for (int64_t i = 0; i < count; i++) {
    float e = vitc_f32_at(x->data, off); /* x may be read in place, unaligned (ir.h) */
    out[i] = add ? out[i] + e : e;
    for (int d = rank - 1; d >= 0; d--) {
      off += stride[d];
      if (++idx[d] < dims[d]) break;
      off -= stride[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/* The period of x broadcast right-aligned to `to`, in elements of `to`: its first dim's stride when x
 * does not vary along that dim (one image of Swin's [B, nW, H, N, N] windows), else its whole count. */
static int64_t broadcast_period(const vitc_value *x, const vitc_value *to) {
  int64_t count = vitc_numel(to);
  return to->rank > 0 && to->dims[0] > 0 && (x->rank < to->rank || x->dims[0] == 1) ? count / to->dims[0] : count;
}

/* Adds the constant %bias + %mask of the shape of %m into *id; computed over one period (an image at
 * batch B) and repeated. */
static vitc_status window_bias(vitc_rewriter *rw, const attn_match *m, int *id, vitc_error *err) {
  const vitc_graph *g = rw->g;
  vitc_value v = g->tensors[m->scores].v;
  const vitc_value *w = &g->tensors[m->windows].v, *mask = &g->tensors[m->mask].v;
  float *data = malloc(vitc_nbytes(&v));
  if (!data) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for a window bias", g->path);
  int64_t count = vitc_numel(&v), period = broadcast_period(mask, w);
  if (m->bias >= 0 && period % broadcast_period(&g->tensors[m->bias].v, &v)) period = count;
  broadcast_into(mask, w->dims, w->rank, period, false, data);
  if (m->bias >= 0) broadcast_into(&g->tensors[m->bias].v, v.dims, v.rank, period, true, data);
  for (int64_t i = period; i < count; i += period) memcpy(data + i, data, sizeof(float) * (size_t)period);
  v.data = data;
  *id = vitc_rewrite_constant(rw, g->tensors[m->scores].name, "window_bias", &v, err);
  free(data);
  return *id < 0 ? VITC_ERR_NOMEM : VITC_OK;
}

static bool is_last_axis(int64_t axis, int rank) { return axis == -1 || axis == rank - 1; }

/* Whether reduction r keeps dims and reduces the last axis of its rank-`rank` input alone (its axes an
 * input: the frontend turns the attribute of older opsets into one; none means all axes). */
static bool reduces_last_axis(const vitc_graph *g, const vitc_node *r, int rank) {
  int a = r->nin > 1 ? r->in[1] : -1;
  if (!vitc_attr_int(r, "keepdims", 1) || !vitc_match_known(g, a) || vitc_dtype_is_float(g->tensors[a].v.dtype) ||
      vitc_numel(&g->tensors[a].v) != 1)
    return false;
  return is_last_axis(vitc_load_i(&g->tensors[a].v, 0), rank);
}

/* u = F.normalize(x, dim=-1) in either spelling (header), every tensor but x read once, x's type kept:
 * appends the nodes to m and returns x; otherwise returns -1 and leaves m. */
static int strip_normalize(const vitc_rewriter *rw, int u, attn_match *m) {
  const vitc_graph *g = rw->g;
  if (!is_f32(g, u)) return -1;
  int rank = g->tensors[u].v.rank;
  vitc_node *lp = vitc_match_inner(rw, u, VITC_OP_LpNormalization, 1);
  if (lp) {
    if (vitc_attr_int(lp, "p", 2) != 2 || !is_last_axis(vitc_attr_int(lp, "axis", -1), rank)) return -1;
    m->nodes[m->nnodes++] = lp;
    return lp->in[0];
  }
  vitc_node *div = vitc_match_inner(rw, u, VITC_OP_Div, 1);
  if (!div || !vitc_match_same_type(g, div->in[0], u)) return -1;
  int x = div->in[0], d = div->in[1];
  vitc_node *expand = vitc_match_inner(rw, d, VITC_OP_Expand, 1);
  if (expand && !vitc_match_same_type(g, d, x)) return -1;
  vitc_node *clip = vitc_match_inner(rw, expand ? expand->in[0] : d, VITC_OP_Clip, 1);
  if (!clip || clip->nin < 2 || !vitc_match_scalar(g, clip->in[1], 1e-12) || (clip->nin > 2 && clip->in[2] >= 0))
    return -1;
  vitc_node *norm = vitc_match_inner(rw, clip->in[0], VITC_OP_ReduceL2, 1);
  if (!norm || norm->in[0] != x || !reduces_last_axis(g, norm, rank)) return -1;
  m->nodes[m->nnodes++] = div;
  if (expand) m->nodes[m->nnodes++] = expand;
  m->nodes[m->nnodes++] = clip;
  m->nodes[m->nnodes++] = norm;
  return x;
}

/* Absorbs F.normalize on Q and on K's rows when both have it (header). */
static void strip_normalize_qk(const vitc_rewriter *rw, attn_match *m) {
  int nnodes = m->nnodes;
  int q = m->k_transposed ? -1 : strip_normalize(rw, m->q, m);
  int k = q >= 0 ? strip_normalize(rw, m->k, m) : -1;
  if (k < 0) {
    m->nnodes = nnodes;
    return;
  }
  m->q = q;
  m->k = k;
  m->normalize_qk = true;
}

/* The query side x = MatMul's first input, its grid and the scales either side (header): m->q. With a grid,
 * *inside receives the scale below its pair; false when a scale sits above it too. */
static bool strip_query(const vitc_rewriter *rw, int x, attn_match *m, double *inside) {
  double outer = m->scale;
  m->q = strip_grid(rw, strip_scale(rw, x, m, false), m, VITC_GRID_Q);
  *inside = 1;
  if (m->grid_scale[VITC_GRID_Q] < 0) return true;
  if (m->scale != outer) return false;
  m->scale = 1;
  m->q = strip_scale(rw, m->q, m, false);
  *inside = m->scale;
  m->scale = outer * *inside;
  return true;
}

/* The key side (MatMul's second input): its scale, its grid, its Transpose and the scales around it into
 * m->k; false when a scalar sits inside K's grid. */
static bool strip_key(const vitc_rewriter *rw, int x, attn_match *m) {
  const vitc_graph *g = rw->g;
  m->k = strip_grid(rw, strip_scale(rw, x, m, false), m, VITC_GRID_K);
  double outer = m->scale;
  m->scale = 1;
  m->k = strip_scale(rw, m->k, m, false);
  m->k_transposed = true;
  vitc_node *tr = vitc_match_inner(rw, m->k, VITC_OP_Transpose, 1);
  if (tr && swaps_last_two(tr, g->tensors[m->k].v.rank)) {
    m->nodes[m->nnodes++] = tr;
    m->k = strip_scale(rw, tr->in[0], m, false);
    m->k_transposed = false;
  }
  bool inside = m->scale != 1;
  m->scale *= outer;
  return !(inside && m->grid_scale[VITC_GRID_K] >= 0);
}

/* Matches the pattern ending at y = MatMul(%p, %v). */
static bool match_attention(const vitc_rewriter *rw, vitc_node *pv, attn_match *m) {
  const vitc_graph *g = rw->g;
  *m = (attn_match){.nodes = {pv}, .nnodes = 1, .bias = -1, .row_scale = -1, .mask = -1,
                     .windows = -1, .scores = -1, .scale = 1};
  for (int x = 0; x < VITC_NGRIDS; x++) m->grid_scale[x] = m->grid_zp[x] = -1;
  int p = pv->in[0], v = pv->in[1];
  vitc_node *pt = vitc_match_op(rw, p, VITC_OP_Softmax) ? NULL : vitc_match_inner(rw, v, VITC_OP_Transpose, 1);
  if (pt && swaps_last_two(pt, g->tensors[v].v.rank) && vitc_match_inner(rw, pt->in[0], VITC_OP_Softmax, 1)) {
    m->nodes[m->nnodes++] = pt;
    m->v_transposed = true;
    p = pt->in[0];
    v = pv->in[0];
  }
  m->v = strip_grid(rw, v, m, VITC_GRID_V);
  vitc_node *sm = vitc_match_inner(rw, strip_grid(rw, p, m, VITC_GRID_P), VITC_OP_Softmax, 1);
  if (!sm || !is_f32(g, sm->in[0])) return false;
  int rank = g->tensors[sm->in[0]].v.rank, axis = (int)vitc_attr_int(sm, "axis", -1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1) return false;
  m->nodes[m->nnodes++] = sm;
  int s = strip_window_mask(rw, strip_grid(rw, sm->in[0], m, VITC_GRID_S), m);
  vitc_node *add = vitc_match_inner(rw, s, VITC_OP_Add, 1);
  if (add) {
    int k = leads_to_product(rw, add->in[0]) ? 0 : 1;
    if (!leads_to_product(rw, add->in[k]) || !vitc_match_same_type(g, add->in[k], s) || !is_f32(g, add->in[1 - k]))
      return false;
    m->bias = add->in[1 - k];
    if (m->mask >= 0 && !vitc_match_known(g, m->bias)) return false;
    m->nodes[m->nnodes++] = add;
    s = add->in[k];
  }
  s = strip_scale(rw, s, m, true);
  vitc_node *qk = vitc_match_inner(rw, s, VITC_OP_MatMul, 1);
  if (!qk) return false;
  m->nodes[m->nnodes++] = qk;
  double inside_q;
  if (!strip_query(rw, qk->in[0], m, &inside_q) || !strip_key(rw, qk->in[1], m)) return false;
  if (m->grid_scale[VITC_GRID_Q] >= 0 && m->scale != inside_q) return false; /* a scale outside the query's grid */
  bool grids = false;
  for (int x = 0; x < VITC_NGRIDS; x++) grids |= m->grid_scale[x] >= 0;
  if (!grids) strip_normalize_qk(rw, m); /* nor fuse_channel_attention then, which has no grids */
  return is_f32(g, m->q) && is_f32(g, m->k) && is_f32(g, m->v) && same_batch(g, m);
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *n = &rw->g->nodes[i];
  attn_match m;
  if (n->op != VITC_OP_MatMul || !match_attention(rw, n, &m)) return VITC_OK;
  vitc_status st = m.mask >= 0 ? window_bias(rw, &m, &m.bias, err) : VITC_OK;
  if (st != VITC_OK) return st;
  int in[5] = {m.q, m.k, m.v, m.bias, m.row_scale};
  vitc_attr attrs[3 + VITC_NGRIDS] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = m.scale},
                                 {.name = "k_transposed", .type = VITC_ATTR_INT, .i = m.k_transposed},
                                 {.name = "normalize_qk", .type = VITC_ATTR_INT, .i = 1}};
  int nin = m.row_scale >= 0 ? 5 : m.bias >= 0 ? 4 : 3;
  int nattr = m.normalize_qk ? 3 : 2;
  double grids[VITC_NGRIDS][4];
  for (int x = 0; x < VITC_NGRIDS; x++) {
    if (m.grid_scale[x] < 0) continue;
    const vitc_value *z = &rw->g->tensors[m.grid_zp[x]].v;
    int64_t lo, hi;
    vitc_quant_range(z->dtype, &lo, &hi);
    grids[x][0] = vitc_load_f(&rw->g->tensors[m.grid_scale[x]].v, 0), grids[x][1] = (double)vitc_load_i(z, 0);
    grids[x][2] = (double)lo, grids[x][3] = (double)hi;
    attrs[nattr++] = (vitc_attr){.name = vitc_attention_grids[x], .type = VITC_ATTR_FLOATS, .n = 4, .floats = grids[x]};
  }
  int out = rw->g->nodes[i].out[0];
  if (!m.v_transposed) return vitc_rewrite(rw, m.nodes, m.nnodes, VITC_OP_Attention, in, nin, out, attrs, nattr, err);
  vitc_value vt = rw->g->tensors[m.v].v, y = rw->g->tensors[out].v;
  int64_t perm[VITC_MAX_RANK];
  for (int d = 0; d < vt.rank; d++) perm[d] = d;
  perm[vt.rank - 2] = vt.rank - 1, perm[vt.rank - 1] = vt.rank - 2;
  vitc_attr swap = {.name = "perm", .type = VITC_ATTR_INTS, .n = vt.rank, .ints = perm};
  vt.dims[vt.rank - 2] = rw->g->tensors[m.v].v.dims[vt.rank - 1], vt.dims[vt.rank - 1] = rw->g->tensors[m.v].v.dims[vt.rank - 2];
  y.dims[y.rank - 2] = rw->g->tensors[out].v.dims[y.rank - 1], y.dims[y.rank - 1] = rw->g->tensors[out].v.dims[y.rank - 2];
  const char *base = rw->g->tensors[out].name;
  if ((in[2] = vitc_rewrite_node(rw, VITC_OP_Transpose, &m.v, 1, &vt, &swap, 1, base, "attention_v", err)) < 0 ||
      (in[0] = vitc_rewrite_node(rw, VITC_OP_Attention, in, nin, &y, attrs, nattr, base, "attention", err)) < 0)
    return err->status;
  return vitc_rewrite(rw, m.nodes, m.nnodes, VITC_OP_Transpose, in, 1, out, &swap, 1, err);
}

vitc_status vitc_fuse_attention(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_attention", false, visit, NULL, err);
}
