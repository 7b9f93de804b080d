/* emit_factorized_context.c — vitc.FactorizedContext (ir/ops/factorized_context.c), an output row
 * (b, c) at a time:
 *
 *   for r = (b, c) < B·D:                        (across the runtime pool when large)
 *     w[j] = exp(k[b, j, c] - max_j k[b, j, c])   the column's softmax weights, on the task's stack
 *     y[b, c, e] = Σ_j w[j] · v[b, j, e] / Σ_j w[j]
 *
 * The weights of a column are computed once and stay in cache while v is summed against them; the
 * softmax never reaches memory the graph sees. float32 in vectors of the target's width (vec.h, vm_exp):
 * the column of k is copied to the stack once, its maximum, exp and sum run along j, the product with v
 * along e. (A scalar loop in double ran CoaT-Lite Small's 16 of them at 0.3 GFLOP/s, a quarter of the
 * model's time.)
 *
 * vitc.FactorizedAttention (the whole attention from the qkv rows) runs the same context rows for every
 * (b, h, i), k and v read in place from qkv, into a work space ctx [B, H, D, D]; then a task per token
 * row (b, n) builds Y[b, n, :] in place, the row in cache:
 *
 *   y = 0;  if n >= L:  y = bias + Σ taps w[ky, kx, :] · vimg[b, y+ky-KH/2, x+kx-KW/2, :];  y *= q[b, n, :]
 *   y[h·D + j..] += scale · Σ_i q[b, n, h·D + i] · ctx[b, h, i, j..]                       (each head h)
 *
 * the taps outside the image skipped whole (one test per tap, not per element). */
#include <math.h>
#include <string.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emitters.h"

enum { P_K, P_V, P_Y, NPTRS };

/* Where the context rows read k and v and write y: row r = (b, h, i) < B·H·D; k(b, h, j, i) at
 * b·k_batch + h·k_head + j·k_token + i, v(b, h, j, e) at b·v_batch + h·v_head + j·v_token + e, y at r·cols + e. */
typedef struct fc_layout {
  int64_t rows, heads, width, tokens, cols;
  int64_t k_batch, k_head, k_token, v_batch, v_head, v_token;
} fc_layout;

/* One output row's state, read by the vec_for bodies below. */
typedef struct fc_row {
  int64_t tokens, cols, v_token;
  LLVMValueRef *ptrs;
  LLVMValueRef w;             /* the column's weights [N] on the stack */
  LLVMValueRef top, inv;      /* their maximum, 1 / their sum */
  LLVMValueRef v_rows, y_row; /* offsets of v[b, h, 0, 0] and y[r, 0] */
  cg_mut acc;
} fc_row;

static LLVMTypeRef vt(vitc_cg *cg) { return vec_f32(cg); }

/* The lanes of a tail step are off past `lanes`; they take `fill` so a fold over whole vectors ignores them. */
static LLVMValueRef only_lanes(vitc_cg *cg, LLVMValueRef v, int lanes, double fill) {
  if (lanes == vec_width(cg)) return v;
  return vec_select(cg, vec_mask(cg, vec_width(cg), lanes), v, vec_const(cg, vt(cg), fill));
}

static void max_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  fc_row *t = state;
  LLVMValueRef x = only_lanes(cg, vec_load(cg, vt(cg), gep_f32(cg, t->w, j), lanes), lanes, -HUGE_VALF);
  cg_set(cg, t->acc, vec_max(cg, cg_get(cg, t->acc), x));
}

static void exp_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  fc_row *t = state;
  LLVMValueRef at = gep_f32(cg, t->w, j);
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, vec_load(cg, vt(cg), at, lanes), vec_splat(cg, t->top, vt(cg))));
  vec_store(cg, e, at, lanes);
  cg_set(cg, t->acc, vec_add(cg, cg_get(cg, t->acc), only_lanes(cg, e, lanes, 0)));
}

/* y[r, e..] = Σ_j w[j] · v[b, h, j, e..] / Σ_j w[j] */
static void value_step(vitc_cg *cg, LLVMValueRef e, int lanes, void *state) {
  fc_row *t = state;
  cg_set(cg, t->acc, vec_const(cg, vt(cg), 0));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  LLVMValueRef w = vec_load1(cg, cg->f32, gep_f32(cg, t->w, j.iv));
  LLVMValueRef v = vec_load(cg, vt(cg), gep_f32(cg, t->ptrs[P_V], ix_add(cg, ix_add(cg, t->v_rows, ix_mulk(cg, j.iv, t->v_token)), e)), lanes);
  cg_set(cg, t->acc, vec_fma(cg, vec_splat(cg, w, vt(cg)), v, cg_get(cg, t->acc)));
  cg_loop_end(cg, &j);
  vec_store(cg, vec_mul(cg, cg_get(cg, t->acc), vec_splat(cg, t->inv, vt(cg))),
            gep_f32(cg, t->ptrs[P_Y], ix_add(cg, t->y_row, e)), lanes);
}

/* The context rows of layout l: ptrs = {k, v, y} (k and v may be one tensor). */
static void emit_context_rows(vitc_cg *cg, const fc_layout *l, LLVMValueRef *ptrs) {
  fc_row t = {.tokens = l->tokens, .cols = l->cols, .v_token = l->v_token, .ptrs = ptrs};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, l->rows, l->rows * l->tokens * (l->cols + 2), ptrs, NPTRS);
  t.w = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)l->tokens), NULL);
  t.acc = cg_mut_new(cg, vt(cg), NULL);
  LLVMValueRef bh = ix_divk(cg, r, l->width), c = ix_remk(cg, r, l->width);
  LLVMValueRef batch = ix_divk(cg, bh, l->heads), head = ix_remk(cg, bh, l->heads);
  LLVMValueRef k_col = ix_add(cg, ix_add(cg, ix_mulk(cg, batch, l->k_batch), ix_mulk(cg, head, l->k_head)), c);
  t.v_rows = ix_add(cg, ix_mulk(cg, batch, l->v_batch), ix_mulk(cg, head, l->v_head));
  t.y_row = ix_mulk(cg, r, l->cols);

  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, l->tokens), 1); /* w[j] = k[b, h, j, c] */
  LLVMValueRef x = vec_load1(cg, cg->f32, gep_f32(cg, ptrs[P_K], ix_add(cg, k_col, ix_mulk(cg, j.iv, l->k_token))));
  vec_store1(cg, x, gep_f32(cg, t.w, j.iv));
  cg_loop_end(cg, &j);

  cg_set(cg, t.acc, vec_const(cg, vt(cg), -HUGE_VALF));
  vec_for(cg, cg_i64(cg, 0), l->tokens, vec_width(cg), max_step, &t);
  t.top = vec_reduce(cg, VEC_MAX, cg_get(cg, t.acc));
  cg_set(cg, t.acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, cg_i64(cg, 0), l->tokens, vec_width(cg), exp_step, &t);
  t.inv = vec_div(cg, cg_const(cg, cg->f32, 1), vec_reduce(cg, VEC_SUM, cg_get(cg, t.acc)));
  vec_for(cg, cg_i64(cg, 0), l->cols, vec_width(cg), value_step, &t);
  rows_end(cg, &rl);
}

vitc_status emit_FactorizedContext(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  (void)n;
  (void)err;
  const vitc_value *k = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t width = k->dims[k->rank - 1], tokens = k->dims[k->rank - 2], cols = y->dims[y->rank - 1];
  if (vitc_numel(y) == 0) return VITC_OK;
  fc_layout l = {.rows = vitc_numel(y) / cols, .heads = 1, .width = width, .tokens = tokens, .cols = cols,
                 .k_batch = tokens * width, .k_token = width, .v_batch = tokens * cols, .v_token = cols};
  LLVMValueRef ptrs[NPTRS] = {cg_in(cg, 0), cg_in(cg, 1), cg_out(cg, 0)};
  emit_context_rows(cg, &l, ptrs);
  return VITC_OK;
}

enum { A_QKV, A_W, A_BIAS, A_CTX, A_Y, NAPTRS };

/* One token row's state for FactorizedAttention's bodies. */
typedef struct fa_row {
  LLVMValueRef *ptrs;
  LLVMValueRef q_row, y_row, tap, w_tap; /* offsets of q[b, n, 0], y[b, n, 0], vimg's tap pixel, w[ky, kx, 0] */
  LLVMValueRef ctx_head, head_lo;        /* ctx[b, h, 0, 0] and h·D */
  cg_mut acc;
  int64_t d;
  double scale;
} fa_row;

static LLVMValueRef at(vitc_cg *cg, const fa_row *t, int p, LLVMValueRef base, LLVMValueRef i) {
  return gep_f32(cg, t->ptrs[p], ix_add(cg, base, i));
}

static void zero_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  fa_row *t = state;
  vec_store(cg, vec_const(cg, vt(cg), 0), at(cg, t, A_Y, t->y_row, c), lanes);
}

static void bias_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  fa_row *t = state;
  vec_store(cg, vec_load(cg, vt(cg), at(cg, t, A_BIAS, cg_i64(cg, 0), c), lanes), at(cg, t, A_Y, t->y_row, c), lanes);
}

/* y[c..] += w[ky, kx, c..] · vimg[tap, c..] */
static void tap_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  fa_row *t = state;
  LLVMValueRef y = at(cg, t, A_Y, t->y_row, c);
  LLVMValueRef w = vec_load(cg, vt(cg), at(cg, t, A_W, t->w_tap, c), lanes);
  LLVMValueRef v = vec_load(cg, vt(cg), at(cg, t, A_QKV, t->tap, c), lanes);
  vec_store(cg, vec_fma(cg, w, v, vec_load(cg, vt(cg), y, lanes)), y, lanes);
}

static void gate_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  fa_row *t = state;
  LLVMValueRef y = at(cg, t, A_Y, t->y_row, c);
  LLVMValueRef q = vec_load(cg, vt(cg), at(cg, t, A_QKV, t->q_row, c), lanes);
  vec_store(cg, vec_mul(cg, q, vec_load(cg, vt(cg), y, lanes)), y, lanes);
}

/* y[h·D + j..] += scale · Σ_i q[h·D + i] · ctx[b, h, i, j..]   (c = h·D + j) */
static void context_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  fa_row *t = state;
  LLVMValueRef j = ix_sub(cg, c, t->head_lo);
  cg_mut acc = t->acc;
  cg_set(cg, acc, vec_const(cg, vt(cg), 0));
  cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->d), 1);
  LLVMValueRef q = vec_load1(cg, cg->f32, at(cg, t, A_QKV, t->q_row, ix_add(cg, t->head_lo, i.iv)));
  LLVMValueRef ctx = vec_load(cg, vt(cg), at(cg, t, A_CTX, ix_add(cg, t->ctx_head, ix_mulk(cg, i.iv, t->d)), j), lanes);
  cg_set(cg, acc, vec_fma(cg, vec_splat(cg, q, vt(cg)), ctx, cg_get(cg, acc)));
  cg_loop_end(cg, &i);
  LLVMValueRef y = at(cg, t, A_Y, t->y_row, c);
  vec_store(cg, vec_fma(cg, vec_splat(cg, cg_f32(cg, (float)t->scale), vt(cg)), cg_get(cg, acc), vec_load(cg, vt(cg), y, lanes)), y, lanes);
}

vitc_status emit_FactorizedAttention(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  (void)err;
  const vitc_value *w = cg_in_value(cg, 1), *y = cg_out_value(cg, 0);
  int len;
  const int64_t *image = vitc_attr_ints(n, "image", &len);
  int64_t batch = y->dims[0], tokens = y->dims[1], c = y->dims[2], heads = vitc_attr_int(n, "heads", 1);
  int64_t d = c / heads, ih = image[0], iw = image[1], lead = tokens - ih * iw, kh = w->dims[0], kw = w->dims[1];
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ctx = cg_scratch(cg, sizeof(float) * (size_t)(batch * heads * d * d));
  fc_layout l = {.rows = batch * heads * d, .heads = heads, .width = d, .tokens = tokens, .cols = d,
                 .k_batch = tokens * 3 * c, .k_head = d, .k_token = 3 * c,
                 .v_batch = tokens * 3 * c, .v_head = d, .v_token = 3 * c};
  LLVMValueRef qkv_k = gep_f32(cg, cg_in(cg, 0), cg_i64(cg, c)), qkv_v = gep_f32(cg, cg_in(cg, 0), cg_i64(cg, 2 * c));
  LLVMValueRef cptrs[NPTRS] = {qkv_k, qkv_v, ctx};
  emit_context_rows(cg, &l, cptrs);

  LLVMValueRef ptrs[NAPTRS] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), ctx, cg_out(cg, 0)};
  fa_row t = {.ptrs = ptrs, .d = d, .scale = vitc_attr_float(n, "scale", 1)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, batch * tokens, batch * tokens * c * (2 * d + kh * kw), ptrs, NAPTRS);
  t.acc = cg_mut_new(cg, vt(cg), NULL);
  LLVMValueRef b = ix_divk(cg, r, tokens), tok = ix_remk(cg, r, tokens), zero = cg_i64(cg, 0);
  t.q_row = ix_mulk(cg, r, 3 * c);
  t.y_row = ix_mulk(cg, r, c);
  vec_for(cg, zero, c, vec_width(cg), zero_step, &t);
  cg_if inside = cg_if_begin(cg, vec_icmp(cg, LLVMIntSGE, tok, cg_i64(cg, lead)));
  LLVMValueRef pixel = ix_addk(cg, tok, -lead), oy = ix_divk(cg, pixel, iw), ox = ix_remk(cg, pixel, iw);
  vec_for(cg, zero, c, vec_width(cg), bias_step, &t);
  for (int64_t ky = 0; ky < kh; ky++) {
    LLVMValueRef iy = ix_addk(cg, oy, ky - kh / 2);
    cg_if row_in = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih)));
    cg_loop kx = cg_loop_begin(cg, zero, cg_i64(cg, kw), 1);
    LLVMValueRef ix = ix_add(cg, ox, ix_addk(cg, kx.iv, -(kw / 2)));
    cg_if col_in = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, ix, cg_i64(cg, iw)));
    LLVMValueRef src = ix_add(cg, ix_mulk(cg, b, tokens), ix_addk(cg, ix_add(cg, ix_mulk(cg, iy, iw), ix), lead));
    t.tap = ix_addk(cg, ix_mulk(cg, src, 3 * c), 2 * c);
    t.w_tap = ix_mulk(cg, ix_addk(cg, kx.iv, ky * kw), c);
    vec_for(cg, zero, c, vec_width(cg), tap_step, &t);
    cg_if_end(cg, &col_in);
    cg_loop_end(cg, &kx);
    cg_if_end(cg, &row_in);
  }
  vec_for(cg, zero, c, vec_width(cg), gate_step, &t);
  cg_if_end(cg, &inside);
  cg_loop h = cg_loop_begin(cg, zero, cg_i64(cg, heads), 1);
  t.head_lo = ix_mulk(cg, h.iv, d);
  t.ctx_head = ix_mulk(cg, ix_add(cg, ix_mulk(cg, b, heads), h.iv), d * d);
  vec_for(cg, t.head_lo, d, vec_width(cg), context_step, &t);
  cg_loop_end(cg, &h);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* vitc.ChannelAttention (ir/ops/channel_attention.c, XCiT's cross-covariance attention): q, k and v read in
 * place from the qkv rows and Y written as rows, so no transposed copy exists. Per image b and head h:
 *
 *   1. inv[b, x·C + h·D + j..] = 1 / max(‖column x·C + h·D + j.. of image b's qkv rows‖₂, 1e-12)
 *      for q (x = 0) and k (x = 1): a row loop per (b, x, h), into work space
 *   2. G[b, h] = qᵀ · k      [D × D] over the N tokens: emit_gemm, A = q read transposed from the rows
 *   3. a row per (b, h, i): s[j..] = scale · T[h] · inv[b, h·D + i] · inv[b, C + h·D + j..] · G[b, h, i, j..],
 *      its softmax on the stack (FactorizedContext's steps), stored transposed: at[b, h, j, i] = A(b, h, i, j)
 *   4. Y[b·N + n, h·D + i] = Σ_j v[n, h·D + j] · at[b, h, j, i]: emit_gemm writing the heads' columns of Y
 *
 * The products are the GEMM's register-blocked tiles (a per-row dot product loop chained its FMAs and
 * ran XCiT-S slower than the transposing Attention it replaces); the D × D matrices are small (XCiT-S: 48 × 48). */
enum { C_QKV, C_T, C_INV, C_GRAM, C_AT, NCPTRS };

/* A row of step 1 or 3. */
typedef struct ca_row {
  LLVMValueRef *ptrs;
  LLVMValueRef rows, col, inv_row; /* step 1: image b's first qkv row, the column's offset in a row, inv[b, col] */
  LLVMValueRef gram_row, inv_k;    /* step 3: G[b, h, i, 0] and inv[b, C + h·D] */
  LLVMValueRef factor;             /* step 3: scale · T[h] · inv[b, h·D + i] */
  int64_t tokens, c3;
  fc_row soft; /* step 3's scores w and both steps' accumulator */
} ca_row;

/* inv[b, col + j..] = 1 / max(sqrt(Σ_n qkv[n, col + j..]²), 1e-12) */
static void norm_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  ca_row *t = state;
  cg_set(cg, t->soft.acc, vec_const(cg, vt(cg), 0));
  cg_loop n = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  LLVMValueRef at = ix_add(cg, ix_add(cg, t->rows, ix_mulk(cg, n.iv, t->c3)), ix_add(cg, t->col, j));
  LLVMValueRef x = vec_load(cg, vt(cg), gep_f32(cg, t->ptrs[C_QKV], at), lanes);
  cg_set(cg, t->soft.acc, vec_fma(cg, x, x, cg_get(cg, t->soft.acc)));
  cg_loop_end(cg, &n);
  LLVMValueRef norm = vec_max(cg, vec_sqrt(cg, cg_get(cg, t->soft.acc)), vec_const(cg, vt(cg), 1e-12));
  vec_store(cg, vec_div(cg, vec_const(cg, vt(cg), 1), norm), gep_f32(cg, t->ptrs[C_INV], ix_add(cg, t->inv_row, j)), lanes);
}

/* w[j..] = factor · inv_k[j..] · G[b, h, i, j..] */
static void score_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  ca_row *t = state;
  LLVMValueRef g = vec_load(cg, vt(cg), gep_f32(cg, t->ptrs[C_GRAM], ix_add(cg, t->gram_row, j)), lanes);
  LLVMValueRef inv_k = vec_load(cg, vt(cg), gep_f32(cg, t->ptrs[C_INV], ix_add(cg, t->inv_k, j)), lanes);
  vec_store(cg, vec_mul(cg, vec_mul(cg, g, inv_k), vec_splat(cg, t->factor, vt(cg))), gep_f32(cg, t->soft.w, j), lanes);
}

/* A GEMM per (image, head) over the qkv rows: A(i, p) at a + b·N·3C + h·D + i·a_rs + p·a_cs, B likewise,
 * Y_b,h(i, j) at c + b·c_image + h·c_head + i·ldc + j. */
static gemm_desc head_gemm(int64_t images, int64_t heads, int64_t tokens, int64_t d, int64_t c3) {
  gemm_desc g = {.dtype = VITC_F32, .nbatch = 2, .batch = {images, heads}, .alpha = 1};
  g.a_bs[0] = g.b_bs[0] = tokens * c3;
  g.a_bs[1] = g.b_bs[1] = d;
  return g;
}

vitc_status emit_ChannelAttention(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *qkv = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t c3 = qkv->dims[qkv->rank - 1], c = c3 / 3, heads = vitc_attr_int(n, "heads", 1), d = c / heads;
  int64_t tokens = vitc_attr_int(n, "tokens", 1), rows = vitc_numel(y) / c, images = rows / tokens;
  if (vitc_numel(y) == 0) return VITC_OK;
  size_t matrices = sizeof(float) * (size_t)(images * heads * d * d);
  LLVMValueRef inv = cg_scratch(cg, sizeof(float) * (size_t)(images * 2 * c)), gram = cg_scratch(cg, matrices);
  LLVMValueRef at = cg_scratch(cg, matrices), zero = cg_i64(cg, 0);
  /* rows_begin replaces a task's pointers by its own copies: each loop starts from the function's */
  LLVMValueRef args[NCPTRS] = {cg_in(cg, 0), cg_in(cg, 1), inv, gram, at}, ptrs[NCPTRS];
  ca_row t = {.ptrs = ptrs, .tokens = tokens, .c3 = c3};

  row_loop rl; /* 1: a row per (b, x, h) */
  memcpy(ptrs, args, sizeof args);
  LLVMValueRef r = rows_begin(cg, &rl, images * 2 * heads, images * tokens * 2 * c, ptrs, NCPTRS);
  t.soft.acc = cg_mut_new(cg, vt(cg), NULL);
  LLVMValueRef b = ix_divk(cg, r, 2 * heads);
  t.rows = ix_mulk(cg, b, tokens * c3);
  t.col = ix_mulk(cg, ix_remk(cg, r, 2 * heads), d);
  t.inv_row = ix_add(cg, ix_mulk(cg, b, 2 * c), t.col);
  vec_for(cg, zero, d, vec_width(cg), norm_step, &t);
  rows_end(cg, &rl);

  gemm_desc g = head_gemm(images, heads, tokens, d, c3); /* 2: G = qᵀ · k */
  g.m = g.n = d;
  g.k = tokens;
  g.a = args[C_QKV];
  g.a_rs = 1, g.a_cs = c3;
  g.b = gep_f32(cg, args[C_QKV], cg_i64(cg, c));
  g.b_rs = c3, g.b_cs = 1;
  g.c = gram;
  g.ldc = d, g.c_bs[0] = heads * d * d, g.c_bs[1] = d * d;
  vitc_status st = emit_gemm(cg, &g, err);
  if (st != VITC_OK) return st;

  /* 3: a row per (b, h, i) */
  memcpy(ptrs, args, sizeof args);
  r = rows_begin(cg, &rl, images * heads * d, images * heads * d * d * 8, ptrs, NCPTRS);
  t.soft.acc = cg_mut_new(cg, vt(cg), NULL);
  t.soft.w = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)d), NULL);
  LLVMValueRef bh = ix_divk(cg, r, d), i = ix_remk(cg, r, d), h = ix_remk(cg, bh, heads);
  LLVMValueRef inv_row = ix_add(cg, ix_mulk(cg, ix_divk(cg, bh, heads), 2 * c), ix_mulk(cg, h, d));
  t.gram_row = ix_mulk(cg, r, d);
  t.inv_k = ix_addk(cg, inv_row, c);
  LLVMValueRef temperature = vec_load1(cg, cg->f32, gep_f32(cg, ptrs[C_T], h));
  LLVMValueRef inv_q = vec_load1(cg, cg->f32, gep_f32(cg, ptrs[C_INV], ix_add(cg, inv_row, i)));
  t.factor = vec_mul(cg, vec_mul(cg, temperature, inv_q), cg_f32(cg, (float)vitc_attr_float(n, "scale", 1)));
  vec_for(cg, zero, d, vec_width(cg), score_step, &t);
  cg_set(cg, t.soft.acc, vec_const(cg, vt(cg), -HUGE_VALF));
  vec_for(cg, zero, d, vec_width(cg), max_step, &t.soft);
  t.soft.top = vec_reduce(cg, VEC_MAX, cg_get(cg, t.soft.acc));
  cg_set(cg, t.soft.acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, zero, d, vec_width(cg), exp_step, &t.soft);
  LLVMValueRef inv_sum = vec_div(cg, cg_const(cg, cg->f32, 1), vec_reduce(cg, VEC_SUM, cg_get(cg, t.soft.acc)));
  cg_loop j = cg_loop_begin(cg, zero, cg_i64(cg, d), 1); /* at[b, h, j, i] = w[j] / Σ w */
  LLVMValueRef a = vec_mul(cg, vec_load1(cg, cg->f32, gep_f32(cg, t.soft.w, j.iv)), inv_sum);
  vec_store1(cg, a, gep_f32(cg, ptrs[C_AT], ix_add(cg, ix_mulk(cg, ix_add(cg, ix_mulk(cg, bh, d), j.iv), d), i)));
  cg_loop_end(cg, &j);
  rows_end(cg, &rl);

  g = head_gemm(images, heads, tokens, d, c3); /* 4: Y = v · at */
  g.m = tokens;
  g.n = g.k = d;
  g.a = gep_f32(cg, args[C_QKV], cg_i64(cg, 2 * c));
  g.a_rs = c3, g.a_cs = 1;
  g.b = at;
  g.b_rs = d, g.b_cs = 1, g.b_bs[0] = heads * d * d, g.b_bs[1] = d * d;
  g.c = cg_out(cg, 0);
  g.ldc = c, g.c_bs[0] = tokens * c, g.c_bs[1] = d;
  return emit_gemm(cg, &g, err);
}
