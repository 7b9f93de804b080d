/* emit_attention.c — the vitc.Attention kernel (ir/ops/fused_attention.c): a block of up to four query
 * rows of one batch entry per task index, each row's scores in a stack buffer of Nk floats (padded to
 * whole vectors), never the [.., Nq, Nk] tensor:
 *
 *   for each block of rows (b, i0 .. i0+3) of Q:            (parallel across the runtime pool)
 *     s_r[j] = Q(b,i_r,:) · K(b,j,:)                        j < Nk, every K vector loaded once per block
 *     s_r[j] = scale·S(b,i_r)·s_r[j] + bias(b,i_r,j);  s_r[Nk..] = -inf     m_r = max_j s_r[j]
 *     s_r[j] = exp(s_r[j] - m_r);        l_r = Σ_j s_r[j]
 *     Y(b,i_r,:) = (Σ_j s_r[j] · V(b,j,:)) / l_r            every V vector loaded once per block
 *
 * Sharing each K and V load among the block's rows cuts the loads fourfold, and with row maps the cache
 * and TLB misses of rows scattered across a packed qkv tensor (ViT-B attention on one thread, bench/
 * attention.c: 64 → 104 GFLOP/s dense, 38 → 94 through maps; 2 and 3 rows gave less, 6 and 8 little more).
 *
 * With normalize_qk the row's factor also holds 1/‖Q(b,i,:)‖ and s[j] is multiplied by 1/‖K(b,j,:)‖,
 * which is the product of the normalised rows without writing them anywhere.
 *
 * With row maps the batch index is b = g·H + h and a mapped operand's row n of batch entry b starts at
 * Xmap[g, n] + h·head_stride in its base tensor: the map is a constant of the weights blob, and a row
 * pointer costs one table load (per key in the score and P·V loops). Dense operands keep their rows one
 * after another. Y through Ymap lands wherever the head merge or window reverse put it.
 *
 * Everything runs on <16 x float> vectors: the dot products along D (K rows contiguous) or along j
 * (Kᵀ given, its rows contiguous), the softmax along j with the inline exp, and P·V along Dv with up to
 * sixteen accumulators (rows × vectors) per pass over j. Edges use masked loads and stores. */
#include <math.h>
#include <string.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emitters.h"

#define VL F32V_LANES
#define ROWS 4     /* query rows per pass over K and V: each K and V vector loaded serves them all */
#define PV_VECS 8  /* vectors of Y per row in one pass of P·V over j */
#define PV_ACCS 16 /* accumulators of one pass of P·V (rows × vectors), within the 32 vector registers */

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

/* The rows of one operand in the current batch entry: row n starts at base + n·stride (dense), or at
 * base + table[n] (mapped: base = X + h·head_stride, table = Xmap[g, :]). */
typedef struct op_rows {
  LLVMValueRef base, table; /* table NULL when dense */
  int64_t stride;
} op_rows;

static LLVMValueRef row_ptr(vitc_cg *cg, const op_rows *r, LLVMValueRef n) {
  if (!r->table) return at(cg, r->base, n, r->stride, 0);
  return fgep(cg, r->base, LLVMBuildLoad2(cg->b, cg->i64, cg_gep(cg, cg->i64, r->table, n), ""));
}

typedef struct attn_ctx {
  vitc_cg *cg;
  int64_t nq, nk, d, dv;
  bool k_transposed;
  int nrows;                 /* query rows of the current block, <= ROWS */
  LLVMValueRef q[ROWS], y[ROWS], bias[ROWS]; /* per row r of the block: Q(b,i,:), Y(b,i,:), bias(b,i,:) */
  LLVMValueRef scale[ROWS];  /* per row: the attribute, times S(b,i), times 1/‖Q(b,i,:)‖ with normalize_qk */
  LLVMValueRef s[ROWS];      /* per row: the score buffer */
  op_rows k, v;              /* K_b and V_b (Kᵀ_b [D, Nk] at k.base with k_transposed) */
  int64_t bias_js;           /* bias stride along j: 1, or 0 when broadcast */
  LLVMValueRef knorm;        /* normalize_qk: 1/‖K(b,j,:)‖ per key (padded like s), else NULL */
  int r;                     /* the row the softmax steps work on */
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

/* s_r[j] = Q(i_r,:)·K(j,:) for every row r of the block, vectors along D, one key at a time. */
static void scores_by_key(attn_ctx *a) {
  vitc_cg *cg = a->cg;
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->nk), 1);
  LLVMValueRef krow = row_ptr(cg, &a->k, j.iv), acc[ROWS];
  for (int r = 0; r < a->nrows; r++) acc[r] = vconst(cg, 0);
  for (int64_t c = 0; c < vecs(a->d); c++) {
    LLVMValueRef kv = f32v_load(cg, fgep(cg, krow, cg_i64(cg, c * VL)), lanes_of(a->d, c));
    for (int r = 0; r < a->nrows; r++)
      acc[r] = vfma(cg, f32v_load(cg, fgep(cg, a->q[r], cg_i64(cg, c * VL)), lanes_of(a->d, c)), kv, acc[r]);
  }
  for (int r = 0; r < a->nrows; r++) LLVMBuildStore(cg->b, fold_lanes(cg, acc[r], vadd), fgep(cg, a->s[r], j.iv));
  cg_loop_end(cg, &j);
}

/* s_r[16c ..] = Σ_d Q(i_r,d) · Kᵀ(d, 16c ..), vectors along j. */
static void scores_by_dim(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef j0 = LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), ""), acc[ROWS];
  for (int r = 0; r < a->nrows; r++) acc[r] = cg_var(cg, vt, vconst(cg, 0));
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->d), 1);
  LLVMValueRef kv = f32v_load(cg, fgep(cg, at(cg, a->k.base, d.iv, a->nk, 0), j0), lanes);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef qd = f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, fgep(cg, a->q[r], d.iv), ""));
    LLVMBuildStore(cg->b, vfma(cg, qd, kv, LLVMBuildLoad2(cg->b, vt, acc[r], "")), acc[r]);
  }
  cg_loop_end(cg, &d);
  for (int r = 0; r < a->nrows; r++) f32v_store(cg, LLVMBuildLoad2(cg->b, vt, acc[r], ""), fgep(cg, a->s[r], j0), VL);
}

/* Row a->r: s = scale·s·knorm + bias, -inf past Nk; state: the running max vector. */
static void scale_and_bias(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMValueRef j0 = LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), ""), p = fgep(cg, a->s[a->r], j0);
  LLVMValueRef s = LLVMBuildFMul(cg->b, f32v_load(cg, p, VL), f32v_splat(cg, a->scale[a->r]), "");
  if (a->knorm) s = LLVMBuildFMul(cg->b, s, f32v_load(cg, fgep(cg, a->knorm, j0), lanes), "");
  if (a->bias[a->r]) {
    LLVMValueRef bias = a->bias[a->r];
    LLVMValueRef b = a->bias_js ? f32v_load(cg, fgep(cg, bias, j0), lanes)
                                : f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, bias, ""));
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

/* Row a->r: s = exp(s - m) over the whole padded buffer; state: {m splatted, the running sum vector}. */
static void exponentiate(attn_ctx *a, LLVMValueRef c, int lanes, void *state) {
  vitc_cg *cg = a->cg;
  LLVMValueRef *st = state, p = fgep(cg, a->s[a->r], LLVMBuildNSWMul(cg->b, c, cg_i64(cg, VL), ""));
  LLVMValueRef e = emit_expf(cg, LLVMBuildFSub(cg->b, f32v_load(cg, p, VL), st[0], ""));
  f32v_store(cg, e, p, VL);
  LLVMBuildStore(cg->b, vadd(cg, LLVMBuildLoad2(cg->b, f32v_type(cg), st[1], ""), e), st[1]);
}

/* Row r's scores become exp(s - max), unnormalised; returns 1/Σ splatted. */
static LLVMValueRef softmax_row(attn_ctx *a, int r) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  a->r = r;
  LLVMValueRef mx = cg_var(cg, vt, vconst(cg, -INFINITY));
  for_vectors(a, a->nk, scale_and_bias, &mx);
  LLVMValueRef st[2] = {f32v_splat(cg, fold_lanes(cg, LLVMBuildLoad2(cg->b, vt, mx, ""), vmax)),
                        cg_var(cg, vt, vconst(cg, 0))};
  for_vectors(a, vecs(a->nk) * VL, exponentiate, st);
  LLVMValueRef sum = fold_lanes(cg, LLVMBuildLoad2(cg->b, vt, st[1], ""), vadd);
  return f32v_splat(cg, LLVMBuildFDiv(cg->b, cg_f32(cg, 1), sum, ""));
}

/* Y(i_r, 16c0 .. 16(c0+n)) = Σ_j s_r[j] · V(j, ..) · inv_r for every row r of the block, n vectors, the
 * last with `last` lanes: each V vector loaded once for all rows. */
static void weighted_values(attn_ctx *a, int64_t c0, int n, int last, const LLVMValueRef *inv) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef acc[ROWS][PV_VECS], vv[PV_VECS];
  for (int r = 0; r < a->nrows; r++)
    for (int c = 0; c < n; c++) acc[r][c] = cg_var(cg, vt, vconst(cg, 0));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->nk), 1);
  LLVMValueRef vrow = fgep(cg, row_ptr(cg, &a->v, j.iv), cg_i64(cg, c0 * VL));
  for (int c = 0; c < n; c++) vv[c] = f32v_load(cg, fgep(cg, vrow, cg_i64(cg, (int64_t)c * VL)), c == n - 1 ? last : VL);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef pj = f32v_splat(cg, LLVMBuildLoad2(cg->b, cg->f32, fgep(cg, a->s[r], j.iv), ""));
    for (int c = 0; c < n; c++)
      LLVMBuildStore(cg->b, vfma(cg, pj, vv[c], LLVMBuildLoad2(cg->b, vt, acc[r][c], "")), acc[r][c]);
  }
  cg_loop_end(cg, &j);
  for (int r = 0; r < a->nrows; r++)
    for (int c = 0; c < n; c++) {
      LLVMValueRef y = LLVMBuildFMul(cg->b, LLVMBuildLoad2(cg->b, vt, acc[r][c], ""), inv[r], "");
      f32v_store(cg, y, fgep(cg, a->y[r], cg_i64(cg, (c0 + c) * VL)), c == n - 1 ? last : VL);
    }
}

/* The block's rows, set up in a->q, y, bias, scale: scores, softmax, P·V. */
static void emit_block(attn_ctx *a) {
  if (a->k_transposed) for_vectors(a, a->nk, scores_by_dim, NULL);
  else scores_by_key(a);
  LLVMValueRef inv[ROWS];
  for (int r = 0; r < a->nrows; r++) inv[r] = softmax_row(a, r);
  int64_t nvec = vecs(a->dv), per_pass = PV_ACCS / a->nrows < PV_VECS ? PV_ACCS / a->nrows : PV_VECS;
  for (int64_t c0 = 0; c0 < nvec; c0 += per_pass) {
    int n = (int)(nvec - c0 < per_pass ? nvec - c0 : per_pass);
    weighted_values(a, c0, n, c0 + n == nvec ? lanes_of(a->dv, nvec - 1) : VL, inv);
  }
}

/* 1 / max(‖x‖₂, 1e-12) of the len floats at p: F.normalize's divisor. */
static LLVMValueRef inverse_norm(vitc_cg *cg, LLVMValueRef p, int64_t len) {
  LLVMValueRef acc = vconst(cg, 0);
  for (int64_t c = 0; c < vecs(len); c++) {
    LLVMValueRef x = f32v_load(cg, fgep(cg, p, cg_i64(cg, c * VL)), lanes_of(len, c));
    acc = vfma(cg, x, x, acc);
  }
  LLVMValueRef args[2] = {call1(cg, "llvm.sqrt", fold_lanes(cg, acc, vadd)), cg_f32(cg, 1e-12f)};
  LLVMValueRef norm = cg_intrinsic(cg, "llvm.maxnum", &cg->f32, 1, args, 2);
  return LLVMBuildFDiv(cg->b, cg_f32(cg, 1), norm, "");
}

/* knorm[j] = 1/‖K(b,j,:)‖, recomputed only when the block's b differs from the one they hold (*held_b):
 * a task's blocks are consecutive, so that is about once per Nq rows. Accumulating k·k in the score loop
 * instead costs a second lane fold per score: normalize_qk then added ~30% to ViT-B attention, this ~5%. */
static void refresh_key_norms(attn_ctx *a, LLVMValueRef b, LLVMValueRef held_b) {
  vitc_cg *cg = a->cg;
  cg_if stale = cg_if_begin(cg, LLVMBuildICmp(cg->b, LLVMIntNE, LLVMBuildLoad2(cg->b, cg->i64, held_b, ""), b, ""));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->nk), 1);
  LLVMBuildStore(cg->b, inverse_norm(cg, row_ptr(cg, &a->k, j.iv), a->d), fgep(cg, a->knorm, j.iv));
  cg_loop_end(cg, &j);
  LLVMBuildStore(cg->b, b, held_b);
  cg_if_end(cg, &stale);
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

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP };
enum { MAP_Q, MAP_K, MAP_V, MAP_Y, NMAPS };

/* The problem as ir/ops/fused_attention.c defines it (its shape rule has checked it): the logical batch
 * (Q's batch dims, or [G, H] with maps), the sizes, and the maps. */
typedef struct attn_geom {
  int nb;
  int64_t batch_dims[VITC_MAX_RANK], batch, heads;
  int64_t nq, nk, d, dv;
  const vitc_value *map[NMAPS]; /* NULL for a dense operand */
  int64_t head_strides[NMAPS];
} attn_geom;

static vitc_status attn_geometry(vitc_cg *cg, const vitc_node *n, attn_geom *ge, vitc_error *err) {
  const vitc_value *q = cg_in_value(cg, IN_Q), *v = cg_in_value(cg, IN_V), *any = NULL;
  *ge = (attn_geom){.heads = 1};
  for (int x = MAP_Q; x < NMAPS; x++) {
    const vitc_value *m = ge->map[x] = cg_in_value(cg, IN_QMAP + x);
    if (m && !m->data) return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "Attention row maps must be known at compile time");
    if (m && !any) any = m;
  }
  const vitc_value *qm = ge->map[MAP_Q], *vm = ge->map[MAP_V];
  ge->nq = qm ? qm->dims[1] : q->dims[q->rank - 2];
  ge->d = qm ? vitc_attr_int(n, "head_dim", 0) : q->dims[q->rank - 1];
  ge->nk = vm ? vm->dims[1] : v->dims[v->rank - 2];
  ge->dv = vm ? vitc_attr_int(n, "value_dim", 0) : v->dims[v->rank - 1];
  if (any) {
    int len;
    const int64_t *hs = vitc_attr_ints(n, "head_strides", &len);
    memcpy(ge->head_strides, hs, sizeof ge->head_strides);
    ge->heads = vitc_attr_int(n, "heads", 1);
    ge->nb = 2;
    ge->batch_dims[0] = any->dims[0];
    ge->batch_dims[1] = ge->heads;
  } else {
    ge->nb = q->rank - 2;
    memcpy(ge->batch_dims, q->dims, sizeof(int64_t) * (size_t)ge->nb);
  }
  ge->batch = 1;
  for (int i = 0; i < ge->nb; i++) ge->batch *= ge->batch_dims[i];
  return VITC_OK;
}

/* Operand x's rows in batch entry b = g·H + h (data and map: the task's pointers). */
static op_rows operand_rows(vitc_cg *cg, const attn_geom *ge, int x, LLVMValueRef data, LLVMValueRef map,
                            LLVMValueRef b, LLVMValueRef g, LLVMValueRef h) {
  int64_t rows = x == MAP_K || x == MAP_V ? ge->nk : ge->nq, len = x == MAP_Q || x == MAP_K ? ge->d : ge->dv;
  if (!ge->map[x]) return (op_rows){at(cg, data, b, rows * len, 0), NULL, len};
  LLVMValueRef table = cg_gep(cg, cg->i64, map, LLVMBuildNSWMul(cg->b, g, cg_i64(cg, rows), ""));
  return (op_rows){at(cg, data, h, ge->head_strides[x], 0), table, 0};
}

/* Where the rows of a block come from in the current batch entry b. */
typedef struct row_src {
  op_rows q, y;
  LLVMValueRef bias, rs; /* the task's pointers; NULL when absent */
  LLVMValueRef bidx[VITC_MAX_RANK]; /* b unflattened over the logical batch dims */
  int nb;
  const int64_t *bias_strides, *scale_strides;
  LLVMValueRef scale; /* the attribute */
  bool unit;          /* normalize_qk */
} row_src;

/* a's rows i0 .. i0 + nrows - 1 of the batch entry: pointers and factors. */
static void setup_rows(attn_ctx *a, const row_src *src, LLVMValueRef i0, int nrows) {
  vitc_cg *cg = a->cg;
  a->nrows = nrows;
  for (int r = 0; r < nrows; r++) {
    LLVMValueRef i = LLVMBuildNSWAdd(cg->b, i0, cg_i64(cg, r), ""), scale = src->scale;
    a->q[r] = row_ptr(cg, &src->q, i);
    a->y[r] = row_ptr(cg, &src->y, i);
    a->bias[r] = src->bias ? row_of(cg, src->bias, src->bidx, src->nb, i, src->bias_strides) : NULL;
    if (src->rs) {
      LLVMValueRef f = row_of(cg, src->rs, src->bidx, src->nb, i, src->scale_strides);
      scale = LLVMBuildFMul(cg->b, LLVMBuildLoad2(cg->b, cg->f32, f, ""), scale, "");
    }
    if (src->unit) scale = LLVMBuildFMul(cg->b, scale, inverse_norm(cg, a->q[r], a->d), "");
    a->scale[r] = scale;
  }
}

/* The block at row i0: ROWS rows, except the last block of a batch entry when ROWS does not divide Nq. */
static void emit_blocks(attn_ctx *a, const row_src *src, LLVMValueRef i0) {
  vitc_cg *cg = a->cg;
  int tail = (int)(a->nq % ROWS);
  if (!tail) {
    setup_rows(a, src, i0, ROWS);
    emit_block(a);
    return;
  }
  LLVMValueRef partial = LLVMBuildICmp(cg->b, LLVMIntSGT, i0, cg_i64(cg, a->nq - ROWS), "");
  if (a->nq > ROWS) {
    cg_if whole = cg_if_begin(cg, LLVMBuildNot(cg->b, partial, ""));
    setup_rows(a, src, i0, ROWS);
    emit_block(a);
    cg_if_end(cg, &whole);
  }
  cg_if last = cg_if_begin(cg, partial);
  setup_rows(a, src, i0, tail);
  emit_block(a);
  cg_if_end(cg, &last);
}

vitc_status emit_Attention(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *bias = cg_in_value(cg, IN_BIAS), *rs = cg_in_value(cg, IN_SCALE);
  attn_geom ge;
  vitc_status st = attn_geometry(cg, n, &ge, err);
  if (st) return st;
  bool unit = vitc_attr_int(n, "normalize_qk", 0) != 0;
  attn_ctx a = {.cg = cg, .nq = ge.nq, .d = ge.d, .dv = ge.dv, .nk = ge.nk,
                .k_transposed = vitc_attr_int(n, "k_transposed", 0) != 0};
  if (unit && a.k_transposed) return vitc_fail(err, VITC_ERR_INVALID, "Attention normalize_qk needs k_transposed = 0");
  if (ge.batch == 0 || a.nq == 0 || a.dv == 0) return VITC_OK;
  if (a.nk == 0) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "attention over zero keys");
  int nb = ge.nb, r = nb + 2;
  int64_t bias_strides[VITC_MAX_RANK] = {0}, scale_strides[VITC_MAX_RANK] = {0}, dims[VITC_MAX_RANK];
  memcpy(dims, ge.batch_dims, sizeof(int64_t) * (size_t)nb);
  dims[r - 2] = a.nq;
  dims[r - 1] = a.nk; /* the scores */
  if (bias) broadcast_strides(bias, dims, r, bias_strides);
  a.bias_js = bias_strides[r - 1];
  dims[r - 1] = 1; /* S holds one factor per row */
  if (rs) broadcast_strides(rs, dims, r, scale_strides);

  LLVMValueRef null = LLVMConstNull(cg->ptr), captured[10] = {cg_in(cg, IN_Q), cg_in(cg, IN_K), cg_in(cg, IN_V),
                                                             bias ? cg_in(cg, IN_BIAS) : null, cg_out(cg, 0),
                                                             rs ? cg_in(cg, IN_SCALE) : null};
  for (int x = MAP_Q; x < NMAPS; x++) captured[6 + x] = ge.map[x] ? cg_in(cg, IN_QMAP + x) : null;
  cg_task t = cg_task_begin(cg, captured, 10);
  LLVMTypeRef padded = LLVMArrayType(cg->f32, (unsigned)(vecs(a.nk) * VL));
  for (int i = 0; i < ROWS; i++) a.s[i] = cg_var(cg, padded, NULL);
  LLVMValueRef held_b = unit ? cg_var(cg, cg->i64, cg_i64(cg, -1)) : NULL;
  if (unit) a.knorm = cg_var(cg, padded, NULL);
  int64_t blocks = (a.nq + ROWS - 1) / ROWS; /* per batch entry */
  cg_loop blk = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef b = LLVMBuildUDiv(cg->b, blk.iv, cg_i64(cg, blocks), "");
  LLVMValueRef i0 = LLVMBuildNSWMul(cg->b, LLVMBuildURem(cg->b, blk.iv, cg_i64(cg, blocks), ""), cg_i64(cg, ROWS), "");
  LLVMValueRef g = LLVMBuildUDiv(cg->b, b, cg_i64(cg, ge.heads), ""), h = LLVMBuildURem(cg->b, b, cg_i64(cg, ge.heads), "");
  row_src src = {.q = operand_rows(cg, &ge, MAP_Q, t.vals[0], t.vals[6], b, g, h),
                 .y = operand_rows(cg, &ge, MAP_Y, t.vals[4], t.vals[9], b, g, h),
                 .bias = bias ? t.vals[3] : NULL, .rs = rs ? t.vals[5] : NULL, .nb = nb,
                 .bias_strides = bias_strides, .scale_strides = scale_strides,
                 .scale = cg_f32(cg, (float)vitc_attr_float(n, "scale", 1.0)), .unit = unit};
  a.k = operand_rows(cg, &ge, MAP_K, t.vals[1], t.vals[7], b, g, h);
  a.v = operand_rows(cg, &ge, MAP_V, t.vals[2], t.vals[8], b, g, h);
  if (bias || rs) emit_unflatten(cg, b, ge.batch_dims, nb, src.bidx);
  if (unit) refresh_key_norms(&a, b, held_b);
  emit_blocks(&a, &src, i0);
  cg_loop_end(cg, &blk);
  cg_task_end(cg, &t, ge.batch * blocks);
  return VITC_OK;
}
