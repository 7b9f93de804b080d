/* emit_gemm_int8.c — vitc.Int8Gemm (ir/ops/quant.c, built by passes/fuse_qdq) on x86-64 with AVX512-VNNI,
 * AVX-VNNI or AVX2.
 *
 *   1. quantise A, a task per row, into the node's work space as unsigned values [M][KP] (KP: K rounded up
 *      to a whole word, zero-padded):  a(i, p) = saturate(roundeven(x(i, p) / x_scale) + zp) + shift
 *      where shift is 128 for an int8 zero point (vpdpbusd multiplies unsigned by signed bytes) and 0 for uint8;
 *   2. tiles of MR rows x NR columns (NV vectors of int32 lanes), the accumulators in registers:
 *        acc[i][v] = dot(acc[i][v], splat(a word (i0+i, q)), W words (q, j0 + v * lanes ..))
 *      each lane adding the products of a word's KW elements; W is packed at compile time into panels
 *      [N/NR][KP/KW][NR] of 32-bit words (W(KW*q..KW*q+KW-1, j), zero-padded). The target's instruction
 *      (int8_product) sets the word: four bytes for vpdpbusd, two int16 for vpmaddwd, which AVX2 has, with A
 *      stored as int16 and W widened at compile time (exact: a pair's sum is at most 2 * 255 * 128 in
 *      magnitude, while vpmaddubsw's int16 pair sums of bytes would saturate);
 *   3. the float32 epilogue before the one store:
 *        t(i, j) = (float)(acc + corr(j)) * scale(j) + bias(j)
 *        y(i, j) = (clamp(roundeven(t / y_scale) + y_zp) - y_zp) * y_scale + post_bias(j)   (with y_scale)
 *        out(i, j) = activation(y(i, j)) + residual(i, j)                               (when given)
 *      corr(j) = -(zp + shift) * sum_p W(p, j) undoes the zero point and the shift exactly, scale(j) =
 *      x_scale * w_scale(j); both are computed at compile time (the evaluator multiplies and adds in the
 *      same two roundings, so the kernel matches it exactly).
 * Tasks are (panel, chunk of row blocks), panel-major, so that a thread's consecutive tasks reuse a panel. */
#include <stdlib.h>

#include "emit_gemm.h"
#include "emitters.h"

#define VL 16        /* float lanes per vector of step 1 */
#define MR 6         /* rows per tile */
#define MAX_NV 4     /* vectors per tile row at most */
#define MC_BLOCKS 8  /* row blocks per task at most */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The register tile and the product it is built on. MR rows of NV accumulators, NV W vectors, a broadcast
 * and a product in flight fit the target's registers: 6 x 4 of 16 int32 lanes in 32 zmm (AVX512-VNNI),
 * 6 x 2 of 8 lanes in 16 ymm (AVX-VNNI, AVX2). */
typedef struct int8_product {
  vitc_int8_dot dot;
  int vl, nv, nr; /* int32 lanes per vector, vectors per tile row, columns per tile */
  int kw;         /* K elements per 32-bit word: 4 bytes (vpdpbusd) or 2 int16 (vpmaddwd) */
  LLVMTypeRef elem; /* A's and W's element type in a word */
} int8_product;

static int8_product int8_product_of(vitc_cg *cg) {
  int8_product p = {.dot = cg->int8_dot, .vl = cg->int8_dot == VITC_INT8_VNNI512 ? 16 : 8, .kw = 4, .elem = cg->i8};
  p.nv = (cg->vregs - 2) / (MR + 1);
  p.nr = p.nv * p.vl;
  if (p.dot == VITC_INT8_PMADDWD) p.kw = 2, p.elem = cg->i16;
  return p;
}

typedef struct int8_kernel {
  vitc_cg *cg;
  int8_product p;
  LLVMValueRef ib_lo, ib_hi; /* the task's row blocks */
  int64_t m, n, k, kq;         /* kq: words of K */
  LLVMValueRef a, w, corr, scale, bias, post, c; /* in the task: A's words, this panel's W, the columns' */
  LLVMValueRef j0;                               /* constants, C's first row; the panel's first column */
  bool requantise;             /* the output's Quantize-Dequantize: */
  float y_scale;
  double y_zp, y_lo, y_hi;
  gemm_act act;
  LLVMValueRef r;  /* in the task: the residual, NULL when absent */
  int64_t r_rows;  /* its rows when it repeats down C (fewer than m), else 0 */
} int8_kernel;

static LLVMTypeRef i32v(const int8_kernel *k) { return vec_of(k->cg, k->cg->i32, k->p.vl); }
static LLVMTypeRef f32v(const int8_kernel *k) { return vec_of(k->cg, k->cg->f32, k->p.vl); }

/* acc + the products of a's and w's words, lane by lane. */
static LLVMValueRef dot(const int8_kernel *k, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef w) {
  vitc_cg *cg = k->cg;
  if (k->p.dot == VITC_INT8_PMADDWD) {
    LLVMTypeRef pairs = vec_of(cg, cg->i16, 2 * k->p.vl);
    LLVMValueRef args[2] = {vec_bitcast(cg, a, pairs), vec_bitcast(cg, w, pairs)};
    return vec_iadd(cg, acc, cg_intrinsic(cg, "llvm.x86.avx2.pmadd.wd", NULL, 0, args, 2));
  }
  LLVMValueRef args[3] = {acc, a, w};
  return cg_intrinsic(cg, k->p.dot == VITC_INT8_VNNI512 ? "llvm.x86.avx512.vpdpbusd.512" : "llvm.x86.avx512.vpdpbusd.256",
                      NULL, 0, args, 3);
}

/* The activation and the residual over the tile just stored (in L1), a row at a time: inside the tile's
 * epilogue, with its 24 accumulators live, the GELU cost ~1.7× a separate pass (ViT-B/16's fc1). */
static void finish_tile(int8_kernel *k, LLVMValueRef i0, int mr, int nv, int lanes) {
  vitc_cg *cg = k->cg;
  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, mr), 1);
  LLVMValueRef row = ix_add(cg, i0, r.iv), r_row = k->r_rows ? ix_remk(cg, row, k->r_rows) : row;
  int vl = k->p.vl;
  for (int v = 0; v < nv; v++) {
    LLVMValueRef col = ix_addk(cg, k->j0, (int64_t)v * vl), at = gep_f32(cg, k->c, ix_add(cg, ix_mulk(cg, row, k->n), col));
    int n = v == nv - 1 ? lanes : vl;
    LLVMValueRef y = emit_gemm_activate(cg, k->act, vec_load(cg, f32v(k), at, n));
    if (k->r) y = vec_add(cg, y, vec_load(cg, f32v(k), gep_f32(cg, k->r, ix_add(cg, ix_mulk(cg, r_row, k->n), col)), n));
    vec_store(cg, y, at, n);
  }
  cg_loop_end(cg, &r);
}

/* One mr x (nv vectors, the last with `lanes` columns) tile at rows i0.. */
static void emit_tile(int8_kernel *k, LLVMValueRef i0, int mr, int nv, int lanes) {
  vitc_cg *cg = k->cg;
  LLVMTypeRef vt = i32v(k), ft = f32v(k);
  int vl = k->p.vl, nr = k->p.nr;
  LLVMValueRef acc[MR][MAX_NV], arow[MR], wv[MAX_NV];
  for (int i = 0; i < mr; i++) {
    arow[i] = cg_gep(cg, cg->i32, k->a, ix_mulk(cg, ix_addk(cg, i0, i), k->kq));
    for (int v = 0; v < nv; v++) acc[i][v] = cg_var(cg, vt, LLVMConstNull(vt));
  }
  cg_loop q = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, k->kq), 1);
  /* unrolled, LLVM sums several steps' vpmaddwd products before adding them to the accumulators, which
   * needs more than 16 ymm: 13 accumulators spilled every step */
  q.rolled = k->p.dot == VITC_INT8_PMADDWD;
  LLVMValueRef wrow = cg_gep(cg, cg->i32, k->w, ix_mulk(cg, q.iv, nr));
  for (int v = 0; v < nv; v++) wv[v] = vec_load(cg, vt, cg_gep(cg, cg->i32, wrow, cg_i64(cg, (int64_t)v * vl)), vl);
  for (int i = 0; i < mr; i++) {
    LLVMValueRef as = vec_splat(cg, vec_load1(cg, cg->i32, cg_gep(cg, cg->i32, arow[i], q.iv)), vt);
    for (int v = 0; v < nv; v++) vec_store1(cg, dot(k, vec_load1(cg, vt, acc[i][v]), as, wv[v]), acc[i][v]);
  }
  cg_loop_end(cg, &q);
  for (int v = 0; v < nv; v++) {
    LLVMValueRef col = ix_addk(cg, k->j0, (int64_t)v * vl);
    LLVMValueRef corr = vec_load(cg, vt, cg_gep(cg, cg->i32, k->corr, col), vl);
    LLVMValueRef scale = vec_load(cg, ft, gep_f32(cg, k->scale, col), vl), bias = vec_load(cg, ft, gep_f32(cg, k->bias, col), vl);
    LLVMValueRef post = vec_load(cg, ft, gep_f32(cg, k->post, col), vl), ys = vec_splat(cg, cg_f32(cg, k->y_scale), ft);
    for (int i = 0; i < mr; i++) {
      LLVMValueRef s = vec_iadd(cg, vec_load1(cg, vt, acc[i][v]), corr);
      LLVMValueRef y = vec_add(cg, vec_mul(cg, vec_sitofp(cg, s, ft), scale), bias);
      if (k->requantise) {
        LLVMValueRef q = vec_add(cg, vec_call1(cg, "llvm.roundeven", vec_div(cg, y, ys)), vec_k(cg, y, k->y_zp));
        y = vec_mul(cg, vec_sub(cg, vec_clamp(cg, q, k->y_lo, k->y_hi), vec_k(cg, y, k->y_zp)), ys);
      }
      y = vec_add(cg, y, post); /* zeros when absent, as the evaluator adds */
      vec_store(cg, y, gep_f32(cg, k->c, ix_add(cg, ix_mulk(cg, ix_addk(cg, i0, i), k->n), col)), v == nv - 1 ? lanes : vl);
    }
  }
  if (k->act != GEMM_ACT_NONE || k->r) finish_tile(k, i0, mr, nv, lanes);
}

/* The row blocks [ib_lo, ib_hi) of the current panel, nv vectors wide (the last with `lanes`). */
static void emit_row_blocks(int8_kernel *k, LLVMValueRef ib_lo, LLVMValueRef ib_hi, int nv, int lanes) {
  vitc_cg *cg = k->cg;
  int64_t mfull = k->m / MR, mtail = k->m % MR;
  cg_loop ib = cg_loop_begin(cg, ib_lo, ix_min(cg, ib_hi, cg_i64(cg, mfull)), 1);
  emit_tile(k, ix_mulk(cg, ib.iv, MR), MR, nv, lanes);
  cg_loop_end(cg, &ib);
  if (mtail) {
    cg_if tail = cg_if_begin(cg, vec_icmp(cg, LLVMIntEQ, ib_hi, cg_i64(cg, mfull + 1)));
    emit_tile(k, cg_i64(cg, mfull * MR), (int)mtail, nv, lanes);
    cg_if_end(cg, &tail);
  }
}

static void row_blocks_of_panel(void *k, int nv, int lanes) {
  int8_kernel *kc = k;
  emit_row_blocks(kc, kc->ib_lo, kc->ib_hi, nv, lanes);
}

/* What step 1 quantises with. */
typedef struct quantise_row {
  LLVMValueRef src, dst;
  LLVMTypeRef elem; /* the product's (int8_product) */
  float x_scale;
  double zp, shift, lo, hi;
} quantise_row;

static void quantise_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  quantise_row *r = state;
  LLVMValueRef x = f32v_load(cg, gep_f32(cg, r->src, i), lanes);
  LLVMValueRef q = vec_call1(cg, "llvm.roundeven", vec_div(cg, x, f32v_splat(cg, cg_f32(cg, r->x_scale))));
  q = vec_clamp(cg, vec_add(cg, q, vec_k(cg, q, r->zp)), r->lo, r->hi);
  if (r->elem == cg->i16) {
    vec_store(cg, vec_fptosi(cg, vec_add(cg, q, vec_k(cg, q, r->shift)), vec_of(cg, cg->i16, VL)), cg_gep(cg, cg->i16, r->dst, i), lanes);
    return;
  }
  /* q + shift is in [0, 255]: converted to signed bytes 128 lower, its top bit flipped back */
  LLVMValueRef b = vec_fptosi(cg, vec_add(cg, q, vec_k(cg, q, r->shift - 128)), vec_of(cg, cg->i8, VL));
  vec_store(cg, vec_xor(cg, b, vec_k(cg, b, -128)), cg_gep(cg, cg->i8, r->dst, i), lanes);
}

/* Step 1: A's rows as unsigned values [M][KP] in the work space, one task per row. Returns the buffer. */
static LLVMValueRef quantise_a(vitc_cg *cg, const int8_kernel *k, quantise_row r) {
  int64_t kp = k->kq * k->p.kw;
  LLVMValueRef buf = cg_scratch(cg, (size_t)(k->m * kp * (4 / k->p.kw)));
  LLVMValueRef captured[2] = {cg_in(cg, 0), buf};
  cg_task t = cg_task_begin(cg, captured, 2);
  cg_loop row = cg_loop_begin(cg, t.begin, t.end, 1);
  r.src = gep_f32(cg, t.vals[0], ix_mulk(cg, row.iv, k->k));
  r.elem = k->p.elem;
  r.dst = cg_gep(cg, r.elem, t.vals[1], ix_mulk(cg, row.iv, kp));
  vec_for(cg, cg_i64(cg, 0), k->k, VL, quantise_vector, &r);
  for (int64_t p = k->k; p < kp; p++) vec_store1(cg, LLVMConstInt(r.elem, 0, false), cg_gep(cg, r.elem, r.dst, cg_i64(cg, p)));
  cg_loop_end(cg, &row);
  cg_task_end(cg, &t, k->m);
  return buf;
}

/* A per-column constant of the epilogue (0 when the input is absent), for column j. */
static float column(const vitc_value *v, int64_t j) {
  return v ? (float)vitc_load_f(v, vitc_numel(v) == 1 ? 0 : j) : 0.0f;
}

static const vitc_value *optional_in(vitc_cg *cg, int k) { return k < cg->node->nin ? cg_in_value(cg, k) : NULL; }

/* The compile-time constants: W's panels, corr, scale, bias and post_bias (npan * nr columns each,
 * zero-padded); their offsets in the node's constants. */
static vitc_status pack_constants(vitc_cg *cg, const int8_kernel *k, int64_t zp_shift, int64_t off[5], vitc_error *err) {
  const vitc_value *w = cg_in_value(cg, 3), *ws = cg_in_value(cg, 4), *bias = optional_in(cg, 5), *post = optional_in(cg, 8);
  float x_scale = *(const float *)cg_in_value(cg, 1)->data;
  int64_t nr = k->p.nr, npan = ceil_div(k->n, nr), cols = npan * nr, bits = 32 / k->p.kw;
  uint32_t *packed = calloc((size_t)(npan * k->kq * nr) + 1, sizeof *packed);
  int32_t *corr = calloc((size_t)cols, sizeof *corr);
  float *scale = calloc((size_t)cols, sizeof *scale), *b = calloc((size_t)cols, sizeof *b), *pb = calloc((size_t)cols, sizeof *pb);
  vitc_status st = packed && corr && scale && b && pb ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory packing int8 weights");
  const int8_t *wd = w->data;
  for (int64_t j = 0; st == VITC_OK && j < k->n; j++) {
    int64_t sum = 0, jp = j / nr, jj = j % nr;
    for (int64_t p = 0; p < k->k; p++) {
      sum += wd[p * k->n + j];
      packed[(jp * k->kq + p / k->p.kw) * nr + jj] |= ((uint32_t)wd[p * k->n + j] & (UINT32_MAX >> (32 - bits))) << (bits * (p % k->p.kw));
    }
    corr[j] = (int32_t)(-zp_shift * sum);
    scale[j] = x_scale * column(ws, j);
    b[j] = column(bias, j);
    pb[j] = column(post, j);
  }
  if (st == VITC_OK) st = cg_add_blob(cg, packed, sizeof *packed * (size_t)(npan * k->kq * nr), &off[0], err);
  if (st == VITC_OK) st = cg_add_blob(cg, corr, sizeof *corr * (size_t)cols, &off[1], err);
  if (st == VITC_OK) st = cg_add_blob(cg, scale, sizeof *scale * (size_t)cols, &off[2], err);
  if (st == VITC_OK) st = cg_add_blob(cg, b, sizeof *b * (size_t)cols, &off[3], err);
  if (st == VITC_OK) st = cg_add_blob(cg, pb, sizeof *pb * (size_t)cols, &off[4], err);
  free(packed), free(corr), free(scale), free(b), free(pb);
  return st;
}

vitc_status emit_Int8Gemm(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  for (int i = 1; i < n->nin && i < 9; i++) /* scales, zero points, weight and biases: folded into the constants */
    if (cg_in_value(cg, i) && !cg_in_value(cg, i)->data)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Int8Gemm input %d must be known at compile time", i);
  const vitc_value *x = cg_in_value(cg, 0), *w = cg_in_value(cg, 3), *zpv = cg_in_value(cg, 2);
  int8_kernel k = {.cg = cg, .p = int8_product_of(cg), .k = w->dims[0], .n = w->dims[1], .act = emit_gemm_act_of(n)};
  const vitc_value *res = optional_in(cg, 9);
  k.m = k.k ? vitc_numel(x) / k.k : 0;
  k.kq = ceil_div(k.k, k.p.kw);
  if (!k.m || !k.n) return VITC_OK;
  int64_t lo, hi, zp = vitc_load_i(zpv, 0), shift = zpv->dtype == VITC_I8 ? 128 : 0, off[5];
  vitc_quant_range(zpv->dtype, &lo, &hi);
  const vitc_value *ys = optional_in(cg, 6), *yz = optional_in(cg, 7);
  if ((k.requantise = ys != NULL)) {
    int64_t ylo, yhi;
    vitc_quant_range(yz->dtype, &ylo, &yhi);
    k.y_scale = *(const float *)ys->data;
    k.y_zp = (double)vitc_load_i(yz, 0), k.y_lo = (double)ylo, k.y_hi = (double)yhi;
  }
  vitc_status st = pack_constants(cg, &k, zp + shift, off, err);
  if (st) return st;
  quantise_row r = {.x_scale = *(const float *)cg_in_value(cg, 1)->data, .zp = (double)zp, .shift = (double)shift,
                    .lo = (double)lo, .hi = (double)hi};
  LLVMValueRef abuf = quantise_a(cg, &k, r);

  int64_t npan = ceil_div(k.n, k.p.nr), mblocks = ceil_div(k.m, MR);
  int64_t nmc = ceil_div(mblocks, MC_BLOCKS), bpc = ceil_div(mblocks, nmc);
  if (res) k.r_rows = vitc_numel(res) / k.n < k.m ? vitc_numel(res) / k.n : 0;
  LLVMValueRef captured[4] = {abuf, cg->weights, cg_out(cg, 0), res ? cg_in(cg, 9) : NULL};
  cg_task t = cg_task_begin(cg, captured, res ? 4 : 3);
  cg_loop task = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef mc = ix_remk(cg, task.iv, nmc), jp = ix_divk(cg, task.iv, nmc);
  LLVMValueRef blob = t.vals[1];
  k.a = t.vals[0];
  k.c = t.vals[2];
  k.r = res ? t.vals[3] : NULL;
  k.j0 = ix_mulk(cg, jp, k.p.nr);
  k.w = cg_gep(cg, cg->i32, cg_gep(cg, cg->i8, blob, cg_i64(cg, off[0])), ix_mulk(cg, jp, k.kq * k.p.nr));
  k.corr = cg_gep(cg, cg->i8, blob, cg_i64(cg, off[1]));
  k.scale = cg_gep(cg, cg->i8, blob, cg_i64(cg, off[2]));
  k.bias = cg_gep(cg, cg->i8, blob, cg_i64(cg, off[3]));
  k.post = cg_gep(cg, cg->i8, blob, cg_i64(cg, off[4]));
  k.ib_lo = ix_mulk(cg, mc, bpc), k.ib_hi = ix_min(cg, ix_addk(cg, k.ib_lo, bpc), cg_i64(cg, mblocks));
  emit_by_panel_width(cg, jp, cg_i64(cg, npan), k.n, k.p.nv, k.p.vl, row_blocks_of_panel, &k);
  cg_loop_end(cg, &task);
  cg_task_end(cg, &t, npan * nmc);
  return VITC_OK;
}
