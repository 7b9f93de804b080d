/* fold_batch_norm — an inference BatchNormalization folded into the Conv, MatMul or Gemm before it.
 *
 * With g = γ / √(σ² + ε) and h = β − μ·g per channel (BatchNormalization(%c, γ, β, μ, σ²) {ε}):
 *
 *     %c = Conv(%x, W, b)                                 %y = Conv(%x, W', b')
 *     %y = BatchNormalization(%c, …)               ─→        W'[m, …] = W[m, …] · g[m]
 *                                                            b'[m] = b[m] · g[m] + h[m]    (b absent: 0)
 *     %c = MatMul(%a, W)          %a 2-D                  %y = Gemm(%a, W', b')
 *     %c = Gemm(%a, W, C) {α, β, transA, transB}   ─→        W'[…, n] = α · W[…, n] · g[n]
 *     %y = BatchNormalization(%c, …)                         b'[n] = β · C[n] · g[n] + h[n]
 *                                                            {transA, transB}
 *
 * A BatchNormalization before a Conv folds into its input channels, exactly when no tap reads the padding
 * (the padding is 0 after the BatchNormalization, not h): MaxViT's MBConv pre-norm before its 1x1 conv.
 *
 *     %n = BatchNormalization(%x, …)               ─→     %y = Conv(%x, W', b')
 *     %y = Conv(%n, W, b)    no pads                         W'[m, j, k] = W[m, j, k] · g[c]
 *                                                            b'[m] = b[m] + Σ_{j,k} W[m, j, k] · h[c]
 *                                                            c = (m / Mg)·Cg + j, the input channel
 *
 * A Mul or Add by a known per-channel constant after a Conv (NCHW LayerScale, PoolFormer's and
 * EfficientFormer's; a bias added apart) folds in as a BatchNormalization after it would, so the residual
 * after it can join the Conv's epilogue (fuse_gemm_epilogue):
 *
 *     %c = Conv(%x, W, b)                                 %y = Conv(%x, W', b')
 *     %y = Mul(%c, γ) | Add(%c, β)                 ─→        g = γ, h = 0  |  g = 1, h = β
 *                                                            γ, β: C values along axis 1 of %c, 1 elsewhere
 *                                                            ([C, 1, 1] or [1, C, 1, 1]), either operand
 *
 * What folds into neither, passes/lower_batch_norm turns into its per-channel affine.
 *
 * The output channels are axis 1 of %c: W's first dim for a Conv, the columns of a 2-D product. W, b,
 * C and the BatchNormalization parameters must be known, C one value or one per column, and %c (or %n)
 * read by the BatchNormalization (the Conv) only. New constants hold the folded values: the old ones may
 * be read-only mappings of the model file, and may have other readers. */
#include <math.h>
#include <stdlib.h>

#include "passes/pattern.h"

/* Per-channel gain g and shift h of an inference BatchNormalization over `channels` channels. */
typedef struct bn_fold {
  int64_t channels;
  double *gain, *shift;
} bn_fold;

/* A known float tensor holding exactly `count` values (any shape, e.g. [C] or [1, C]). */
static bool is_known_vector(const vitc_graph *g, int t, int64_t count) {
  return vitc_match_known(g, t) && vitc_dtype_is_float(g->tensors[t].v.dtype) && vitc_numel(&g->tensors[t].v) == count;
}

bool vitc_match_batch_norm(const vitc_graph *g, const vitc_node *bn, int64_t channels) {
  if (bn->op != VITC_OP_BatchNormalization || vitc_attr_int(bn, "training_mode", 0) || bn->nout != 1) return false;
  for (int k = 1; k < 5; k++)
    if (!is_known_vector(g, bn->in[k], channels)) return false;
  return true;
}

double *vitc_batch_norm_affine(const vitc_graph *g, const vitc_node *bn, int64_t channels) {
  double *gain = malloc(sizeof(double) * 2 * (size_t)(channels ? channels : 1)), *shift = gain + channels;
  double eps = vitc_attr_float(bn, "epsilon", 1e-5);
  const vitc_value *gamma = &g->tensors[bn->in[1]].v, *beta = &g->tensors[bn->in[2]].v,
                   *mean = &g->tensors[bn->in[3]].v, *var = &g->tensors[bn->in[4]].v;
  for (int64_t c = 0; gain && c < channels; c++) {
    gain[c] = vitc_load_f(gamma, c) / sqrt(vitc_load_f(var, c) + eps);
    shift[c] = vitc_load_f(beta, c) - vitc_load_f(mean, c) * gain[c];
  }
  return gain;
}

static vitc_status bn_fold_init(const vitc_graph *g, const vitc_node *bn, int64_t channels, bn_fold *f,
                                vitc_error *err) {
  f->channels = channels;
  f->gain = vitc_batch_norm_affine(g, bn, channels);
  if (!f->gain) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding a BatchNormalization", g->path);
  f->shift = f->gain + channels;
  return VITC_OK;
}

/* g = γ, h = 0 for a Mul by γ; g = 1, h = β for an Add of β. */
static vitc_status affine_fold_init(const vitc_graph *g, const vitc_node *n, int constant, int64_t channels,
                                    bn_fold *f, vitc_error *err) {
  f->channels = channels;
  f->gain = malloc(sizeof(double) * 2 * (size_t)(channels ? channels : 1));
  if (!f->gain) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding a per-channel %s", g->path,
                                 vitc_ops[n->op].name);
  f->shift = f->gain + channels;
  for (int64_t c = 0; c < channels; c++) {
    double v = vitc_load_f(&g->tensors[constant].v, c);
    f->gain[c] = n->op == VITC_OP_Mul ? v : 1;
    f->shift[c] = n->op == VITC_OP_Mul ? 0 : v;
  }
  return VITC_OK;
}

/* W' = scale · W · g[channel], where element e of W belongs to channel (e / inner) % channels. */
static int add_scaled_weight(vitc_rewriter *rw, int w, const bn_fold *f, int64_t inner, double scale,
                             vitc_error *err) {
  const vitc_value *src = &rw->g->tensors[w].v;
  vitc_value v = *src;
  size_t bytes = vitc_nbytes(&v);
  if (!(v.data = malloc(bytes ? bytes : 1))) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding a BatchNormalization", rw->g->path);
    return -1;
  }
  for (int64_t e = 0; e < vitc_numel(&v); e++)
    vitc_store_f(&v, e, scale * vitc_load_f(src, e) * f->gain[e / inner % f->channels]);
  int id = vitc_rewrite_constant(rw, rw->g->tensors[w].name, "bn_folded", &v, err);
  free(v.data);
  return id;
}

/* b'[c] = scale · b[c] · g[c] + h[c], b one value per channel, one for all (numel 1), or absent (b < 0). */
static int add_folded_bias(vitc_rewriter *rw, int b, const bn_fold *f, double scale, vitc_dtype dtype,
                           const char *base, vitc_error *err) {
  vitc_value v = {.dtype = dtype, .rank = 1, .dims = {f->channels}};
  if (!(v.data = malloc(vitc_nbytes(&v) ? vitc_nbytes(&v) : 1))) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding a BatchNormalization", rw->g->path);
    return -1;
  }
  const vitc_value *bv = b >= 0 ? &rw->g->tensors[b].v : NULL;
  for (int64_t c = 0; c < f->channels; c++) {
    double old = bv ? vitc_load_f(bv, vitc_numel(bv) == 1 ? 0 : c) : 0;
    vitc_store_f(&v, c, scale * old * f->gain[c] + f->shift[c]);
  }
  int id = vitc_rewrite_constant(rw, base, "bn_bias", &v, err);
  free(v.data);
  return id;
}

/* What folding into producer p needs: the new node's op and attributes, which input is the weight,
 * how its elements map to channels, and the bias (or Gemm's C) with the factor it carries. */
typedef struct fold_plan {
  vitc_op op;
  int weight, bias;
  int64_t channels, inner;
  double weight_scale, bias_scale;
  vitc_attr attrs[2];
  const vitc_attr *keep; /* a Conv's attributes, kept as they are */
  int nattr;
} fold_plan;

static bool plan_conv(const vitc_graph *g, const vitc_node *p, fold_plan *fp) {
  const vitc_value *w = &g->tensors[p->in[1]].v;
  int bias = p->nin > 2 ? p->in[2] : -1;
  if (!vitc_match_known(g, p->in[1]) || w->rank < 1 || w->dims[0] == 0) return false;
  *fp = (fold_plan){.op = VITC_OP_Conv, .weight = p->in[1], .bias = bias, .channels = w->dims[0],
                    .inner = vitc_numel(w) / w->dims[0], .weight_scale = 1, .bias_scale = 1, .keep = p->attrs,
                    .nattr = p->nattr};
  return bias < 0 || is_known_vector(g, bias, fp->channels);
}

static bool plan_product(const vitc_graph *g, const vitc_node *p, fold_plan *fp) {
  const vitc_value *w = &g->tensors[p->in[1]].v, *out = &g->tensors[p->out[0]].v;
  if (!vitc_match_known(g, p->in[1]) || w->rank != 2 || out->rank != 2 || g->tensors[p->in[0]].v.rank != 2)
    return false;
  bool gemm = p->op == VITC_OP_Gemm, trans_b = gemm && vitc_attr_int(p, "transB", 0);
  int c = gemm && p->nin > 2 ? p->in[2] : -1;
  *fp = (fold_plan){.op = VITC_OP_Gemm, .weight = p->in[1], .bias = c, .channels = out->dims[1],
                    .inner = trans_b ? w->dims[1] : 1, .weight_scale = gemm ? vitc_attr_float(p, "alpha", 1) : 1,
                    .bias_scale = gemm ? vitc_attr_float(p, "beta", 1) : 1, .nattr = 2};
  fp->attrs[0] = (vitc_attr){.name = "transA", .type = VITC_ATTR_INT, .i = gemm ? vitc_attr_int(p, "transA", 0) : 0};
  fp->attrs[1] = (vitc_attr){.name = "transB", .type = VITC_ATTR_INT, .i = trans_b};
  if (c < 0) return true;
  const vitc_value *cv = &g->tensors[c].v;
  return (is_known_vector(g, c, 1) || is_known_vector(g, c, fp->channels)) && cv->rank <= 2 &&
         (cv->rank < 2 || cv->dims[0] == 1);
}

static bool plan_fold(const vitc_rewriter *rw, const vitc_node *bn, vitc_node **producer, fold_plan *fp) {
  vitc_node *p = vitc_match_inner(rw, bn->in[0], VITC_OP_Conv, 1);
  if (!p) p = vitc_match_inner(rw, bn->in[0], VITC_OP_MatMul, 1);
  if (!p) p = vitc_match_inner(rw, bn->in[0], VITC_OP_Gemm, 1);
  if (!p || !vitc_dtype_is_float(rw->g->tensors[p->out[0]].v.dtype)) return false;
  const vitc_value *c = &rw->g->tensors[p->out[0]].v;
  if (!(p->op == VITC_OP_Conv ? plan_conv(rw->g, p, fp) : plan_product(rw->g, p, fp))) return false;
  *producer = p;
  return c->rank >= 2 && c->dims[1] == fp->channels && vitc_match_batch_norm(rw->g, bn, fp->channels);
}

/* The Conv one operand of a Mul or Add n is (read by n only), the other a per-channel constant of it. */
static vitc_node *affine_after_conv(const vitc_rewriter *rw, const vitc_node *n, fold_plan *fp, int *constant) {
  const vitc_graph *g = rw->g;
  if ((n->op != VITC_OP_Mul && n->op != VITC_OP_Add) || n->nin != 2 || !g->tensors[n->out[0]].shape_known) return NULL;
  for (int k = 0; k < 2; k++) {
    vitc_node *p = vitc_match_inner(rw, n->in[k], VITC_OP_Conv, 1);
    if (!p || !vitc_dtype_is_float(g->tensors[p->out[0]].v.dtype) || !plan_conv(g, p, fp)) continue;
    const vitc_value *c = &g->tensors[p->out[0]].v;
    if (c->rank < 2 || c->dims[1] != fp->channels || !vitc_match_channel_constant(g, n->in[1 - k], c, 1))
      continue;
    *constant = n->in[1 - k];
    return p;
  }
  return NULL;
}

/* Replaces p and the node at index after (its BatchNormalization, Mul or Add) by p with f folded in, as
 * planned; frees f's values. */
static vitc_status fold(vitc_rewriter *rw, vitc_node *p, int after, const fold_plan *fp, bn_fold *f, vitc_error *err) {
  int x = p->in[0], y = rw->g->nodes[after].out[0];
  vitc_dtype dtype = rw->g->tensors[fp->weight].v.dtype;
  const char *base = rw->g->tensors[p->out[0]].name;
  int w = add_scaled_weight(rw, fp->weight, f, fp->inner, fp->weight_scale, err);
  int b = w < 0 ? -1 : add_folded_bias(rw, fp->bias, f, fp->bias_scale, dtype, base, err);
  vitc_status st = err->status;
  if (b >= 0) {
    vitc_node *matched[2] = {p, &rw->g->nodes[after]};
    st = vitc_rewrite(rw, matched, 2, fp->op, (int[]){x, w, b}, 3, y, fp->keep ? fp->keep : fp->attrs, fp->nattr,
                      err);
  }
  free(f->gain);
  return st;
}

/* A BatchNormalization folds as it computes; a Mul or Add by a per-channel constant as gain or shift. */
static vitc_status fold_after(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_node *n = &rw->g->nodes[i];
  vitc_node *p;
  fold_plan fp;
  bn_fold f;
  vitc_status st;
  if (n->op == VITC_OP_BatchNormalization) {
    if (!plan_fold(rw, n, &p, &fp)) return VITC_OK;
    st = bn_fold_init(rw->g, n, fp.channels, &f, err);
  } else {
    int constant;
    if (!(p = affine_after_conv(rw, n, &fp, &constant))) return VITC_OK;
    st = affine_fold_init(rw->g, n, constant, fp.channels, &f, err);
  }
  return st != VITC_OK ? st : fold(rw, p, i, &fp, &f, err);
}

/* ---------------------------------------------------------------- BatchNormalization before a Conv */

/* The Conv n reading a foldable BatchNormalization through no padding, with its geometry; NULL if not. */
static vitc_node *norm_before(const vitc_rewriter *rw, const vitc_node *n, vitc_conv_geometry *p) {
  const vitc_graph *g = rw->g;
  vitc_node *bn = vitc_match_inner(rw, n->in[0], VITC_OP_BatchNormalization, 1);
  int bias = n->nin > 2 ? n->in[2] : -1;
  if (!bn || !vitc_match_known(g, n->in[1]) || (bias >= 0 && !vitc_match_known(g, bias))) return NULL;
  if (g->tensors[n->in[1]].v.dtype != VITC_F32 || (bias >= 0 && g->tensors[bias].v.dtype != VITC_F32)) return NULL;
  const vitc_value *in[3] = {&g->tensors[n->in[0]].v, &g->tensors[n->in[1]].v, bias >= 0 ? &g->tensors[bias].v : NULL};
  vitc_error ignored;
  if (!g->tensors[n->in[0]].shape_known || vitc_conv_geometry_of(n, in, p, &ignored) != VITC_OK) return NULL;
  for (int d = 0; d < p->w.nd; d++)
    if (p->w.pad_begin[d] || p->w.pad_end[d]) return NULL;
  return vitc_match_batch_norm(g, bn, p->cin) ? bn : NULL;
}

static vitc_status fold_into_input(vitc_rewriter *rw, int conv, vitc_node *bn, const vitc_conv_geometry *p,
                                   vitc_error *err) {
  bn_fold f;
  vitc_status st = bn_fold_init(rw->g, bn, p->cin, &f, err);
  if (st != VITC_OK) return st;
  const vitc_node *n = &rw->g->nodes[conv];
  const vitc_value *w = &rw->g->tensors[n->in[1]].v;
  const void *src = w->data, *old_bias = n->nin > 2 && n->in[2] >= 0 ? rw->g->tensors[n->in[2]].v.data : NULL;
  vitc_value wv = *w, bv = {.dtype = VITC_F32, .rank = 1, .dims = {p->cout}};
  int64_t taps = p->w.taps;
  float *wd = malloc(vitc_nbytes(w) + sizeof(float) * (size_t)p->cout + 1);
  if (!wd) {
    free(f.gain);
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory folding a BatchNormalization", rw->g->path);
  }
  float *bd = wd + vitc_numel(w);
  for (int64_t m = 0; m < p->cout; m++) {
    double sum = old_bias ? vitc_f32_at(old_bias, m) : 0;
    for (int64_t j = 0; j < p->cin_g; j++) {
      int64_t c = m / p->cout_g * p->cin_g + j, at = (m * p->cin_g + j) * taps;
      for (int64_t k = 0; k < taps; k++) {
        float x = vitc_f32_at(src, at + k); /* may be read in place, unaligned (ir.h) */
        wd[at + k] = (float)(x * f.gain[c]);
        sum += x * f.shift[c];
      }
    }
    bd[m] = (float)sum;
  }
  wv.data = wd;
  bv.data = bd;
  const char *base = rw->g->tensors[n->out[0]].name;
  int x = bn->in[0], out = n->out[0], nattr = n->nattr;
  const vitc_attr *attrs = n->attrs;
  int wid = vitc_rewrite_constant(rw, base, "bn_weight", &wv, err);
  int bid = wid < 0 ? -1 : vitc_rewrite_constant(rw, base, "bn_bias", &bv, err);
  free(wd);
  free(f.gain);
  if (bid < 0) return err->status;
  vitc_node *matched[2] = {bn, &rw->g->nodes[conv]};
  return vitc_rewrite(rw, matched, 2, VITC_OP_Conv, (int[]){x, wid, bid}, 3, out, attrs, nattr, err);
}

static vitc_status fold_before(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_conv_geometry p;
  vitc_node *bn = rw->g->nodes[i].op == VITC_OP_Conv ? norm_before(rw, &rw->g->nodes[i], &p) : NULL;
  return bn ? fold_into_input(rw, i, bn, &p, err) : VITC_OK;
}

/* BatchNorms (and per-channel Muls and Adds) after their Conv/Gemm first, then BatchNorms before a Conv
 * (what is left of them). */
vitc_status vitc_fold_batch_norm(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "fold_batch_norm", err);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, fold_after, NULL, err);
  if (st == VITC_OK) st = vitc_rewriter_sweep(&rw, false, fold_before, NULL, err);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
