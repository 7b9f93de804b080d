/* fuse_gemm_epilogue — a linear layer and the elementwise steps after it become one vitc.FusedGemm, whose
 * kernel applies them to the accumulator tile before storing it (no extra pass over memory); a
 * channels-last depthwise conv takes its activation, and a Conv its activation and residual, likewise
 * (at the end of this file):
 *
 *     %p = MatMul(%a, W)                 W known [K, N], %a [.., M, K]
 *        | Gemm(%a, W) {transB}          (%a 2-D, alpha 1, no transA; W' = Wᵀ when transB)
 *        | Gemm(%a, W, C)                C known, one per column, beta 1: the bias
 *     %q = Add(%p, b)                    b known, N values along the last dim ([N], [1, N], [1, 1, N])
 *     %r = Relu(%q) | Gelu(%q) | Silu(%q)  Gelu {approximate none → gelu_erf, tanh → gelu_tanh}; vitc.Silu
 *                                        (passes/recompose_gelu: x·σ(x), MobileViT's and EfficientNet's)
 *     %s = Mul(%r, γ)                    γ known, N values along the last dim (LayerScale, ConvNeXt, CaiT)
 *     %v = Reshape(%s) | Transpose(%s)   up to 4 views that only regroup rows: the last dim stays and
 *                                        the elements keep their order (a Transpose moves dims of size 1)
 *     %y = Add(%v, %x)                   %x of %y's shape (the residual), or of its shape with leading
 *                                        dims 1 (repeated: a [1, T, C] position embedding at batch N)
 *                                 ─→  %y = FusedGemm(%a', W', b, %x, γ) {activation}
 *
 * Views are taken only on the way to the residual (ViT's attention out-projection: Reshape → Gemm →
 * Reshape → Transpose → Add); %a' is then %a viewed with %y's leading dims — the input of %a's Reshape
 * when it already has them, else a new Reshape of it.
 *
 * Every step after the product is optional, but each tensor between them must be read once, by the
 * next step: the chain stops at the first step that does not fit, and what it matched so far still
 * fuses. Float32 only. Bias and γ get new [N] constants when they are spelled with leading 1s. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { MAX_VIEWS = 4 };

typedef struct gemm_chain {
  vitc_node *nodes[5 + MAX_VIEWS];
  int nnodes;
  int a, w, bias, residual, gamma;
  bool transpose_w;
  const char *activation;
  int out; /* the last matched step's output */
} gemm_chain;

static bool is_f32(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32; }

/* A known f32 value along y's last dim, 1 along every other, no higher in rank than y: a bias or γ. */
static bool is_channel_vector(const vitc_graph *g, int t, int y) {
  return is_f32(g, y) && vitc_match_channel_constant(g, t, &g->tensors[y].v, g->tensors[y].v.rank - 1);
}

/* The one live node reading t (when t is read once), else NULL. */
static vitc_node *only_reader(const vitc_rewriter *rw, const int *reader, int t) {
  if (t < 0 || t >= rw->counted || rw->uses[t] != 1 || reader[t] < 0) return NULL;
  vitc_node *n = &rw->g->nodes[reader[t]];
  return n->dead ? NULL : n;
}

/* The epilogue activation n computes ("relu", "gelu_erf", "gelu_tanh", "silu"), or NULL. */
static const char *activation_name(const vitc_node *n) {
  if (n->op == VITC_OP_Relu) return "relu";
  if (n->op == VITC_OP_Silu) return "silu";
  if (n->op != VITC_OP_Gelu) return NULL;
  return !strcmp(vitc_attr_str(n, "approximate", "none"), "tanh") ? "gelu_tanh" : "gelu_erf";
}

/* The product: MatMul(%a, W) or a Gemm the kernel can take as it is (bias included). */
static bool match_product(const vitc_graph *g, vitc_node *n, gemm_chain *c) {
  *c = (gemm_chain){.nodes = {n}, .nnodes = 1, .bias = -1, .residual = -1, .gamma = -1, .activation = "none"};
  if (n->nout != 1 || !is_f32(g, n->in[0]) || !is_f32(g, n->in[1]) || !vitc_match_known(g, n->in[1])) return false;
  const vitc_value *a = &g->tensors[n->in[0]].v, *w = &g->tensors[n->in[1]].v;
  c->a = n->in[0];
  c->w = n->in[1];
  c->out = n->out[0];
  if (w->rank != 2 || a->rank < 2) return false;
  if (n->op == VITC_OP_MatMul) return true;
  if (n->op != VITC_OP_Gemm || vitc_attr_int(n, "transA", 0) || vitc_attr_float(n, "alpha", 1.0) != 1.0) return false;
  c->transpose_w = vitc_attr_int(n, "transB", 0) != 0;
  if (n->nin < 3 || n->in[2] < 0) return true;
  if (vitc_attr_float(n, "beta", 1.0) != 1.0 || !is_channel_vector(g, n->in[2], c->out)) return false;
  c->bias = n->in[2];
  return true;
}

/* Appends step n to the chain; returns the next step's candidate. */
static vitc_node *take(const vitc_rewriter *rw, const int *reader, gemm_chain *c, vitc_node *n) {
  c->nodes[c->nnodes++] = n;
  c->out = n->out[0];
  return only_reader(rw, reader, c->out);
}

/* Whether n reads t as a Reshape or Transpose that only regroups rows: the last dim stays, and the
 * elements keep their order (a Reshape always does; a Transpose when the dims it moves are all 1). */
static bool is_row_view(const vitc_graph *g, const vitc_node *n, int t) {
  if ((n->op != VITC_OP_Reshape && n->op != VITC_OP_Transpose) || n->nout != 1 || n->in[0] != t) return false;
  if (!is_f32(g, t) || !is_f32(g, n->out[0])) return false;
  const vitc_value *x = &g->tensors[t].v, *y = &g->tensors[n->out[0]].v;
  if (x->rank < 1 || y->rank < 1 || x->dims[x->rank - 1] != y->dims[y->rank - 1]) return false;
  return n->op == VITC_OP_Reshape || vitc_match_order_keeping_transpose(g, n);
}

/* Extends the chain past the product as far as the steps fit; the bias and γ steps only when `affine`. */
static void match_epilogue(const vitc_rewriter *rw, const int *reader, gemm_chain *c, bool affine) {
  const vitc_graph *g = rw->g;
  int64_t cols = g->tensors[c->out].v.dims[g->tensors[c->out].v.rank - 1];
  vitc_node *n = only_reader(rw, reader, c->out);
  if (affine && c->bias < 0 && n && n->op == VITC_OP_Add && is_channel_vector(g, vitc_match_other(n, c->out), c->out)) {
    c->bias = vitc_match_other(n, c->out);
    n = take(rw, reader, c, n);
  }
  if (n && activation_name(n)) {
    c->activation = activation_name(n);
    n = take(rw, reader, c, n);
  }
  if (affine && n && n->op == VITC_OP_Mul && is_channel_vector(g, vitc_match_other(n, c->out), c->out)) {
    c->gamma = vitc_match_other(n, c->out);
    n = take(rw, reader, c, n);
  }
  vitc_node *views[MAX_VIEWS];
  int nviews = 0, v = c->out;
  while (n && nviews < MAX_VIEWS && is_row_view(g, n, v)) {
    views[nviews++] = n;
    v = n->out[0];
    n = only_reader(rw, reader, v);
  }
  if (!n || n->op != VITC_OP_Add) return;
  int x = vitc_match_other(n, v);
  if (x < 0 || x == v || !vitc_match_same_type(g, v, n->out[0]) || !vitc_match_repeats(g, x, v, cols)) return;
  for (int k = 0; k < nviews; k++) take(rw, reader, c, views[k]);
  c->residual = x;
  take(rw, reader, c, n);
}

/* *out = t, or a new [N] constant with its values when t is spelled with leading 1s. */
static vitc_status as_vector(vitc_rewriter *rw, int t, const char *suffix, int *out, vitc_error *err) {
  *out = t;
  if (t < 0 || rw->g->tensors[t].v.rank == 1) return VITC_OK;
  const vitc_value *v = &rw->g->tensors[t].v;
  vitc_value flat = {.dtype = VITC_F32, .rank = 1, .dims = {v->dims[v->rank - 1]}, .data = v->data};
  *out = vitc_rewrite_constant(rw, rw->g->tensors[t].name, suffix, &flat, err);
  return *out < 0 ? VITC_ERR_NOMEM : VITC_OK;
}

/* *out = W, or a new constant holding Wᵀ. */
static vitc_status oriented_weight(vitc_rewriter *rw, const gemm_chain *c, int *out, vitc_error *err) {
  *out = c->w;
  if (!c->transpose_w) return VITC_OK;
  const vitc_value *v = &rw->g->tensors[c->w].v;
  int64_t rows = v->dims[0], cols = v->dims[1];
  float *data = malloc(sizeof(float) * (size_t)(rows * cols + 1));
  if (!data) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory transposing a Gemm weight", rw->g->path);
  enum { TILE = 16 }; /* rows a pass: each write fills a cache line, not one float of it (ViT-B/16's weights
                       * transposed element by element were most of this pass); W may be read in place,
                       * unaligned (ir.h) */
  for (int64_t i0 = 0; i0 < rows; i0 += TILE)
    for (int64_t j = 0; j < cols; j++)
      for (int64_t i = i0; i < rows && i < i0 + TILE; i++) data[j * rows + i] = vitc_f32_at(v->data, i * cols + j);
  vitc_value t = {.dtype = VITC_F32, .rank = 2, .dims = {cols, rows}, .data = data};
  *out = vitc_rewrite_constant(rw, rw->g->tensors[c->w].name, "T", &t, err);
  free(data);
  return *out < 0 ? VITC_ERR_NOMEM : VITC_OK;
}

static bool same_dims(const vitc_value *a, const vitc_value *b) {
  return a->rank == b->rank && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

/* A with the chain output's leading dims, which differ from A's after views: *out = A itself, or the
 * input of A's Reshape when that has them. Otherwise *out is a new tensor and view_in[2] the inputs of
 * the Reshape that must compute it (view_in[0] is -1 when none is needed). */
static vitc_status rows_as_output(vitc_rewriter *rw, const gemm_chain *c, int *out, int *view_in, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_value want = g->tensors[c->a].v;
  const vitc_value *y = &g->tensors[c->out].v;
  want.rank = y->rank;
  memcpy(want.dims, y->dims, sizeof(int64_t) * (size_t)y->rank);
  want.dims[want.rank - 1] = g->tensors[c->a].v.dims[g->tensors[c->a].v.rank - 1];
  want.data = NULL;
  *out = c->a;
  view_in[0] = -1;
  if (same_dims(&g->tensors[c->a].v, &want)) return VITC_OK;
  const vitc_node *p = vitc_match_op(rw, c->a, VITC_OP_Reshape);
  int src = p ? p->in[0] : c->a;
  *out = src;
  if (same_dims(&g->tensors[src].v, &want)) return VITC_OK;
  const char *base = g->tensors[c->out].name;
  vitc_value shape = {.dtype = VITC_I64, .rank = 1, .dims = {want.rank}, .data = want.dims};
  int s = vitc_rewrite_constant(rw, base, "rows_shape", &shape, err);
  if (s < 0) return VITC_ERR_NOMEM;
  char name[512];
  snprintf(name, sizeof name, "%s.rows", base);
  int t = vitc_graph_add_tensor(g, name);
  if (t < 0) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for tensor '%s'", g->path, name);
  g->tensors[t].v = want;
  g->tensors[t].shape_known = true;
  view_in[0] = src;
  view_in[1] = s;
  *out = t;
  return VITC_OK;
}

static vitc_status rewrite_as(vitc_rewriter *rw, const gemm_chain *c, vitc_op op, const int *in, int nin,
                              const int *view_in, vitc_error *err);

static vitc_status rewrite(vitc_rewriter *rw, const gemm_chain *c, vitc_error *err) {
  int in[5] = {-1, -1, -1, c->residual, -1}, nin = 5, view_in[2];
  vitc_status st = rows_as_output(rw, c, &in[0], view_in, err);
  if (st == VITC_OK) st = oriented_weight(rw, c, &in[1], err);
  if (st == VITC_OK) st = as_vector(rw, c->bias, "bias", &in[2], err);
  if (st == VITC_OK) st = as_vector(rw, c->gamma, "gamma", &in[4], err);
  if (st != VITC_OK) return st;
  while (nin > 2 && in[nin - 1] < 0) nin--;
  return rewrite_as(rw, c, VITC_OP_FusedGemm, in, nin, view_in, err);
}

/* The chain becomes one node of op `op` reading in[0..nin) (in[0]: rows_as_output's), then the Reshape
 * rows_as_output asked for, if any. */
static vitc_status rewrite_as(vitc_rewriter *rw, const gemm_chain *c, vitc_op op, const int *in, int nin,
                              const int *view_in, vitc_error *err) {
  vitc_attr act = {.name = "activation", .type = VITC_ATTR_STRING, .s = c->activation};
  vitc_status st = vitc_rewrite(rw, c->nodes, c->nnodes, op, in, nin, c->out, &act, 1, err);
  if (st != VITC_OK || view_in[0] < 0) return st;
  /* after the rewrite: adding a node moves the nodes c points to */
  if (vitc_graph_add_node(rw->g, VITC_OP_Reshape, rw->g->tensors[in[0]].name, view_in, 2, &in[0], 1, NULL, 0) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding Reshape", rw->g->path);
  return VITC_OK;
}

/* An int8 GEMM (passes/fuse_qdq) takes the activation and the residual after it the same way; its own
 * bias and post-bias stay, and a bias or γ after it is not joined (the chain stops there):
 *     %p = Int8Gemm(%a, ..) {no activation}        ─→  %y = Int8Gemm(%a', .., %x) {activation}
 *     %r = Relu(%p) | Gelu | Silu   optional                  (input 9: the residual)
 *     %v = Reshape(%r) | ..         up to 4 row views, then
 *     %y = Add(%v, %x)              optional: the residual */
static vitc_status fuse_int8_epilogue(vitc_rewriter *rw, const int *reader, vitc_node *n, vitc_error *err) {
  if (n->nin > 9 || n->nattr || !is_f32(rw->g, n->out[0])) return VITC_OK;
  gemm_chain c = {.nodes = {n}, .nnodes = 1, .a = n->in[0], .w = -1, .bias = -1, .residual = -1, .gamma = -1,
                  .activation = "none", .out = n->out[0]};
  match_epilogue(rw, reader, &c, false);
  if (c.nnodes == 1) return VITC_OK;
  int in[10], view_in[2];
  for (int k = 0; k < 9; k++) in[k] = k < n->nin ? n->in[k] : -1;
  in[9] = c.residual;
  vitc_status st = rows_as_output(rw, &c, &in[0], view_in, err);
  return st != VITC_OK ? st : rewrite_as(rw, &c, VITC_OP_Int8Gemm, in, c.residual >= 0 ? 10 : n->nin, view_in, err);
}

/* A channels-last depthwise conv takes the activation after it the same way, also across views that
 * keep the element order (PVT v2's MLP: the conv's image back to tokens, then GELU), which then read
 * the activated result; so does a PatchConvNHWC (MaxViT's and TinyViT's stems: 3x3 conv, then GELU):
 *     %c = DepthwiseConvNHWC(%x, W, b) {activation "none"}   ─→  %y = DepthwiseConvNHWC(%x, W, b) {activation}
 *     %v = Reshape(%c) | ..                  up to 4 row views                  %z = Reshape(%y', shape of %z)
 *     %z = Relu(%v) | Gelu | Silu(%v)        (each tensor read by the next step only) */
static vitc_status fuse_nhwc_conv_activation(vitc_rewriter *rw, const int *reader, vitc_node *n, vitc_error *err) {
  vitc_node *matched[2 + MAX_VIEWS] = {n}, *act = only_reader(rw, reader, n->out[0]);
  int nmatched = 1, v = n->out[0];
  while (act && nmatched <= MAX_VIEWS && is_row_view(rw->g, act, v)) {
    matched[nmatched++] = act;
    act = only_reader(rw, reader, v = act->out[0]);
  }
  if (strcmp(vitc_attr_str(n, "activation", "none"), "none") || n->nin > 3 || !act || !activation_name(act) || act->in[0] != v ||
      n->nattr >= 8)
    return VITC_OK;
  matched[nmatched++] = act;
  vitc_attr attrs[8];
  memcpy(attrs, n->attrs, sizeof(vitc_attr) * (size_t)n->nattr);
  attrs[n->nattr] = (vitc_attr){.name = "activation", .type = VITC_ATTR_STRING, .s = activation_name(act)};
  int in[3] = {n->in[0], n->in[1], n->nin > 2 ? n->in[2] : -1};
  if (nmatched == 2)
    return vitc_rewrite(rw, matched, 2, n->op, in, n->nin, act->out[0], attrs, n->nattr + 1, err);
  /* adding nodes and tensors moves them: keep indices and the output's dims */
  int at[2 + MAX_VIEWS], out = act->out[0];
  for (int k = 0; k < nmatched; k++) at[k] = (int)(matched[k] - rw->g->nodes);
  int64_t dims[VITC_MAX_RANK];
  vitc_value shape = {.dtype = VITC_I64, .rank = 1, .dims = {rw->g->tensors[out].v.rank}, .data = dims};
  memcpy(dims, rw->g->tensors[out].v.dims, sizeof(int64_t) * (size_t)shape.dims[0]);
  vitc_value type = rw->g->tensors[n->out[0]].v;
  const char *name = n->name;
  int view[2] = {vitc_rewrite_node(rw, n->op, in, in[2] >= 0 ? 3 : 2, &type, attrs, n->nattr + 1,
                                   name, "activated", err), -1};
  if (view[0] < 0 || (view[1] = vitc_rewrite_constant(rw, name, "activated_shape", &shape, err)) < 0)
    return VITC_ERR_NOMEM;
  for (int k = 0; k < nmatched; k++) matched[k] = &rw->g->nodes[at[k]];
  return vitc_rewrite(rw, matched, nmatched, VITC_OP_Reshape, view, 2, out, NULL, 0, err);
}

/* A float32 Conv that stays a Conv takes its activation and residual, as FusedConv:
 *     %c = Conv(%x, W, b)                   W (and b) known
 *     %r = Relu(%c) | Gelu | Silu(%c)       optional
 *     %y = Add(%r, %z)                      optional: %z of %y's shape, computed before the Conv (so it
 *                                           cannot depend on it)
 *                                     ─→  %y = FusedConv(%x, W, b, %z) {Conv's attributes, activation}
 * At least one step must follow the Conv; each tensor between them is read by the next step only. */
static vitc_status fuse_conv(vitc_rewriter *rw, const int *reader, int i, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_node *n = &g->nodes[i], *matched[3] = {n};
  int nmatched = 1, out = n->out[0], z = -1;
  if (!is_f32(g, n->in[0]) || !is_f32(g, out) || !vitc_match_known(g, n->in[1]) || n->nattr >= 8) return VITC_OK;
  if (n->nin > 2 && n->in[2] >= 0 && !vitc_match_known(g, n->in[2])) return VITC_OK;
  const char *act = "none";
  vitc_node *next = only_reader(rw, reader, out);
  if (next && activation_name(next) && next->in[0] == out) {
    act = activation_name(next);
    matched[nmatched++] = next;
    next = only_reader(rw, reader, out = next->out[0]);
  }
  int other = next && next->op == VITC_OP_Add ? vitc_match_other(next, out) : -1;
  int maker = other >= 0 ? g->tensors[other].producer : -1;
  if (other >= 0 && other != out && vitc_match_same_type(g, other, next->out[0]) && maker < i) {
    z = other;
    matched[nmatched++] = next;
    out = next->out[0];
  }
  if (nmatched == 1) return VITC_OK;
  vitc_attr attrs[8];
  memcpy(attrs, n->attrs, sizeof(vitc_attr) * (size_t)n->nattr);
  attrs[n->nattr] = (vitc_attr){.name = "activation", .type = VITC_ATTR_STRING, .s = act};
  int in[4] = {n->in[0], n->in[1], n->nin > 2 ? n->in[2] : -1, z};
  return vitc_rewrite(rw, matched, nmatched, VITC_OP_FusedConv, in, z >= 0 ? 4 : n->nin, out, attrs, n->nattr + 1,
                      err);
}

/* ctx: the reader of each tensor (vitc_last_readers). */
static vitc_status visit(vitc_rewriter *rw, int i, void *reader, vitc_error *err) {
  vitc_node *n = &rw->g->nodes[i];
  gemm_chain c;
  if (n->op == VITC_OP_DepthwiseConvNHWC || n->op == VITC_OP_PatchConvNHWC)
    return fuse_nhwc_conv_activation(rw, reader, n, err);
  if (n->op == VITC_OP_Conv) return fuse_conv(rw, reader, i, err);
  if (n->op == VITC_OP_Int8Gemm) return fuse_int8_epilogue(rw, reader, n, err);
  if ((n->op != VITC_OP_MatMul && n->op != VITC_OP_Gemm) || !match_product(rw->g, n, &c)) return VITC_OK;
  match_epilogue(rw, reader, &c, true);
  return c.nnodes > 1 ? rewrite(rw, &c, err) : VITC_OK;
}

vitc_status vitc_fuse_gemm_epilogue(vitc_graph *g, vitc_error *err) {
  int *reader = vitc_last_readers(g);
  if (!reader) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in fuse_gemm_epilogue", g->path);
  vitc_status st = vitc_rewrite_each_node(g, "fuse_gemm_epilogue", false, visit, reader, err);
  free(reader);
  return st;
}
