/* emit_talking_heads.c — vitc.TalkingHeads (ir/ops/talking_heads.c), a block of query rows at a time:
 *
 *   Kᵀ[b, h, d, j] = k[b, j, h, d]                   packed once per batch entry, keys padded to whole vectors
 *   for each block of rows r = (b, i0 ..) < B·N:     (across the runtime pool when large)
 *     s[r, h, j] = scale · q[r, h] · Kᵀ[b, h, :, j]  register tiles of rows × 64 keys, FMAs over Dh
 *     for each row r of the block:
 *       m[g, j] = softmax_j(Σ_h s[h, j] Wl[h, g] + bl[g])
 *       s[f, j] = Σ_g m[g, j] Ww[g, f] + bw[f]
 *     y[r, f, :] = Σ_j s[r, f, j] · v[b, j, f, :]    register tiles of rows × 64 of Dh
 *
 * Each Kᵀ and V vector loaded serves every row of the block, as in emit_attention.c's tiles. The block's
 * H × N scores per row stay in two stack arrays (cache-resident) while the heads are mixed before and after
 * the softmax; nothing of them reaches memory the graph sees. The mixing (H × H, small) and the softmax
 * run along the keys j a row at a time, in three passes over the row's scores: the first mix, which also
 * finds each mixed row's maximum; exp and its sum; the second mix, with 1/Σ folded into Ww's rows. float32
 * in vectors of the target's width (vec.h, vm_exp). (CaiT-XXS24's 24 talking-heads layers, one thread: a
 * scalar loop in double ran at under 1 GFLOP/s; one row at a time with each score a dot product folded to
 * a scalar at 20-25 GFLOP/s, a third of the model's time; these tiles at 55-80 GFLOP/s on a loaded
 * machine, side by side with that one.) */
#include <math.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emitters.h"

#define ROWS 6                  /* query rows per block: ROWS × t->vecs accumulators, t->vecs loads, 1 broadcast */
#define TILE_VECS 4             /* vectors per tile at most (AVX-512's: 64 keys), of which t->vecs fit the target */
#define SCORE_BYTES (128 << 10) /* the block's two score arrays at most (on the task's stack), else fewer rows */

enum { P_QKV, P_WL, P_BL, P_WW, P_BW, P_Y, P_KT, NPTRS };

/* The block's state, read by the builders below. */
typedef struct th_block {
  int64_t heads, tokens, width, dh; /* width = H·Dh, a qkv row is 3·width */
  int64_t nk_pad;                   /* N rounded up to whole vectors: Kᵀ's and the score rows' length */
  int rows;                         /* rows of the block being emitted */
  int vecs;                         /* vectors of keys per score tile, of Dh per pass of the product with v:
                                       the widest of ROWS rows (tile_vecs_for; 4 with AVX-512, 2 with AVX2) */
  LLVMValueRef *ptrs;
  LLVMValueRef b, row0;       /* the batch entry, the qkv row of the block's first query (b·N + i0) */
  LLVMValueRef scores, mixed; /* [rows][H][nk_pad] on the stack */
  LLVMValueRef scale;
  LLVMValueRef from, to;      /* mixing: one row's [H][nk_pad] score arrays; to's row o */
  LLVMValueRef w, bias, o;    /* mixing: Wl or Ww, bl or bw, the output head */
  LLVMValueRef tops, invs;    /* [H] on the stack: each mixed row's maximum, 1 / its sum of exp */
  LLVMValueRef top_of, inv_of; /* the mixing in progress: record each row's maximum in tops (first mix);
                                  scale the weights of row h by invs[h] (second mix); else NULL */
  LLVMValueRef row_max;       /* softmax: the maximum of the row being exponentiated */
  cg_mut acc, top;
} th_block;

static LLVMTypeRef vt(vitc_cg *cg) { return vec_f32(cg); }

static LLVMValueRef load_at(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, int lanes) {
  return vec_load(cg, vt(cg), gep_f32(cg, base, i), lanes);
}

/* The lanes of a tail step are off past `lanes`; they take `fill` so a fold over whole vectors ignores them. */
static LLVMValueRef only_lanes(vitc_cg *cg, LLVMValueRef v, int lanes, double fill) {
  if (lanes == vec_width(cg)) return v;
  return vec_select(cg, vec_mask(cg, vec_width(cg), lanes), v, vec_const(cg, vt(cg), fill));
}

/* Kᵀ[b, c, j] = qkv[b, j, width + c] (c = h·Dh + d), zero for N ≤ j < nk_pad, every batch entry. */
static void pack_keys(vitc_cg *cg, const th_block *t, int64_t batch, const LLVMValueRef *ptrs) {
  LLVMValueRef p[NPTRS];
  for (int k = 0; k < NPTRS; k++) p[k] = ptrs[k];
  /* one Kᵀ row (b, c) at a time, written along j, across the pool: a thread's consecutive channels read the
   * same lines of k. Per batch entry with stores a row apart, this ran on one thread at batch 1 (CaiT-XXS24:
   * 10-15 us of each layer's node on the calling thread, the other idle). Work: each element a scalar load and
   * store, about twice what rows_begin's threshold counts for an element of a vectorised row (197 x 192 keys:
   * 10-11 us on one thread) */
  row_loop rl;
  LLVMValueRef bc = rows_begin(cg, &rl, batch * t->width, 2 * batch * t->nk_pad * t->width, p, NPTRS);
  LLVMValueRef b = ix_divk(cg, bc, t->width), c = ix_remk(cg, bc, t->width);
  LLVMValueRef kt = gep_f32(cg, p[P_KT], ix_mulk(cg, bc, t->nk_pad));
  LLVMValueRef src = gep_f32(cg, p[P_QKV], ix_add(cg, ix_mulk(cg, b, t->tokens * 3 * t->width), ix_addk(cg, c, t->width)));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  vec_store1(cg, vec_load1(cg, cg->f32, gep_f32(cg, src, ix_mulk(cg, j.iv, 3 * t->width))), gep_f32(cg, kt, j.iv));
  cg_loop_end(cg, &j);
  cg_loop j0 = cg_loop_begin(cg, cg_i64(cg, t->tokens), cg_i64(cg, t->nk_pad), 1);
  vec_store1(cg, cg_f32(cg, 0), gep_f32(cg, kt, j0.iv));
  cg_loop_end(cg, &j0);
  rows_end(cg, &rl);
}

/* s[r, h, j0 .. j0 + W·nv) = scale · Σ_d q[row0 + r, h, d] · Kᵀ[b, h, d, j0 ..] for the block's rows: rows × nv
 * vectors of keys in registers while d runs, each Kᵀ vector loaded once for all rows (the padding lanes get
 * scores no later step reads). */
static void score_tile(vitc_cg *cg, const th_block *t, LLVMValueRef h, LLVMValueRef j0, int nv) {
  int w = vec_width(cg);
  LLVMValueRef acc[ROWS][TILE_VECS], kv[TILE_VECS], q[ROWS];
  LLVMValueRef kt = gep_f32(cg, t->ptrs[P_KT], ix_mulk(cg, ix_add(cg, ix_mulk(cg, t->b, t->width), ix_mulk(cg, h, t->dh)), t->nk_pad));
  for (int r = 0; r < t->rows; r++) {
    q[r] = gep_f32(cg, t->ptrs[P_QKV], ix_add(cg, ix_mulk(cg, ix_addk(cg, t->row0, r), 3 * t->width), ix_mulk(cg, h, t->dh)));
    for (int v = 0; v < nv; v++) acc[r][v] = cg_var(cg, vt(cg), vec_const(cg, vt(cg), 0));
  }
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->dh), 1);
  LLVMValueRef krow = gep_f32(cg, kt, ix_add(cg, ix_mulk(cg, d.iv, t->nk_pad), j0));
  for (int v = 0; v < nv; v++) kv[v] = load_at(cg, krow, cg_i64(cg, (int64_t)v * w), w);
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef qd = vec_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, q[r], d.iv)), vt(cg));
    for (int v = 0; v < nv; v++) vec_store1(cg, vec_fma(cg, qd, kv[v], vec_load1(cg, vt(cg), acc[r][v])), acc[r][v]);
  }
  cg_loop_end(cg, &d);
  LLVMValueRef scale = vec_splat(cg, t->scale, vt(cg));
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef s = gep_f32(cg, t->scores, ix_add(cg, ix_mulk(cg, ix_addk(cg, h, r * t->heads), t->nk_pad), j0));
    for (int v = 0; v < nv; v++)
      vec_store(cg, vec_mul(cg, vec_load1(cg, vt(cg), acc[r][v]), scale), gep_f32(cg, s, cg_i64(cg, (int64_t)v * w)), w);
  }
}

/* y[row0 + r, f, W·c0 .. W·(c0 + n)) = Σ_j s[r, f, j] · v[b, j, f, W·c0 ..] for the block's rows (`last`: the
 * valid lanes of the last vector): rows × n vectors in registers while j runs, each v vector loaded once for
 * all rows. */
static void value_tile(vitc_cg *cg, const th_block *t, LLVMValueRef f, int64_t c0, int n, int last) {
  int w = vec_width(cg);
  LLVMValueRef acc[ROWS][TILE_VECS], vv[TILE_VECS];
  for (int r = 0; r < t->rows; r++)
    for (int c = 0; c < n; c++) acc[r][c] = cg_var(cg, vt(cg), vec_const(cg, vt(cg), 0));
  LLVMValueRef col = ix_addk(cg, ix_mulk(cg, f, t->dh), c0 * w);
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  LLVMValueRef key = ix_add(cg, ix_mulk(cg, t->b, t->tokens), j.iv);
  LLVMValueRef vrow = gep_f32(cg, t->ptrs[P_QKV], ix_add(cg, ix_mulk(cg, key, 3 * t->width), ix_addk(cg, col, 2 * t->width)));
  for (int c = 0; c < n; c++) vv[c] = load_at(cg, vrow, cg_i64(cg, (int64_t)c * w), c == n - 1 ? last : w);
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef at = ix_add(cg, ix_mulk(cg, ix_addk(cg, f, r * t->heads), t->nk_pad), j.iv);
    LLVMValueRef p = vec_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, t->scores, at)), vt(cg));
    for (int c = 0; c < n; c++) vec_store1(cg, vec_fma(cg, p, vv[c], vec_load1(cg, vt(cg), acc[r][c])), acc[r][c]);
  }
  cg_loop_end(cg, &j);
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef y = gep_f32(cg, t->ptrs[P_Y], ix_add(cg, ix_mulk(cg, ix_addk(cg, t->row0, r), t->width), col));
    for (int c = 0; c < n; c++)
      vec_store(cg, vec_load1(cg, vt(cg), acc[r][c]), gep_f32(cg, y, cg_i64(cg, (int64_t)c * w)), c == n - 1 ? last : w);
  }
}

/* to[o, j..] = bias[o] + Σ_h from[h, j..] · W[h, o] (· invs[h] in the second mix), and the running maximum
 * of to's row o in the first: the softmax's normalisation and maximum ride on the mixing, not passes of
 * their own. */
static void mix_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_block *t = state;
  cg_set(cg, t->acc, vec_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, t->bias, t->o)), vt(cg)));
  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  LLVMValueRef w = vec_load1(cg, cg->f32, gep_f32(cg, t->w, ix_add(cg, ix_mulk(cg, h.iv, t->heads), t->o)));
  if (t->inv_of) w = vec_mul(cg, w, vec_load1(cg, cg->f32, gep_f32(cg, t->inv_of, h.iv)));
  LLVMValueRef x = load_at(cg, t->from, ix_add(cg, ix_mulk(cg, h.iv, t->nk_pad), j), lanes);
  cg_set(cg, t->acc, vec_fma(cg, vec_splat(cg, w, vt(cg)), x, cg_get(cg, t->acc)));
  cg_loop_end(cg, &h);
  vec_store(cg, cg_get(cg, t->acc), gep_f32(cg, t->to, ix_add(cg, ix_mulk(cg, t->o, t->nk_pad), j)), lanes);
  if (t->top_of) cg_set(cg, t->top, vec_max(cg, cg_get(cg, t->top), only_lanes(cg, cg_get(cg, t->acc), lanes, -HUGE_VALF)));
}

/* softmax along row `to` of the stack array, its maximum known: exp and sum */
static void exp_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_block *t = state;
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, load_at(cg, t->to, j, lanes), vec_splat(cg, t->row_max, vt(cg))));
  vec_store(cg, e, gep_f32(cg, t->to, j), lanes);
  cg_set(cg, t->acc, vec_add(cg, cg_get(cg, t->acc), only_lanes(cg, e, lanes, 0)));
}

/* to[o, :] = bias[o] + Σ_h from[h, :] · W[h, o] for every head o (tops, invs: as th_block's top_of, inv_of). */
static void mix_heads(vitc_cg *cg, th_block *t, int w, int bias, LLVMValueRef from, LLVMValueRef to, LLVMValueRef tops,
                      LLVMValueRef invs) {
  t->w = t->ptrs[w], t->bias = t->ptrs[bias], t->from = from, t->to = to, t->top_of = tops, t->inv_of = invs;
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  t->o = o.iv;
  if (tops) cg_set(cg, t->top, vec_const(cg, vt(cg), -HUGE_VALF));
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), mix_step, t);
  if (tops) vec_store1(cg, vec_reduce(cg, VEC_MAX, cg_get(cg, t->top)), gep_f32(cg, tops, o.iv));
  cg_loop_end(cg, &o);
}

/* m[g, :] = exp(m[g, :] - tops[g]) for every head g, invs[g] = 1 / its sum: the softmax unnormalised. */
static void softmax_rows(vitc_cg *cg, th_block *t, LLVMValueRef m) {
  cg_loop g = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  t->to = gep_f32(cg, m, ix_mulk(cg, g.iv, t->nk_pad));
  t->row_max = vec_load1(cg, cg->f32, gep_f32(cg, t->tops, g.iv));
  cg_set(cg, t->acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), exp_step, t);
  LLVMValueRef inv = vec_div(cg, cg_const(cg, cg->f32, 1), vec_reduce(cg, VEC_SUM, cg_get(cg, t->acc)));
  vec_store1(cg, inv, gep_f32(cg, t->invs, g.iv));
  cg_loop_end(cg, &g);
}

/* The block's `rows` query rows from row0: scores a key tile at a time, the heads mixed and the softmax a
 * row at a time, then the product with v a tile of Dh at a time. */
static void emit_block(vitc_cg *cg, th_block *t, int rows) {
  int w = vec_width(cg);
  int tv = t->vecs;
  int64_t kvecs = t->nk_pad / w, tiles = kvecs / tv, dvecs = (t->dh + w - 1) / w;
  t->rows = rows;
  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  if (tiles) {
    cg_loop jt = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tiles * tv * w), tv * w);
    score_tile(cg, t, h.iv, jt.iv, tv);
    cg_loop_end(cg, &jt);
  }
  if (kvecs % tv) score_tile(cg, t, h.iv, cg_i64(cg, tiles * tv * w), (int)(kvecs % tv));
  cg_loop_end(cg, &h);

  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  LLVMValueRef at = ix_mulk(cg, r.iv, t->heads * t->nk_pad);
  LLVMValueRef scores = gep_f32(cg, t->scores, at), mixed = gep_f32(cg, t->mixed, at);
  mix_heads(cg, t, P_WL, P_BL, scores, mixed, t->tops, NULL);
  softmax_rows(cg, t, mixed);
  mix_heads(cg, t, P_WW, P_BW, mixed, scores, NULL, t->invs);
  cg_loop_end(cg, &r);

  cg_loop f = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  for (int64_t c0 = 0; c0 < dvecs; c0 += tv) {
    int n = (int)(dvecs - c0 < tv ? dvecs - c0 : tv);
    int last = c0 + n == dvecs ? (int)(t->dh - (dvecs - 1) * w) : w;
    value_tile(cg, t, f.iv, c0, n, last);
  }
  cg_loop_end(cg, &f);
}

vitc_status emit_TalkingHeads(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *qkv = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int w = vec_width(cg);
  th_block t = {.heads = vitc_attr_int(n, "heads", 0), .tokens = qkv->dims[1], .width = y->dims[2],
                .vecs = tile_vecs_for(cg->vregs, ROWS, TILE_VECS)};
  if (t.heads <= 0 || t.width % t.heads)
    return vitc_fail(err, VITC_ERR_INVALID, "TalkingHeads heads %lld does not divide %lld columns", (long long)t.heads,
                     (long long)t.width);
  t.dh = t.width / t.heads;
  t.nk_pad = (t.tokens + w - 1) / w * w;
  if (vitc_numel(y) == 0) return VITC_OK;
  int64_t batch = qkv->dims[0], row_bytes = 2 * t.heads * t.nk_pad * (int64_t)sizeof(float);
  int rows = (int)(SCORE_BYTES / row_bytes < 1 ? 1 : SCORE_BYTES / row_bytes > ROWS ? ROWS : SCORE_BYTES / row_bytes);
  if (rows > t.tokens) rows = (int)t.tokens;
  LLVMValueRef ptrs[NPTRS];
  for (int k = 0; k < P_Y; k++) ptrs[k] = cg_in(cg, k);
  ptrs[P_Y] = cg_out(cg, 0);
  ptrs[P_KT] = cg_scratch(cg, sizeof(float) * (size_t)(batch * t.width * t.nk_pad));
  pack_keys(cg, &t, batch, ptrs);

  int64_t blocks = (t.tokens + rows - 1) / rows, tail = t.tokens % rows; /* per batch entry */
  row_loop rl;
  LLVMValueRef blk = rows_begin(cg, &rl, batch * blocks, batch * t.tokens * t.tokens * (2 * t.width + 2 * t.heads * t.heads), ptrs, NPTRS);
  t.ptrs = ptrs;
  LLVMTypeRef scores_t = LLVMArrayType(cg->f32, (unsigned)(rows * t.heads * t.nk_pad));
  t.scores = cg_var(cg, scores_t, NULL), t.mixed = cg_var(cg, scores_t, NULL);
  LLVMTypeRef heads_t = LLVMArrayType(cg->f32, (unsigned)t.heads);
  t.tops = cg_var(cg, heads_t, NULL), t.invs = cg_var(cg, heads_t, NULL);
  t.acc = cg_mut_new(cg, vt(cg), NULL), t.top = cg_mut_new(cg, vt(cg), NULL);
  t.scale = cg_const(cg, cg->f32, vitc_attr_float(n, "scale", 1.0));
  t.b = ix_divk(cg, blk, blocks);
  LLVMValueRef i0 = ix_mulk(cg, ix_remk(cg, blk, blocks), rows);
  t.row0 = ix_add(cg, ix_mulk(cg, t.b, t.tokens), i0);
  if (!tail) {
    emit_block(cg, &t, rows);
  } else { /* the last block of a batch entry has the rows left over */
    LLVMValueRef partial = vec_icmp(cg, LLVMIntSGT, i0, cg_i64(cg, t.tokens - rows));
    if (t.tokens > rows) {
      cg_if whole = cg_if_begin(cg, vec_not(cg, partial));
      emit_block(cg, &t, rows);
      cg_if_end(cg, &whole);
    }
    cg_if last = cg_if_begin(cg, partial);
    emit_block(cg, &t, (int)tail);
    cg_if_end(cg, &last);
  }
  rows_end(cg, &rl);
  return VITC_OK;
}
