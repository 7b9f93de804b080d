/* emit_attention.c — the vitc.Attention kernel (ir/ops/fused_attention.c): one query row per task index,
 * its scores in a stack buffer of Nk floats (padded to whole vectors), never the [.., Nq, Nk] tensor:
 *
 *   for each row (b, i) of Q:                               (parallel across the runtime pool)
 *     s[j]  = Q(b,i,:) · K(b,j,:)                           j < Nk
 *     s[j]  = scale·S(b,i)·s[j] + bias(b,i,j);  s[Nk..] = -inf     m = max_j s[j]   (S optional, per row)
 *     s[j]  = exp(s[j] - m);             l = Σ_j s[j]
 *     Y(b,i,:) = (Σ_j s[j] · V(b,j,:)) / l
 *
 * Everything runs on <16 x float> vectors: the dot products along D (K rows contiguous) or along j
 * (Kᵀ given, its rows contiguous), the softmax along j with the inline exp, and P·V along Dv with up to
 * eight accumulators per pass over j. Edges use masked loads and stores. */
#include <math.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emitters.h"

#define VL F32V_LANES
#define PV_VECS 8 /* accumulators of one pass of P·V over j */

static LLVMValueRef fgep(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i) { return cg_gep(cg, cg->f32, base, i); }
static LLVMValueRef at(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, int64_t scale, int64_t plus) {
  LLVMValueRef off = scale == 1 ? i : LLVMBuildNSWMul(cg->b, i, cg_i64(cg, scale), "");
  return fgep(cg, base, LLVMBuildNSWAdd(cg->b, off, cg_i64(cg, plus), ""));
}
static LLVMValueRef vconst(vitc_cg *cg, double v) { return f32v_splat(cg, cg_f32(cg, (float)v)); }
static LLVMValueRef vfma(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef args[3] = {a, b, c};
  return cg_intrinsic(cg, "llvm.fma", &vt, 1, args, 3);
}
static LLVMValueRef vmax(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef args[2] = {a, b};
  return cg_intrinsic(cg, "llvm.maxnum", &vt, 1, args, 2);
}
static LLVMValueRef vadd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(cg->b, a, b, ""); }

/* Lanes folded pairwise (16 → 8 → 4 → 2 → 1) with vadd or vmax; the result in lane 0, as a float. */
static LLVMValueRef fold_lanes(vitc_cg *cg, LLVMValueRef v, LLVMValueRef (*op)(vitc_cg *, LLVMValueRef, LLVMValueRef)) {
  for (int w = VL / 2; w >= 1; w /= 2) {
    LLVMValueRef idx[VL];
    for (int i = 0; i < VL; i++) idx[i] = cg_i32(cg, i < w ? i + w : i);
    v = op(cg, v, LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(f32v_type(cg)), LLVMConstVector(idx, VL), ""));
  }
  return LLVMBuildExtractElement(cg->b, v, cg_i32(cg, 0), "");
}

static int64_t vecs(int64_t n) { return (n + VL - 1) / VL; }
static int lanes_of(int64_t n, int64_t vec) { return (int)(n - vec * VL < VL ? n - vec * VL : VL); }

typedef struct attn_ctx {
  vitc_cg *cg;
  int64_t nq, nk, d, dv;
  bool k_transposed;
  LLVMValueRef scale;             /* the float factor of the current row: the attribute, times S(b,i) if given */
  LLVMValueRef q, k, v, bias, y; /* rows of the current (b, i): Q(b,i,:), K_b, V_b, bias(b,i,:), Y(b,i,:) */
  int64_t bias_js;                /* bias stride along j: 1, or 0 when broadcast */
  LLVMValueRef s;                 /* the score buffer */
} attn_ctx;

/* Loop over the vectors [0, n) of a row of length len in whole vectors, then the partial last one:
 * body(ctx, vector index, lanes). */
typedef void (*vec_body)(attn_ctx *a, LLVMValueRef c, int lanes, void *state);
static void for_vectors(attn_ctx *a, int64_t len, vec_body body, void *state) {
  vitc_cg *cg = a->cg;
  if (len / VL) {
    cg_loop c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / VL), 1);
    body(a, c.iv, VL, state);
    cg_loop_end(cg, &c);
  }
  if (len % VL) body(a, cg_i64(cg, len / VL), (int)(len % VL), state);
}

/* s[j] = Q(i,:)·K(j,:), vectors along D, one key at a time. */
static void scores_by_key(attn_ctx *a) {
  vitc_cg *cg = a->cg;
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->nk), 1);
  LLVMValueRef krow = at(cg, a->k, j.iv, a->d, 0), acc = vconst(cg, 0);
  for (int64_t c = 0; c < vecs(a->d); c++) {
    LLVMValueRef qv = f32v_load(cg, fgep(cg, a->q, cg_i64(cg, c * VL)), lanes_of(a->d, c));
    acc = vfma(cg, qv, f32v_load(cg, fgep(cg, krow, cg_i64(cg, c * VL)), lanes_of(a->d, c)), acc);
  }
  LLVMBuildStore(cg->b, fold_lanes(cg, acc, vadd), fgep(cg, a->s, j.iv));
  cg_loop_end(cg, &j);
}

/* s[16c ..] = Σ_d Q(i,d) · Kᵀ(d, 16c ..), vectors along j. */
static void scores_by_dim(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMValueRef j0 = LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), "");
  LLVMValueRef acc = cg_var(cg, f32v_type(cg), vconst(cg, 0));
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->d), 1);
  LLVMValueRef qd = f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, fgep(cg, a->q, d.iv), ""));
  LLVMValueRef kv = f32v_load(cg, fgep(cg, at(cg, a->k, d.iv, a->nk, 0), j0), lanes);
  LLVMBuildStore(cg->b, vfma(cg, qd, kv, LLVMBuildLoad2(cg->b, f32v_type(cg), acc, "")), acc);
  cg_loop_end(cg, &d);
  f32v_store(cg, LLVMBuildLoad2(cg->b, f32v_type(cg), acc, ""), fgep(cg, a->s, j0), VL);
}

/* s = scale·s + bias, -inf past Nk; state: the running max vector. */
static void scale_and_bias(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMValueRef j0 = LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), ""), p = fgep(cg, a->s, j0);
  LLVMValueRef s = LLVMBuildFMul(cg->b, f32v_load(cg, p, VL), f32v_splat(cg, a->scale), "");
  if (a->bias) {
    LLVMValueRef b = a->bias_js ? f32v_load(cg, fgep(cg, a->bias, j0), lanes)
                                : f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, a->bias, ""));
    s = vadd(cg, s, b);
  }
  if (lanes < VL) {
    LLVMValueRef keep[VL];
    for (int i = 0; i < VL; i++) keep[i] = LLVMConstInt(cg->i1, i < lanes, false);
    s = LLVMBuildSelect(cg->b, LLVMConstVector(keep, VL), s, vconst(cg, -INFINITY), "");
  }
  f32v_store(cg, s, p, VL);
  LLVMValueRef *mx = state;
  LLVMBuildStore(cg->b, vmax(cg, LLVMBuildLoad2(cg->b, f32v_type(cg), *mx, ""), s), *mx);
}

/* s = exp(s - m) over the whole padded buffer; state: {m splatted, the running sum vector}. */
static void exponentiate(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMValueRef *st = state, p = fgep(cg, a->s, LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), ""));
  LLVMValueRef e = emit_expf(cg, LLVMBuildFSub(cg->b, f32v_load(cg, p, VL), st[0], ""));
  f32v_store(cg, e, p, VL);
  LLVMBuildStore(cg->b, vadd(cg, LLVMBuildLoad2(cg->b, f32v_type(cg), st[1], ""), e), st[1]);
}

/* Y(i, 16c0 .. 16(c0+n)) = Σ_j s[j] · V(j, ..) · inv, n <= PV_VECS vectors, the last with `last` lanes. */
static void weighted_values(attn_ctx *a, int64_t c0, int n, int last, LLVMValueRef inv) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef acc[PV_VECS];
  for (int c = 0; c < n; c++) acc[c] = cg_var(cg, vt, vconst(cg, 0));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->nk), 1);
  LLVMValueRef pj = f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, fgep(cg, a->s, j.iv), ""));
  LLVMValueRef vrow = at(cg, a->v, j.iv, a->dv, c0 * VL);
  for (int c = 0; c < n; c++) {
    LLVMValueRef vv = f32v_load(cg, fgep(cg, vrow, cg_i64(cg, (int64_t)c * VL)), c == n - 1 ? last : VL);
    LLVMBuildStore(cg->b, vfma(cg, pj, vv, LLVMBuildLoad2(cg->b, vt, acc[c], "")), acc[c]);
  }
  cg_loop_end(cg, &j);
  for (int c = 0; c < n; c++) {
    LLVMValueRef y = LLVMBuildFMul(cg->b, LLVMBuildLoad2(cg->b, vt, acc[c], ""), inv, "");
    f32v_store(cg, y, fgep(cg, a->y, cg_i64(cg, (c0 + c) * VL)), c == n - 1 ? last : VL);
  }
}

static void emit_row(attn_ctx *a) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  int64_t padded = vecs(a->nk) * VL;
  if (a->k_transposed) for_vectors(a, a->nk, scores_by_dim, NULL);
  else scores_by_key(a);

  LLVMValueRef mx = cg_var(cg, vt, vconst(cg, -INFINITY));
  for_vectors(a, a->nk, scale_and_bias, &mx);
  LLVMValueRef st[2] = {f32v_splat(cg, fold_lanes(cg, LLVMBuildLoad2(cg->b, vt, mx, ""), vmax)),
                        cg_var(cg, vt, vconst(cg, 0))};
  for_vectors(a, padded, exponentiate, st);
  LLVMValueRef sum = fold_lanes(cg, LLVMBuildLoad2(cg->b, vt, st[1], ""), vadd);
  LLVMValueRef inv = f32v_splat(cg, LLVMBuildFDiv(cg->b, cg_f32(cg, 1), sum, ""));

  int64_t nvec = vecs(a->dv);
  for (int64_t c0 = 0; c0 < nvec; c0 += PV_VECS) {
    int n = (int)(nvec - c0 < PV_VECS ? nvec - c0 : PV_VECS);
    weighted_values(a, c0, n, c0 + n == nvec ? lanes_of(a->dv, nvec - 1) : VL, inv);
  }
}

/* Broadcast strides of x (the bias, or S) against dims[0..r). */
static void broadcast_strides(const vitc_value *x, const int64_t *dims, int r, int64_t *strides) {
  int64_t own = 1;
  for (int i = r - 1; i >= 0; i--) {
    int ix = i - (r - x->rank);
    strides[i] = ix < 0 || (x->dims[ix] == 1 && dims[i] != 1) ? 0 : own;
    if (ix >= 0) own *= x->dims[ix];
  }
}

/* Pointer to x(b, i, 0) under broadcast strides, bidx the batch index b unflattened. */
static LLVMValueRef row_of(vitc_cg *cg, LLVMValueRef base, const LLVMValueRef *bidx, int nb, LLVMValueRef i,
                           const int64_t *strides) {
  LLVMValueRef off = LLVMBuildNSWMul(cg->b, i, cg_i64(cg, strides[nb]), "");
  for (int d = 0; d < nb; d++)
    off = LLVMBuildNSWAdd(cg->b, off, LLVMBuildNSWMul(cg->b, bidx[d], cg_i64(cg, strides[d]), ""), "");
  return fgep(cg, base, off);
}

vitc_status emit_Attention(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *q = cg_in_value(cg, 0), *v = cg_in_value(cg, 2);
  const vitc_value *bias = n->nin > 3 ? cg_in_value(cg, 3) : NULL, *rs = n->nin > 4 ? cg_in_value(cg, 4) : NULL;
  if (n->nin > 5 || vitc_attr_int(n, "normalize_qk", 0))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Attention row maps and normalize_qk are not compiled yet");
  int r = q->rank, nb = r - 2;
  float scale = (float)vitc_attr_float(n, "scale", 1.0);
  attn_ctx a = {.cg = cg, .nq = q->dims[r - 2], .d = q->dims[r - 1], .dv = v->dims[r - 1], .nk = v->dims[r - 2],
                .k_transposed = vitc_attr_int(n, "k_transposed", 0) != 0, .scale = cg_f32(cg, scale)};
  int64_t batch = 1, bias_strides[VITC_MAX_RANK] = {0}, scale_strides[VITC_MAX_RANK] = {0}, dims[VITC_MAX_RANK];
  for (int i = 0; i < nb; i++) batch *= q->dims[i];
  if (batch == 0 || a.nq == 0 || a.dv == 0) return VITC_OK;
  if (a.nk == 0) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "attention over zero keys");
  for (int i = 0; i < r; i++) dims[i] = i == r - 1 ? a.nk : q->dims[i]; /* the scores */
  if (bias) broadcast_strides(bias, dims, r, bias_strides);
  a.bias_js = bias_strides[r - 1];
  dims[r - 1] = 1; /* S holds one factor per row */
  if (rs) broadcast_strides(rs, dims, r, scale_strides);

  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[6] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), bias ? cg_in(cg, 3) : null,
                              cg_out(cg, 0), rs ? cg_in(cg, 4) : null};
  cg_task t = cg_task_begin(cg, captured, 6);
  a.s = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(vecs(a.nk) * VL)), NULL);
  cg_loop row = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef b = LLVMBuildUDiv(cg->b, row.iv, cg_i64(cg, a.nq), "");
  LLVMValueRef i = LLVMBuildURem(cg->b, row.iv, cg_i64(cg, a.nq), "");
  a.q = at(cg, t.vals[0], row.iv, a.d, 0);
  a.k = at(cg, t.vals[1], b, a.nk * a.d, 0);
  a.v = at(cg, t.vals[2], b, a.nk * a.dv, 0);
  a.y = at(cg, t.vals[4], row.iv, a.dv, 0);
  LLVMValueRef bidx[VITC_MAX_RANK];
  if (bias || rs) emit_unflatten(cg, b, q->dims, nb, bidx);
  if (bias) a.bias = row_of(cg, t.vals[3], bidx, nb, i, bias_strides);
  if (rs) {
    LLVMValueRef f = LLVMBuildLoad2(cg->b, cg->f32, row_of(cg, t.vals[5], bidx, nb, i, scale_strides), "");
    a.scale = LLVMBuildFMul(cg->b, f, a.scale, "");
  }
  emit_row(&a);
  cg_loop_end(cg, &row);
  cg_task_end(cg, &t, batch * a.nq);
  return VITC_OK;
}
