/* emit_attention.c — the vitc.Attention kernel (ir/ops/fused_attention.c): a block of query rows of one
 * batch entry per task index, the block's scores in a stack buffer of Nk floats per row (padded to whole
 * vectors), never the [.., Nq, Nk] tensor:
 *
 *   Kᵀ_b packed [D, nk_pad] (16 × 16 blocks transposed in registers), once per batch entry
 *   for each block of rows (b, i0 ..) of Q:                 (parallel across the runtime pool)
 *     s_r[j] = f_r · Q(b,i_r,:) · Kᵀ_b(:,j) + bias(b,i_r,j)  register tiles of rows × 64 keys (AVX2 16), as the GEMM's;
 *                                                           f_r = scale·S(b,i_r), the bias, -inf past Nk and
 *                                                           the running max applied in registers
 *     s_r[j] = exp(s_r[j] - m_r);        l_r = Σ_j s_r[j]
 *     Y(b,i_r,:) = (Σ_j s_r[j] · V(b,j,:)) / l_r            register tiles of rows × 64 of Dv (16), likewise
 *
 * Sharing each K and V load among the block's rows cuts the loads sixfold, and with row maps the cache
 * and TLB misses of rows scattered across a packed qkv tensor (ViT-B attention on one thread, bench/
 * attention.c: 64 → 104 GFLOP/s dense, 38 → 94 through maps; 2 and 3 rows gave less, 6 and 8 little more).
 * A batch entry whose scores fit one block (Swin's 49-token windows, ViT-B/32's 50 tokens) is one task that
 * packs its own Kᵀ on the stack; longer sequences pack every entry's Kᵀ first, in a pass of their own, for
 * all their blocks to read. The few keys of a last, mostly empty vector get dot products (key_pack).
 *
 * With normalize_qk the row's factor also holds 1/‖Q(b,i,:)‖ and the packed keys are multiplied by
 * 1/‖K(b,j,:)‖, which is the product of the normalised rows without writing them anywhere.
 *
 * With row maps the batch index is b = g·H + h and a mapped operand's row n of batch entry b starts at
 * Xmap[g, n] + h·head_stride in its base tensor: the map is a constant of the weights blob, and a row
 * pointer costs one table load (per key in the packing and P·V loops). Dense operands keep their rows one
 * after another. Y through Ymap lands wherever the head merge or window reverse put it.
 *
 * With a QDQ model's grids (q_quant .. p_quant) the products run on grid levels, the integers
 * saturate(roundeven(x / s) + z) - z held in float32: Q's block rows (of scale·Q) are rounded into the
 * task's own array, the packed Kᵀ in place, V into rows of its own (per entry, before the blocks or in
 * the local task), and the probabilities, normalised, over the block's score rows once the softmax is
 * done; the products of levels and their sums are exact (below 2^24: D·255² and Nk·255² for ViT's 64 and
 * 197), and one factor per row (the grids' scales, times S) makes them values. The scores are rounded to
 * their grid in registers, as they leave the tile. Then the kernel computes what the QDQ graph does up to
 * float32 rounding, the order of P·V's sums, the exp, and the ties of a value rounded to a grid that these
 * move (grid_level and after).
 *
 * A constant bias is read from a table of its distinct [Nq, Nk] slabs, rows padded to whole vectors
 * (bias_table): Swin's shifted windows repeat a few masks over many windows.
 *
 * In BF16 precision (vitc_bf16_product, ir/precision.c) both products run on vdpbf16ps: Kᵀ packed as pairs
 * along D and V as pairs of keys (key_pack_bf16), each block's Q rows rounded to pairs as they are set up,
 * the probabilities exp(s - max) rounded to pairs in place after the softmax; the scores, their max and
 * sum, and 1/Σ stay float32. bench/attention.c, one thread CPU time (session 6, loaded machine): ViT-B heads
 * at 197 tokens 0.58 → 0.38 ms; Swin-T's 49-token windows unchanged (0.38 ms: the softmax and packing
 * weigh as much as the products there). Rounding the probabilities inside the exp pass instead of after
 * it was slower (0.38 → 0.41 ms).
 *
 * Everything runs on <16 x float> vectors: the scores along j over the packed Kᵀ, the softmax along j with
 * the inline exp, and P·V along Dv. Edges use masked loads and stores. The tiles are sized from the target's
 * registers (tile_vecs_for): 4 vectors × 6 rows with AVX-512, 1 × 6 (12 ymm) with AVX2, whose P·V then
 * passes over Dv a vector at a time (mapped V rows packed dense for it: packs_values). bench/attention.c,
 * one thread CPU time, AVX2 (Zen 3, loaded machine, % of 100.9 GFLOP/s): ViT-B heads at 197 / 577 tokens
 * 27 / 27% with the AVX-512 tiles (spilling), 72 / 69% now; Swin-T's windows 21% -> 52-55%, of which
 * (leaving each part out) the scores take 31%, P·V 37%, the softmax 20% (its 16 × 16 transposes, 32 ymm,
 * spill).
 *
 * bench/attention.c, one thread, the calling thread's CPU time, % of the 251.5 GFLOP/s peak: ViT-B heads
 * (D 64) at 197 / 577 / 1025 tokens 84 / 83 / 83%, ViT-B/32's 50 tokens 73%, Swin-T's windows (49 × 32,
 * bias and mask) 59%. Swin's 49 × 32 windows on a loaded machine (session 5, 14:00, against 267.3): 56%,
 * of which, by leaving each part out, the score tiles take 30% of the time, P·V 33%, the softmax 26% (its
 * exp half of that) and the Kᵀ packing 5%; the two products run at 88% and 79% of peak.
 * Session 9 (loaded machine, perf's cpu-clock samples of the AOT-compiled kernel, 64 windows × 3 heads):
 * the score loop 30%, P·V 37%, the Kᵀ packing 12%, the exp pass 9%; P·V's first micro-block alone 20%,
 * the three after it, with the same V rows then in L1, 17%: the first touch of the window's scattered
 * Q, K and V rows (L3, qkv 3.6 MB) costs about a quarter of the time, wherever it falls (copying V into
 * a dense array first moved the 14% into the copy). The same windows with qkv in L2 (8 windows) run
 * at 67%. Prefetching the next entry's rows (prefetch_entry) did not pay at this size (-3%). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emitters.h"
#include "runtime/vitc_rt.h"
#include "vmath.h"

#define VL F32V_LANES
#define ROWS 6       /* query rows per micro-block of the widest tile (tile_vecs_for) */
#define MICRO_MOST 14 /* query rows per micro-block at most: their row pointers in general registers */
#define TILE_VECS 4  /* vectors per tile at most: of keys per score tile, of Y per pass of P·V over j */
#define BLOCK_MICRO 4 /* micro-blocks of ROWS rows per block, sharing each tile of Kᵀ and V in L1 */
#define SCORE_BYTES (128 << 10) /* the block's score rows at most (on the stack), else fewer micro-blocks */
#define PV_KEYS 128  /* keys per block of P·V: 32 KB of V at Dv 64 */
#define LOCAL_KT_BYTES (64 << 10) /* a task's own Kᵀ at most (on the stack) */
#define LOCAL_MIN_TASKS 8 /* batch entries at least for one task each: both threads busy on every node */
#define PREFETCH_BYTES (16 << 20) /* operand rows of all entries above which the local path prefetches (prefetch_entry) */

static LLVMValueRef vconst(vitc_cg *cg, double v) { return vec_const(cg, f32v_type(cg), v); }
static void transpose_block(vitc_cg *cg, LLVMValueRef *x);
static LLVMValueRef grid_level(vitc_cg *cg, LLVMValueRef x, const vitc_qgrid *g);
static LLVMValueRef grid_round(vitc_cg *cg, LLVMValueRef x, const vitc_qgrid *g);
static void grid_levels(vitc_cg *cg, LLVMValueRef src, LLVMValueRef dst, int64_t n, LLVMValueRef pre, const vitc_qgrid *g);
typedef struct attn_geom attn_geom;
typedef struct op_rows op_rows;
static op_rows dense_values(vitc_cg *cg, const attn_geom *ge, const op_rows *v, const vitc_qgrid *g, LLVMValueRef dst);

static int64_t vecs(int64_t n) { return (n + VL - 1) / VL; }

/* Running maxima (vec_max_ordered): m is never NaN; a NaN score still reaches its row's output, through
 * its exp and the row's sum. */
static int lanes_of(int64_t n, int64_t vec) { return (int)(n - vec * VL < VL ? n - vec * VL : VL); }

/* A batch entry's packed keys: Kᵀ [D][nk_pad] for the score tiles, then, when the last partial vector
 * holds few keys (`few`), those keys' rows [few][D]: their scores are dot products along D, a vector FMA
 * per 16 of D and a fold, where a tile would spend D FMAs per row on a vector of mostly padding (Swin's
 * 49 keys: 64 lanes for 49; 577 and 1025 tokens: one key in the last vector). `full` keys go through the
 * tiles: all of them (nk_pad, the partial vector masked) or the whole vectors only. */
typedef struct key_pack {
  int64_t d, nk_pad, full, few;
  int64_t size;   /* floats per entry */
  int64_t values; /* bf16 (key_pack_bf16): where V's pairs start; 0 in float32 */
  int64_t vrows;  /* float32 with V packed (packs_values): where its dense rows [Nk][Dv] start; else 0 */
} key_pack;

static key_pack key_pack_of(int64_t nk, int64_t d) {
  int64_t nk_pad = (nk + VL - 1) / VL * VL, rem = nk % VL;
  bool few = rem && rem * ((d + VL - 1) / VL + 2 * 4) < d; /* dots (FMAs and a 4-step fold each) beat D FMAs */
  key_pack kp = {.d = d, .nk_pad = nk_pad, .full = few ? nk - rem : nk_pad, .few = few ? rem : 0};
  kp.size = d * nk_pad + kp.few * d;
  return kp;
}

/* bf16 (vitc_bf16_product): a batch entry's Kᵀ as pairs along D, [ceil(D/2)][nk_pad] 32-bit words (column j
 * of pair p: K(j, 2p) low, K(j, 2p + 1) high), then V as pairs of keys, [ceil(Nk/2)][Dv padded to whole
 * vectors] (column c of pair p: V(2p, c), V(2p + 1, c)), zero past D, Nk and Dv: vdpbf16ps's operands. No
 * few keys: a masked tile lane costs half as much as in float32, and a dot product would want Q unrounded. */
static key_pack key_pack_bf16(int64_t nk, int64_t d, int64_t dv) {
  int64_t nk_pad = vecs(nk) * VL;
  key_pack kp = {.d = d, .nk_pad = nk_pad, .full = nk_pad, .values = (d + 1) / 2 * nk_pad};
  kp.size = kp.values + (nk + 1) / 2 * vecs(dv) * VL;
  return kp;
}

/* The rows of one operand in the current batch entry: row n starts at base + n·stride (dense), or at
 * base + table[n] (mapped: base = X + h·head_stride, table = Xmap[g, :]), or at pad + (-1 - table[n])
 * when that entry is negative (a padded row of Q, K, V: pad = P + h·head_stride; a dropped row of Y: pad
 * is the task's discard row). */
struct op_rows {
  LLVMValueRef base, table; /* table NULL when dense */
  LLVMValueRef pad;         /* NULL when the map has no negative entry */
  int64_t stride;
};

static LLVMValueRef row_ptr(vitc_cg *cg, const op_rows *r, LLVMValueRef n) {
  if (!r->table) return gep_f32_at(cg, r->base, n, r->stride, 0);
  LLVMValueRef e = vec_load1(cg, cg->i64, cg_gep(cg, cg->i64, r->table, n));
  if (!r->pad) return gep_f32(cg, r->base, e);
  LLVMValueRef padded = vec_icmp(cg, LLVMIntSLT, e, cg_i64(cg, 0));
  return vec_select(cg, padded, gep_f32(cg, r->pad, vec_not(cg, e)), gep_f32(cg, r->base, e));
}

typedef struct attn_ctx {
  vitc_cg *cg;
  int64_t nq, nk, d, dv;
  int64_t nk_pad;  /* Nk rounded up to whole vectors: the packed Kᵀ's and the score rows' length */
  key_pack kp;
  int64_t bias_js; /* bias stride along j: 1, or 0 when broadcast */
  bool bias_whole; /* the bias rows are padded to nk_pad (bias_table): whole vectors load without masks */
  int rows;        /* query rows per block */
  int regs;        /* <16 x float> registers of the target (f32v_registers): what the tiles are sized from */
  int tile_vecs;   /* vectors per score tile and per pass of P·V: the widest of ROWS rows */
  bool bf16;       /* Q·Kᵀ and P·V on bfloat16 pairs (key_pack_bf16; the scores, softmax and sums float32) */
  LLVMValueRef kt; /* the packed keys of entry b (key_pack) */
  op_rows v;       /* V_b */
  LLVMValueRef vp; /* bf16: V_b's pairs (after its packed keys) */
  LLVMValueRef qb; /* bf16: the block's Q rows rounded to pairs, [rows][ceil(D/2)] words */
  /* per row r of the block (arrays of `rows`): Q(b,i,:), Y(b,i,:) and bias(b,i,:) pointers; its factor
   * (the attribute, times S(b,i), times 1/‖Q(b,i,:)‖ with normalize_qk), replaced by 1/Σ after the
   * softmax; and its scores, s[r·nk_pad ..] */
  LLVMValueRef qp, yp, bp, fac, s;
  LLVMValueRef mx; /* per row r, 16 lanes at mx[16r]: the running max of its scores, lane by lane */
  /* columns [1 + few][rows_pad] over the block's rows: each row's max, then the few keys' scores
   * (key_pack), for the softmax to finish in vectors of rows */
  LLVMValueRef cols;
  int64_t rows_pad;
  /* the micro-block being emitted: its rows' pointers (bias: NULL without), loaded from the arrays, and
   * their factors splatted */
  int nrows;
  LLVMValueRef mi; /* its first row */
  LLVMValueRef q[MICRO_MOST], srow[MICRO_MOST], mrow[MICRO_MOST];
  const vitc_qgrid *grid; /* [VITC_NGRIDS] */
  float q_pre;            /* with Q's grid: the scale attribute, applied before rounding */
  LLVMValueRef qlev;      /* with Q's grid: the block's Q rows as levels [rows][D] */
} attn_ctx;

static void grid_probabilities(attn_ctx *a, int rows);
static LLVMValueRef grid_query_row(attn_ctx *a, LLVMValueRef q, LLVMValueRef r, bool unit);

/* Point the micro-block at the block's rows m .. m + nrows - 1. */
static void micro_rows(attn_ctx *a, LLVMValueRef m, int nrows) {
  vitc_cg *cg = a->cg;
  a->nrows = nrows;
  a->mi = m;
  for (int r = 0; r < nrows; r++) {
    LLVMValueRef i = ix_add(cg, m, cg_i64(cg, r));
    a->q[r] = vec_load1(cg, cg->ptr, cg_gep(cg, cg->ptr, a->qp, i));
    a->srow[r] = gep_f32_at(cg, a->s, i, a->nk_pad, 0);
    a->mrow[r] = gep_f32_at(cg, a->mx, i, VL, 0);
  }
}

/* Row r of the micro-block's Y and bias (NULL without) pointers and its factor splatted: loaded where
 * they are used, after the products, rather than held in registers across them. */
static LLVMValueRef row_y(attn_ctx *a, int r) {
  vitc_cg *cg = a->cg;
  return vec_load1(cg, cg->ptr, cg_gep(cg, cg->ptr, a->yp, ix_addk(cg, a->mi, r)));
}
static LLVMValueRef row_bias(attn_ctx *a, int r) {
  vitc_cg *cg = a->cg;
  return a->bp ? vec_load1(cg, cg->ptr, cg_gep(cg, cg->ptr, a->bp, ix_addk(cg, a->mi, r))) : NULL;
}
static LLVMValueRef row_factor(attn_ctx *a, int r) {
  vitc_cg *cg = a->cg;
  return f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, a->fac, ix_addk(cg, a->mi, r))));
}

/* The rows of a micro-block whose tile is `vecs` vectors wide (tile_rows_most), so that a narrow tile
 * (Swin's Dv of 32, 48 keys) shares each loaded vector among more rows. */
static int micro_rows_most(int regs, int vecs) {
  int most = tile_rows_most(regs, vecs);
  return most < 1 ? 1 : most < MICRO_MOST ? most : MICRO_MOST;
}

/* body(a, state) for every micro-block of the block's `rows` rows, for a tile `vecs` vectors wide: as
 * many rows as micro_rows_most allows, then the rows left over; but when those would hold fewer than 8
 * accumulator registers (two FMA pipes × 4 cycles: their FMAs would wait on each other; a <16 x float> is
 * two on AVX2), the rows cut into equal micro-blocks but one row instead (49 rows: 7 × 7 for the scores
 * over 3 key vectors, not 6 × 8 + 1). */
typedef void (*micro_body)(attn_ctx *a, void *state);
static void for_micro(attn_ctx *a, int rows, int vecs, micro_body body, void *state) {
  vitc_cg *cg = a->cg;
  int most = micro_rows_most(a->regs, vecs), count = (rows + most - 1) / most, small = rows / count, big = rows % count;
  if (rows % most * vecs * 16 >= 8 * vec_width(cg)) small = most, big = 0; /* whole micro-blocks, then the rest */
  if (big) { /* `big` micro-blocks of small + 1 rows, then the others of `small` */
    cg_loop m = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, big * (small + 1)), small + 1);
    micro_rows(a, m.iv, small + 1);
    body(a, state);
    cg_loop_end(cg, &m);
  }
  int64_t from = big * (small + 1), whole = from + (rows - from) / small * small;
  if (whole > from) {
    cg_loop m = cg_loop_begin(cg, cg_i64(cg, from), cg_i64(cg, whole), small);
    micro_rows(a, m.iv, small);
    body(a, state);
    cg_loop_end(cg, &m);
  }
  if (whole < rows) {
    micro_rows(a, cg_i64(cg, whole), rows - (int)whole);
    body(a, state);
  }
}

/* The key tile [j0, j0 + 16nv) of the score rows. */
typedef struct key_tile {
  LLVMValueRef j0;
  int nv, last; /* last: the valid lanes of its last vector */
} key_tile;

/* s_r[j0 .. j0 + 16nv) = f_r · Σ_d Q(i_r, d) · Kᵀ(d, j0 ..) + bias(i_r, j0 ..) for every row r of the
 * micro-block: the GEMM micro-kernel's tile (emit_gemm.c), rows × nv vectors of keys in registers while d
 * runs, over the packed Kᵀ; then, still in registers, the row's factor, its bias, -inf past Nk (the tile
 * with the partial vector knows its lanes when built: `last`), and the running max, lane by lane. The
 * softmax then reads each score once. */
static void score_products(attn_ctx *a, const key_tile *kt, LLVMValueRef acc[MICRO_MOST][TILE_VECS]) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef kv[TILE_VECS];
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, a->d), 1);
  LLVMValueRef krow = gep_f32(cg, gep_f32_at(cg, a->kt, d.iv, a->nk_pad, 0), kt->j0);
  for (int v = 0; v < kt->nv; v++) kv[v] = f32v_load(cg, gep_f32(cg, krow, cg_i64(cg, (int64_t)v * VL)), VL);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef qd = f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, a->q[r], d.iv)));
    for (int v = 0; v < kt->nv; v++)
      vec_store1(cg, vec_fma(cg, qd, kv[v], vec_load1(cg, vt, acc[r][v])), acc[r][v]);
  }
  cg_loop_end(cg, &d);
}

/* The same products in bf16: a vdpbf16ps per pair of D, Q's rounded pair repeated across the lanes. */
static void score_pairs(attn_ctx *a, const key_tile *kt, LLVMValueRef acc[MICRO_MOST][TILE_VECS]) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef kv[TILE_VECS];
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, (a->d + 1) / 2), 1);
  LLVMValueRef krow = cg_gep(cg, cg->i32, a->kt, ix_add(cg, ix_mulk(cg, p.iv, a->nk_pad), kt->j0));
  for (int v = 0; v < kt->nv; v++) kv[v] = emit_bf16_load_pairs(cg, cg_gep(cg, cg->i32, krow, cg_i64(cg, (int64_t)v * VL)));
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef qp = emit_bf16_repeat_pair(cg, cg_gep(cg, cg->i32, a->q[r], p.iv));
    for (int v = 0; v < kt->nv; v++) vec_store1(cg, emit_bf16_dot(cg, vec_load1(cg, vt, acc[r][v]), qp, kv[v]), acc[r][v]);
  }
  cg_loop_end(cg, &p);
}

static void score_tile(attn_ctx *a, void *state) {
  vitc_cg *cg = a->cg;
  const key_tile *kt = state;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef acc[MICRO_MOST][TILE_VECS];
  for (int r = 0; r < a->nrows; r++)
    for (int v = 0; v < kt->nv; v++) acc[r][v] = cg_var(cg, vt, vconst(cg, 0));
  (a->bf16 ? score_pairs : score_products)(a, kt, acc);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef m = f32v_load(cg, a->mrow[r], VL), bias = row_bias(a, r), fac = row_factor(a, r);
    for (int v = 0; v < kt->nv; v++) {
      int lanes = v == kt->nv - 1 ? kt->last : VL;
      LLVMValueRef j = ix_add(cg, kt->j0, cg_i64(cg, (int64_t)v * VL));
      LLVMValueRef x = vec_mul(cg, vec_load1(cg, vt, acc[r][v]), fac);
      if (bias)
        x = vec_add(cg, x, a->bias_js ? f32v_load(cg, gep_f32(cg, bias, j), a->bias_whole ? VL : lanes)
                                     : f32v_splat(cg, vec_load1(cg, cg->f32, bias)));
      if (a->grid[VITC_GRID_S].on) x = grid_round(cg, x, &a->grid[VITC_GRID_S]);
      if (lanes < VL) x = vec_select(cg, vec_mask(cg, VL, lanes), x, vconst(cg, -INFINITY));
      f32v_store(cg, x, gep_f32(cg, a->srow[r], j), VL);
      m = vec_max_ordered(cg, m, x);
    }
    f32v_store(cg, m, a->mrow[r], VL);
  }
}

/* s_r[j] = f_r · Q(i_r, :) · K(j, :) + bias(i_r, j) for the few keys j past the tiles (key_pack), as dot
 * products along D, and the running max. */
static void score_few(attn_ctx *a, void *state) {
  vitc_cg *cg = a->cg;
  (void)state;
  int64_t nd = vecs(a->d);
  LLVMValueRef krows = gep_f32(cg, a->kt, cg_i64(cg, a->d * a->nk_pad));
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef m = f32v_load(cg, a->mrow[r], VL), bias = row_bias(a, r);
    for (int64_t t = 0; t < a->kp.few; t++) {
      LLVMValueRef acc = vconst(cg, 0), j = cg_i64(cg, a->kp.full + t);
      for (int64_t c = 0; c < nd; c++) {
        LLVMValueRef qc = f32v_load(cg, gep_f32(cg, a->q[r], cg_i64(cg, c * VL)), lanes_of(a->d, c));
        acc = vec_fma(cg, qc, f32v_load(cg, gep_f32(cg, krows, cg_i64(cg, t * a->d + c * VL)), lanes_of(a->d, c)), acc);
      }
      LLVMValueRef x = vec_mul(cg, vec_reduce(cg, VEC_SUM, acc), vec_load1(cg, cg->f32, gep_f32(cg, a->fac, ix_addk(cg, a->mi, r))));
      if (bias) x = vec_add(cg, x, vec_load1(cg, cg->f32, a->bias_js ? gep_f32(cg, bias, j) : bias));
      if (a->grid[VITC_GRID_S].on) x = grid_round(cg, x, &a->grid[VITC_GRID_S]);
      vec_store1(cg, x, gep_f32(cg, a->srow[r], j));
      vec_store1(cg, x, gep_f32(cg, a->cols, ix_add(cg, a->mi, cg_i64(cg, (1 + t) * a->rows_pad + r))));
      m = vec_max_ordered(cg, m, f32v_splat(cg, x));
    }
    f32v_store(cg, m, a->mrow[r], VL);
  }
}

/* s = exp(s - max) over the whole padded row (-inf past Nk gives 0); st->acc: the running sum vector. */
typedef struct exp_row {
  LLVMValueRef s, max, sum;
} exp_row;
static void exponentiate(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  exp_row *st = state;
  (void)lanes; /* full: whole vectors */
  LLVMValueRef p = gep_f32(cg, st->s, j);
  LLVMValueRef e = vm_exp_nonpositive(cg, vec_sub(cg, f32v_load(cg, p, VL), st->max));
  f32v_store(cg, e, p, VL);
  vec_store1(cg, vec_add(cg, vec_load1(cg, f32v_type(cg), st->sum), e), st->sum);
}

/* Lane t of the result: the 16 lanes at p[16·(16g + t) ..] (row 16g + t of a [rows][16] array) folded,
 * by max or by sum, for the `lanes` rows of group g: a 16 × 16 transpose in registers and 15 vertical
 * operations per 16 rows, where a horizontal reduction per row put a chain of shuffles in front of each
 * row's exp (the softmax was a quarter of Swin's 49 × 32 windows). */
static LLVMValueRef fold_rows(vitc_cg *cg, LLVMValueRef p, LLVMValueRef g, int lanes, bool max) {
  LLVMValueRef x[VL];
  for (int t = 0; t < VL; t++)
    x[t] = t < lanes ? f32v_load(cg, gep_f32_at(cg, p, ix_add(cg, ix_mul(cg, g, cg_i64(cg, VL)), cg_i64(cg, t)), VL, 0), VL)
                     : vconst(cg, 0);
  transpose_block(cg, x);
  for (int c = 1; c < VL; c++) x[0] = max ? vec_max_ordered(cg, x[0], x[c]) : vec_add(cg, x[0], x[c]);
  return x[0];
}

/* body(a, g, lanes) for every group g of 16 rows of the block (the last with `lanes` rows). */
typedef void (*group_body)(attn_ctx *a, LLVMValueRef g, int lanes);
static void for_groups(attn_ctx *a, int rows, group_body body) {
  vitc_cg *cg = a->cg;
  if (rows / VL) {
    cg_loop g = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows / VL), 1);
    body(a, g.iv, VL);
    cg_loop_end(cg, &g);
  }
  if (rows % VL) body(a, cg_i64(cg, rows / VL), rows % VL);
}

/* The maxima of the group's rows (their lane-wise running maxima folded) into cols. */
static void group_maxima(attn_ctx *a, LLVMValueRef g, int lanes) {
  vitc_cg *cg = a->cg;
  f32v_store(cg, fold_rows(cg, a->mx, g, lanes, true), gep_f32_at(cg, a->cols, g, VL, 0), lanes);
}

/* The group's rows finished: Σ of their tiles' keys (lane-wise sums in mx, folded), the few keys'
 * exp(score - max) written back into the score rows lane by lane and added, and fac = 1/Σ. One vector exp
 * and division per 16 rows, where each row took a scalar exp per few key and a scalar division. */
static void group_sums(attn_ctx *a, LLVMValueRef g, int lanes) {
  vitc_cg *cg = a->cg;
  LLVMValueRef sum = fold_rows(cg, a->mx, g, lanes, false), max = f32v_load(cg, gep_f32_at(cg, a->cols, g, VL, 0), lanes);
  for (int64_t t = 0; t < a->kp.few; t++) {
    LLVMValueRef x = f32v_load(cg, gep_f32_at(cg, a->cols, g, VL, (1 + t) * a->rows_pad), lanes);
    LLVMValueRef e = vm_exp_nonpositive(cg, vec_sub(cg, x, max));
    sum = vec_add(cg, sum, e);
    for (int k = 0; k < lanes; k++) {
      LLVMValueRef row = ix_add(cg, ix_mul(cg, g, cg_i64(cg, VL)), cg_i64(cg, k));
      vec_store1(cg, vec_lane(cg, e, k), gep_f32_at(cg, a->s, row, a->nk_pad, a->kp.full + t));
    }
  }
  f32v_store(cg, vec_div(cg, vconst(cg, 1), sum), gep_f32_at(cg, a->fac, g, VL, 0), lanes);
}

/* bf16: each row's probabilities, exp(s - max) unnormalised (1/Σ stays in its factor), rounded to pairs of
 * keys in place, for P·V's vdpbf16ps. */
static void probability_pairs(attn_ctx *a, int rows) {
  vitc_cg *cg = a->cg;
  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  LLVMValueRef row = gep_f32_at(cg, a->s, r.iv, a->nk_pad, 0);
  emit_round_pairs(cg, row, row, a->nk);
  cg_loop_end(cg, &r);
}

/* Every row r < rows of the block, its scores final (score_tile): they become exp(s - max), unnormalised,
 * and its factor 1/Σ. The maxima and sums are folded 16 rows at a time (fold_rows); in between, each row's
 * exp pass keeps its sum lane-wise, in its mx slot. */
static void softmax_rows(attn_ctx *a, int rows) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  for_groups(a, rows, group_maxima);
  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  exp_row st = {.s = gep_f32_at(cg, a->s, r.iv, a->nk_pad, 0), .max = f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, a->cols, r.iv))),
                .sum = cg_var(cg, vt, vconst(cg, 0))};
  vec_for(cg, cg_i64(cg, 0), a->kp.full, VL, exponentiate, &st);
  f32v_store(cg, vec_load1(cg, vt, st.sum), gep_f32_at(cg, a->mx, r.iv, VL, 0), VL);
  cg_loop_end(cg, &r);
  for_groups(a, rows, group_sums);
  if (a->bf16) probability_pairs(a, rows);
}

/* One pass of P·V: vectors [c0, c0 + n) of Y (the last with `last` lanes) over the keys [j0, j1). */
typedef struct pv_pass {
  int64_t c0;
  int n, last;
  LLVMValueRef j0, j1, first, final; /* first/final: the first and last key block (i1, or NULL: always) */
} pv_pass;

/* acc_r += Σ_{j0 ≤ j < j1} s_r[j] · V(j, 16c0 ..) for every row r of the micro-block, each V vector loaded
 * once for all rows. */
static void value_products(attn_ctx *a, const pv_pass *p, LLVMValueRef acc[MICRO_MOST][TILE_VECS]) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef vv[TILE_VECS];
  cg_loop j = cg_loop_begin(cg, p->j0, p->j1, 1);
  LLVMValueRef vrow = gep_f32(cg, row_ptr(cg, &a->v, j.iv), cg_i64(cg, p->c0 * VL));
  for (int c = 0; c < p->n; c++)
    vv[c] = f32v_load(cg, gep_f32(cg, vrow, cg_i64(cg, (int64_t)c * VL)), c == p->n - 1 ? p->last : VL);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef pj = f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, a->srow[r], j.iv)));
    for (int c = 0; c < p->n; c++)
      vec_store1(cg, vec_fma(cg, pj, vv[c], vec_load1(cg, vt, acc[r][c])), acc[r][c]);
  }
  cg_loop_end(cg, &j);
}

/* The same in bf16, a pair of keys at a time (j0 is even: PV_KEYS is): the row's probability pair
 * (probability_pairs) repeated across the lanes, V's pairs (key_pack_bf16) whole vectors, zero past Dv. */
static void value_pairs(attn_ctx *a, const pv_pass *p, LLVMValueRef acc[MICRO_MOST][TILE_VECS]) {
  vitc_cg *cg = a->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef vv[TILE_VECS];
  int64_t dv_pad = vecs(a->dv) * VL;
  cg_loop j = cg_loop_begin(cg, ix_divk(cg, p->j0, 2), ix_divk(cg, ix_addk(cg, p->j1, 1), 2), 1);
  LLVMValueRef vrow = cg_gep(cg, cg->i32, a->vp, ix_addk(cg, ix_mulk(cg, j.iv, dv_pad), p->c0 * VL));
  for (int c = 0; c < p->n; c++) vv[c] = emit_bf16_load_pairs(cg, cg_gep(cg, cg->i32, vrow, cg_i64(cg, (int64_t)c * VL)));
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef pj = emit_bf16_repeat_pair(cg, cg_gep(cg, cg->i32, a->srow[r], j.iv));
    for (int c = 0; c < p->n; c++) vec_store1(cg, emit_bf16_dot(cg, vec_load1(cg, vt, acc[r][c]), pj, vv[c]), acc[r][c]);
  }
  cg_loop_end(cg, &j);
}

/* Y(i_r, 16c0 ..) (+)= Σ_{j0 ≤ j < j1} s_r[j] · V(j, 16c0 ..) for every row r of the micro-block, each V
 * vector loaded once for all rows; partial sums go through Y between key blocks, as the GEMM's go through
 * its output between K blocks, and the last block multiplies by 1/Σ. */
static void weighted_values(attn_ctx *a, void *state) {
  vitc_cg *cg = a->cg;
  const pv_pass *p = state;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef acc[MICRO_MOST][TILE_VECS];
  for (int r = 0; r < a->nrows; r++)
    for (int c = 0; c < p->n; c++) acc[r][c] = cg_var(cg, vt, vconst(cg, 0));
  if (p->first) {
    cg_if resume = cg_if_begin(cg, vec_not(cg, p->first));
    for (int r = 0; r < a->nrows; r++)
      for (int c = 0; c < p->n; c++)
        vec_store1(cg, f32v_load(cg, gep_f32(cg, row_y(a, r), cg_i64(cg, (p->c0 + c) * VL)), c == p->n - 1 ? p->last : VL), acc[r][c]);
    cg_if_end(cg, &resume);
  }
  (a->bf16 ? value_pairs : value_products)(a, p, acc);
  cg_if fin = {0};
  if (p->final) fin = cg_if_begin(cg, p->final);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef fac = row_factor(a, r);
    for (int c = 0; c < p->n; c++) vec_store1(cg, vec_mul(cg, vec_load1(cg, vt, acc[r][c]), fac), acc[r][c]);
  }
  if (p->final) cg_if_end(cg, &fin);
  for (int r = 0; r < a->nrows; r++) {
    LLVMValueRef y = row_y(a, r);
    for (int c = 0; c < p->n; c++)
      f32v_store(cg, vec_load1(cg, vt, acc[r][c]), gep_f32(cg, y, cg_i64(cg, (p->c0 + c) * VL)), c == p->n - 1 ? p->last : VL);
  }
}

/* The block's `rows` rows, set up in the row arrays: scores a key tile at a time for all rows (the tile of
 * Kᵀ stays in L1 across the micro-blocks), softmax, then P·V a key block at a time likewise. */
static void emit_block(attn_ctx *a, int rows) {
  vitc_cg *cg = a->cg;
  int tv = a->tile_vecs;
  int64_t kvecs = a->kp.full / VL, tiles = a->nk / VL / tv; /* tiles of whole vectors of keys */
  cg_loop m = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  f32v_store(cg, vconst(cg, -INFINITY), gep_f32_at(cg, a->mx, m.iv, VL, 0), VL);
  cg_loop_end(cg, &m);
  if (tiles) {
    cg_loop jt = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tiles * tv * VL), tv * VL);
    for_micro(a, rows, tv, score_tile, &(key_tile){jt.iv, tv, VL});
    cg_loop_end(cg, &jt);
  }
  if (kvecs > tiles * tv) /* at most tv: the whole vectors left and the partial one */
    for_micro(a, rows, (int)(kvecs - tiles * tv), score_tile,
              &(key_tile){cg_i64(cg, tiles * tv * VL), (int)(kvecs - tiles * tv),
                          a->kp.few ? VL : lanes_of(a->nk, kvecs - 1)});
  if (a->kp.few) for_micro(a, rows, tv, score_few, NULL); /* dots: rows as a tile's, not a tile */
  softmax_rows(a, rows);
  grid_probabilities(a, rows);
  int64_t nkb = (a->nk + PV_KEYS - 1) / PV_KEYS, nvec = vecs(a->dv);
  cg_loop kb = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, nkb), 1);
  pv_pass p = {.j0 = ix_mul(cg, kb.iv, cg_i64(cg, PV_KEYS))};
  p.j1 = ix_min(cg, ix_add(cg, p.j0, cg_i64(cg, PV_KEYS)), cg_i64(cg, a->nk));
  if (nkb > 1) {
    p.first = vec_icmp(cg, LLVMIntEQ, kb.iv, cg_i64(cg, 0));
    p.final = vec_icmp(cg, LLVMIntEQ, kb.iv, cg_i64(cg, nkb - 1));
  }
  for (p.c0 = 0; p.c0 < nvec; p.c0 += tv) {
    p.n = (int)(nvec - p.c0 < tv ? nvec - p.c0 : tv);
    p.last = p.c0 + p.n == nvec ? lanes_of(a->dv, nvec - 1) : VL;
    for_micro(a, rows, p.n, weighted_values, &p);
  }
  cg_loop_end(cg, &kb);
}

/* 1 / max(‖x‖₂, 1e-12) of the len floats at p: F.normalize's divisor. */
static LLVMValueRef inverse_norm(vitc_cg *cg, LLVMValueRef p, int64_t len) {
  LLVMValueRef acc = vconst(cg, 0);
  for (int64_t c = 0; c < vecs(len); c++) {
    LLVMValueRef x = f32v_load(cg, gep_f32(cg, p, cg_i64(cg, c * VL)), lanes_of(len, c));
    acc = vec_fma(cg, x, x, acc);
  }
  LLVMValueRef norm = vec_max(cg, vec_sqrt(cg, vec_reduce(cg, VEC_SUM, acc)), cg_f32(cg, 1e-12f));
  return vec_div(cg, cg_f32(cg, 1), norm);
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

/* Pointer to x(b, i, 0) under broadcast strides (i_stride along the rows, strides[0..nb) along the batch:
 * read at run time), bidx the batch index b unflattened. */
static LLVMValueRef row_of(vitc_cg *cg, LLVMValueRef base, const LLVMValueRef *bidx, int nb, LLVMValueRef i,
                           int64_t i_stride, const LLVMValueRef *strides) {
  LLVMValueRef off = ix_mulk(cg, i, i_stride);
  for (int d = 0; d < nb; d++)
    off = ix_add(cg, off, ix_mul(cg, bidx[d], strides[d]));
  return gep_f32(cg, base, off);
}

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, IN_PAD = IN_QMAP + 4 };
enum { MAP_Q, MAP_K, MAP_V, MAP_Y, NMAPS };
/* The sizes the kernel reads at run time (cg_add_sizes): those that tell the stages of a hierarchical model
 * apart (Swin-T: 3 .. 24 heads over 64 .. 1 windows, the shifted windows' mask stride), so that its
 * attention nodes share one kernel. The rows, keys and head sizes the loops are built on stay in the code.
 * The bias table's blob offsets (bias_table), which differ with its count of slabs. Batch dims d < nb: their
 * sizes, the bias's and S's strides along them. */
enum { SZ_HEADS, SZ_ENTRIES, SZ_TASKS, SZ_SLABS, SZ_SLAB_OF, SZ_DIMS, SZ_BIAS = SZ_DIMS + VITC_MAX_RANK,
       SZ_SCALE = SZ_BIAS + VITC_MAX_RANK, SZ_COUNT = SZ_SCALE + VITC_MAX_RANK };

/* The problem as ir/ops/fused_attention.c defines it (its shape rule has checked it): the logical batch
 * (Q's batch dims, or [G, H] with maps), the sizes, and the maps. */
struct attn_geom {
  int nb;
  int64_t batch_dims[VITC_MAX_RANK], batch, heads;
  int64_t nq, nk, d, dv;
  const vitc_value *map[NMAPS]; /* NULL for a dense operand */
  bool padded[NMAPS];           /* the map has negative entries (P's rows, or Y's dropped rows) */
  int64_t head_strides[NMAPS];
  vitc_qgrid grid[VITC_NGRIDS];
};

static vitc_status attn_geometry(vitc_cg *cg, const vitc_node *n, attn_geom *ge, vitc_error *err) {
  const vitc_value *q = cg_in_value(cg, IN_Q), *v = cg_in_value(cg, IN_V), *any = NULL;
  *ge = (attn_geom){.heads = 1};
  vitc_attention_grids_of(n, ge->grid);
  for (int x = MAP_Q; x < NMAPS; x++) {
    const vitc_value *m = ge->map[x] = cg_in_value(cg, IN_QMAP + x);
    if (m && !m->data) return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "Attention row maps must be known at compile time");
    if (m && !any) any = m;
    for (int64_t i = 0; m && i < vitc_numel(m) && !ge->padded[x]; i++) ge->padded[x] = ((const int64_t *)m->data)[i] < 0;
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

/* Operand x's rows in batch entry b = g·H + h (data, map and pad: the task's pointers; pad is P, or for
 * Y the discard row). */
static op_rows operand_rows(vitc_cg *cg, const attn_geom *ge, int x, LLVMValueRef data, LLVMValueRef map,
                            LLVMValueRef pad, LLVMValueRef b, LLVMValueRef g, LLVMValueRef h) {
  int64_t rows = x == MAP_K || x == MAP_V ? ge->nk : ge->nq, len = x == MAP_Q || x == MAP_K ? ge->d : ge->dv;
  if (!ge->map[x]) return (op_rows){gep_f32_at(cg, data, b, rows * len, 0), NULL, NULL, len};
  LLVMValueRef table = cg_gep(cg, cg->i64, map, ix_mul(cg, g, cg_i64(cg, rows)));
  if (ge->padded[x] && x != MAP_Y) pad = gep_f32_at(cg, pad, h, ge->head_strides[x], 0);
  return (op_rows){gep_f32_at(cg, data, h, ge->head_strides[x], 0), table, ge->padded[x] ? pad : NULL, 0};
}

/* Every line of the rows of batch entry b's Q, K, V and Y (pointers as for operand_rows: vals[x] the data,
 * maps[x] the map, pads[x] the pad) prefetched into L2. A task of the local path calls it for the entry
 * after its own, which it or the other thread computes next: a small window's Q, K and V rows, scattered
 * through a packed qkv tensor, come from memory once the batch's qkv outgrows the cache (Swin-T's first
 * stage at batch 8: 29 MB), and their latency otherwise stalls each task's packing and first products.
 * Only then (prefetches_entries): while the rows sit in L3 (batch 1: Swin-T's first stage reads 4.8 MB),
 * the prefetch loop's row addresses and 600 prefetches per 49-token window cost more than the misses
 * they hide (bench/attention.c, Swin-T's windows, one thread CPU time: 5% faster without it). */
static bool prefetches_entries(const attn_geom *ge) {
  int64_t floats = ge->batch * (ge->nq * (ge->d + ge->dv) + ge->nk * (ge->d + ge->dv));
  return floats * (int64_t)sizeof(float) > PREFETCH_BYTES;
}

static void prefetch_entry(vitc_cg *cg, const attn_geom *ge, const LLVMValueRef *vals, const LLVMValueRef *maps,
                           const LLVMValueRef *pads, LLVMValueRef b, LLVMValueRef heads) {
  LLVMValueRef g = ix_div(cg, b, heads), h = ix_rem(cg, b, heads);
  for (int x = MAP_Q; x < NMAPS; x++) {
    op_rows r = operand_rows(cg, ge, x, vals[x], maps[x], pads[x], b, g, h);
    int64_t rows = x == MAP_K || x == MAP_V ? ge->nk : ge->nq, len = x == MAP_Q || x == MAP_K ? ge->d : ge->dv;
    cg_loop n = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
    LLVMValueRef row = row_ptr(cg, &r, n.iv);
    for (int64_t at = 0; at < len; at += VL) vec_prefetch_l2(cg, gep_f32(cg, row, cg_i64(cg, at)));
    vec_prefetch_l2(cg, gep_f32(cg, row, cg_i64(cg, len - 1))); /* a row that straddles one more line */
    cg_loop_end(cg, &n);
  }
}

/* A constant bias as the kernel reads it: each batch entry's [Nq, Nk] slab once per distinct value, its
 * rows padded with zeros to nk_pad, in a table [U][Nq][nk_pad] of the blob, and per batch entry b the
 * offset of its slab (floats, int64). Swin's shifted windows add the mask to the rel-pos bias, [G, H, N, N]:
 * G·H slabs, but only the windows of the last row and column differ in their mask, so U is 4·H (Swin-T
 * stage 1: 12 slabs, 150 KB, instead of 192 read from memory, 1.8 MB); the padded rows are whole aligned
 * vectors besides. Only for a bias varying along both Nq and Nk (bias_strides of the rows and keys):
 * padding a bias broadcast along the rows would multiply it. */
typedef struct bias_table {
  int64_t table, entry; /* blob offsets */
} bias_table;

static bool wants_bias_table(const vitc_value *bias, const int64_t *strides, int r) {
  return bias && bias->data && bias->dtype == VITC_F32 && strides[r - 1] == 1 && strides[r - 2] != 0;
}

/* Entry b's slab of the bias (strides: its broadcast strides against [.., Nq, Nk]) into s [Nq][nk_pad]. */
static void bias_slab(const attn_geom *ge, const float *bias, const int64_t *strides, int64_t b, int64_t nk_pad,
                      float *s) {
  int64_t off = 0;
  for (int d = ge->nb - 1; d >= 0; d--) {
    off += b % ge->batch_dims[d] * strides[d];
    b /= ge->batch_dims[d];
  }
  memset(s, 0, sizeof(float) * (size_t)(ge->nq * nk_pad));
  for (int64_t i = 0; i < ge->nq; i++)
    memcpy(s + i * nk_pad, bias + off + i * strides[ge->nb], sizeof(float) * (size_t)ge->nk);
}

static vitc_status make_bias_table(vitc_cg *cg, const attn_geom *ge, const vitc_value *bias, const int64_t *strides,
                                   int64_t nk_pad, bias_table *bt, vitc_error *err) {
  int64_t slab = ge->nq * nk_pad, nu = 0;
  size_t bytes = sizeof(float) * (size_t)slab;
  /* room for a slab per entry, of which only the distinct ones are written (and made resident) */
  float *uniq = malloc(bytes * (size_t)ge->batch);
  uint64_t *hash = malloc(sizeof(uint64_t) * (size_t)ge->batch);
  int64_t *entry = malloc(sizeof(int64_t) * (size_t)ge->batch);
  vitc_status st = uniq && hash && entry ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int64_t b = 0; b < ge->batch && !st; b++) {
    float *s = uniq + nu * slab;
    bias_slab(ge, bias->data, strides, b, nk_pad, s);
    uint64_t h = vitc_rt_hash(s, bytes);
    int64_t u = 0;
    while (u < nu && (hash[u] != h || memcmp(uniq + u * slab, s, bytes))) u++;
    if (u == nu) hash[nu++] = h;
    entry[b] = u * slab;
  }
  if (!st) st = cg_add_blob(cg, uniq, bytes * (size_t)nu, &bt->table, err);
  if (!st) st = cg_add_blob(cg, entry, sizeof(int64_t) * (size_t)ge->batch, &bt->entry, err);
  free(uniq);
  free(hash);
  free(entry);
  return st;
}

/* The 16 × 16 floats x[0..16) (row t in x[t]) transposed in registers: four rounds of two-source
 * shuffles, round s swapping the off-diagonal s × s blocks of every 2s × 2s block (bit s of the row index
 * trades places with bit s of the column index). 64 shuffles for 256 floats, where moving them one by one
 * took a load and a strided store each (a fifth of Swin's 49-token attention). */
static void transpose_block(vitc_cg *cg, LLVMValueRef *x) {
  for (int s = VL / 2; s >= 1; s /= 2) {
    int lo[VL], hi[VL];
    for (int c = 0; c < VL; c++) {
      lo[c] = c & s ? VL + c - s : c;
      hi[c] = c & s ? VL + c : c + s;
    }
    for (int t = 0; t < VL; t++) {
      if (t & s) continue;
      LLVMValueRef a = x[t], b = x[t + s];
      x[t] = vec_shuffle(cg, a, b, lo, VL);
      x[t + s] = vec_shuffle(cg, a, b, hi, VL);
    }
  }
}

/* Keys j0 .. j0 + keys - 1 (keys <= 16, the rest of the 16 columns zero) of K's rows into columns j0 ..
 * j0 + 15 of Kᵀ [D, nk_pad] at dst, each key times 1/‖K(j,:)‖ when unit: 16 × 16 blocks transposed in
 * registers. */
/* x[r] = Kᵀ row 16c + r over the 16 keys whose rows are rows[0 .. keys) (zero past them and past D), each
 * key times f[t] unless f is NULL. */
static void key_columns(vitc_cg *cg, const LLVMValueRef *rows, const LLVMValueRef *f, int keys, int64_t d, int64_t c,
                        LLVMValueRef *x) {
  for (int t = 0; t < VL; t++) {
    x[t] = t < keys ? f32v_load(cg, gep_f32(cg, rows[t], cg_i64(cg, c * VL)), lanes_of(d, c)) : vconst(cg, 0);
    if (t < keys && f && f[t]) x[t] = vec_mul(cg, x[t], f[t]);
  }
  transpose_block(cg, x);
}

static void pack_key_block(vitc_cg *cg, const op_rows *k, int64_t d, bool unit, LLVMValueRef j0, int keys,
                           LLVMValueRef dst, int64_t nk_pad) {
  LLVMValueRef rows[VL], f[VL], x[VL];
  for (int t = 0; t < keys; t++) {
    rows[t] = row_ptr(cg, k, ix_add(cg, j0, cg_i64(cg, t)));
    f[t] = unit ? f32v_splat(cg, inverse_norm(cg, rows[t], d)) : NULL;
  }
  for (int64_t c = 0; c < vecs(d); c++) {
    key_columns(cg, rows, f, keys, d, c, x);
    for (int r = 0; r < lanes_of(d, c); r++) f32v_store(cg, x[r], gep_f32(cg, gep_f32_at(cg, dst, cg_i64(cg, c * VL + r), nk_pad, 0), j0), VL);
  }
}

/* The rows [few][D] of the few keys past the tiles (key_pack) at dst, times 1/‖K(j,:)‖ when unit: copied
 * from K's rows, or gathered from the columns of a dense Kᵀ_b at kt_src. */
static void pack_few_rows(vitc_cg *cg, const attn_geom *ge, LLVMValueRef kt_src, const op_rows *k, bool unit,
                          LLVMValueRef dst, const key_pack *kp) {
  for (int64_t t = 0; t < kp->few; t++) {
    LLVMValueRef j = cg_i64(cg, kp->full + t), row = gep_f32(cg, dst, cg_i64(cg, t * ge->d));
    if (kt_src) {
      cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->d), 1);
      vec_store1(cg, vec_load1(cg, cg->f32, gep_f32(cg, gep_f32_at(cg, kt_src, d.iv, ge->nk, 0), j)), gep_f32(cg, row, d.iv));
      cg_loop_end(cg, &d);
      continue;
    }
    LLVMValueRef src = row_ptr(cg, k, j), f = unit ? f32v_splat(cg, inverse_norm(cg, src, ge->d)) : NULL;
    for (int64_t c = 0; c < vecs(ge->d); c++) {
      LLVMValueRef x = f32v_load(cg, gep_f32(cg, src, cg_i64(cg, c * VL)), lanes_of(ge->d, c));
      f32v_store(cg, f ? vec_mul(cg, x, f) : x, gep_f32(cg, row, cg_i64(cg, c * VL)), lanes_of(ge->d, c));
    }
  }
}

/* Kᵀ of one batch entry into dst [D][nk_pad], zero past Nk, each key's column times 1/‖K(b,j,:)‖ with
 * normalize_qk: the score tiles then read whole vectors of keys with no edge, and the cosine's key factor
 * is paid once per key instead of once per score. K as rows (k, a block of 16 keys at a time) or, when
 * kt_src is not NULL, as a dense Kᵀ_b [D, Nk] at kt_src (row by row). */
static void pack_entry_values(vitc_cg *cg, const attn_geom *ge, LLVMValueRef kt_src, const op_rows *k, bool unit,
                              LLVMValueRef dst, const key_pack *kp);
static void pack_entry(vitc_cg *cg, const attn_geom *ge, LLVMValueRef kt_src, const op_rows *k, bool unit,
                       LLVMValueRef dst, const key_pack *kp) {
  pack_entry_values(cg, ge, kt_src, k, unit, dst, kp);
  if (ge->grid[VITC_GRID_K].on) grid_levels(cg, dst, dst, kp->size, NULL, &ge->grid[VITC_GRID_K]); /* zeros stay zeros */
}

static void pack_entry_values(vitc_cg *cg, const attn_geom *ge, LLVMValueRef kt_src, const op_rows *k, bool unit,
                              LLVMValueRef dst, const key_pack *kp) {
  int64_t nk_pad = kp->nk_pad;
  pack_few_rows(cg, ge, kt_src, k, unit, gep_f32(cg, dst, cg_i64(cg, ge->d * nk_pad)), kp);
  if (kt_src) {
    cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->d), 1);
    for (int64_t c = 0; c < nk_pad / VL; c++) {
      LLVMValueRef x = f32v_load(cg, gep_f32_at(cg, kt_src, d.iv, ge->nk, c * VL), lanes_of(ge->nk, c));
      f32v_store(cg, x, gep_f32_at(cg, dst, d.iv, nk_pad, c * VL), VL);
    }
    cg_loop_end(cg, &d);
    return;
  }
  if (ge->nk / VL) {
    cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->nk / VL * VL), VL);
    pack_key_block(cg, k, ge->d, unit, j.iv, VL, dst, nk_pad);
    cg_loop_end(cg, &j);
  }
  if (ge->nk % VL && !kp->few) pack_key_block(cg, k, ge->d, unit, cg_i64(cg, ge->nk / VL * VL), (int)(ge->nk % VL), dst, nk_pad);
}

/* bf16: 16 words, each the pair of lanes of lo (low half) and hi (high half) rounded to bfloat16. */
static LLVMValueRef pair_words(vitc_cg *cg, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMValueRef h = emit_bf16_bits(cg, hi);
  return vec_or(cg, emit_bf16_bits(cg, lo), vec_shl(cg, h, vec_k(cg, h, 16)));
}

/* bf16: keys j0 .. j0 + keys - 1 (keys <= 16) into columns j0 .. j0 + 15 of the Kᵀ pairs at dst
 * (key_pack_bf16): the 16 × 16 blocks transposed as in pack_key_block, then rows 2p and 2p + 1 paired. */
static void pack_key_pairs(vitc_cg *cg, const op_rows *k, int64_t d, LLVMValueRef j0, int keys, LLVMValueRef dst,
                           int64_t nk_pad) {
  LLVMValueRef rows[VL], x[VL];
  for (int t = 0; t < keys; t++) rows[t] = row_ptr(cg, k, ix_add(cg, j0, cg_i64(cg, t)));
  for (int64_t c = 0; c < vecs(d); c++) {
    key_columns(cg, rows, NULL, keys, d, c, x);
    for (int p = 0; p < (lanes_of(d, c) + 1) / 2; p++)
      vec_store(cg, pair_words(cg, x[2 * p], x[2 * p + 1]),
                cg_gep(cg, cg->i32, dst, ix_add(cg, cg_i64(cg, (c * VL / 2 + p) * nk_pad), j0)), VL);
  }
}

/* bf16: a dense Kᵀ_b [D, Nk] at src into the pairs at dst, rows 2p and 2p + 1 paired (an odd D's last
 * with zeros). */
static void pack_kt_pairs(vitc_cg *cg, const attn_geom *ge, LLVMValueRef src, LLVMValueRef dst, int64_t nk_pad) {
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, (ge->d + 1) / 2), 1);
  LLVMValueRef d0 = ix_mulk(cg, p.iv, 2), odd = vec_icmp(cg, LLVMIntSLT, ix_addk(cg, d0, 1), cg_i64(cg, ge->d));
  for (int64_t c = 0; c < nk_pad / VL; c++) {
    LLVMValueRef lo = f32v_load(cg, gep_f32_at(cg, src, d0, ge->nk, c * VL), lanes_of(ge->nk, c));
    /* the row past an odd D's end is read from row D - 1 and zeroed */
    LLVMValueRef hi = f32v_load(cg, gep_f32_at(cg, src, ix_min(cg, ix_addk(cg, d0, 1), cg_i64(cg, ge->d - 1)), ge->nk, c * VL),
                                lanes_of(ge->nk, c));
    hi = vec_select(cg, odd, hi, vconst(cg, 0));
    vec_store(cg, pair_words(cg, lo, hi), cg_gep(cg, cg->i32, dst, ix_addk(cg, ix_mulk(cg, p.iv, nk_pad), c * VL)), VL);
  }
  cg_loop_end(cg, &p);
}

/* bf16: V's rows r0 and r1 (NULL: zeros) paired into the dv_pad words at dst. */
static void value_pair_row(vitc_cg *cg, LLVMValueRef r0, LLVMValueRef r1, int64_t dv, LLVMValueRef dst) {
  for (int64_t c = 0; c < vecs(dv); c++) {
    LLVMValueRef lo = f32v_load(cg, gep_f32(cg, r0, cg_i64(cg, c * VL)), lanes_of(dv, c));
    LLVMValueRef hi = r1 ? f32v_load(cg, gep_f32(cg, r1, cg_i64(cg, c * VL)), lanes_of(dv, c)) : vconst(cg, 0);
    vec_store(cg, pair_words(cg, lo, hi), cg_gep(cg, cg->i32, dst, cg_i64(cg, c * VL)), VL);
  }
}

/* bf16: one batch entry's Kᵀ pairs and V pairs into dst (key_pack_bf16), K as rows (k) or as a dense Kᵀ_b
 * at kt_src. */
static void pack_entry_bf16(vitc_cg *cg, const attn_geom *ge, LLVMValueRef kt_src, const op_rows *k, const op_rows *v,
                            LLVMValueRef dst, const key_pack *kp) {
  int64_t dv_pad = vecs(ge->dv) * VL;
  if (kt_src) pack_kt_pairs(cg, ge, kt_src, dst, kp->nk_pad);
  if (!kt_src && ge->nk / VL) {
    cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->nk / VL * VL), VL);
    pack_key_pairs(cg, k, ge->d, j.iv, VL, dst, kp->nk_pad);
    cg_loop_end(cg, &j);
  }
  if (!kt_src && ge->nk % VL) pack_key_pairs(cg, k, ge->d, cg_i64(cg, ge->nk / VL * VL), (int)(ge->nk % VL), dst, kp->nk_pad);
  LLVMValueRef vdst = cg_gep(cg, cg->i32, dst, cg_i64(cg, kp->values));
  if (ge->nk / 2) {
    cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->nk / 2), 1);
    LLVMValueRef j = ix_mulk(cg, p.iv, 2);
    value_pair_row(cg, row_ptr(cg, v, j), row_ptr(cg, v, ix_addk(cg, j, 1)), ge->dv,
                   cg_gep(cg, cg->i32, vdst, ix_mulk(cg, p.iv, dv_pad)));
    cg_loop_end(cg, &p);
  }
  if (ge->nk % 2)
    value_pair_row(cg, row_ptr(cg, v, cg_i64(cg, ge->nk - 1)), NULL, ge->dv, cg_gep(cg, cg->i32, vdst, cg_i64(cg, ge->nk / 2 * dv_pad)));
}

/* The keys of every batch entry packed into kt [batch][kp->size] (pack_entry), one task per batch entry:
 * for the attention of many query blocks per entry, which all read them. */
static void pack_keys(vitc_cg *cg, const attn_geom *ge, bool k_transposed, bool unit, LLVMValueRef kdata,
                      LLVMValueRef kmap, LLVMValueRef pad, LLVMValueRef kt, const key_pack *kp, LLVMValueRef sizes,
                      LLVMValueRef vdata, LLVMValueRef vmap) {
  LLVMValueRef captured[7] = {kdata, kmap, kt, pad, sizes, vdata, vmap}, entries = cg_size(cg, sizes, SZ_ENTRIES);
  cg_task t = cg_task_begin(cg, captured, 7);
  LLVMValueRef heads = cg_size(cg, t.vals[4], SZ_HEADS);
  cg_loop b = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef g = ix_div(cg, b.iv, heads), h = ix_rem(cg, b.iv, heads);
  op_rows k = operand_rows(cg, ge, MAP_K, t.vals[0], t.vals[1], t.vals[3], b.iv, g, h);
  LLVMValueRef src = k_transposed ? gep_f32_at(cg, t.vals[0], b.iv, ge->d * ge->nk, 0) : NULL;
  LLVMValueRef dst = gep_f32_at(cg, t.vals[2], b.iv, kp->size, 0);
  if (kp->values) {
    op_rows v = operand_rows(cg, ge, MAP_V, t.vals[5], t.vals[6], t.vals[3], b.iv, g, h);
    pack_entry_bf16(cg, ge, src, &k, &v, dst, kp);
  } else {
    pack_entry(cg, ge, src, &k, unit, dst, kp);
    if (kp->vrows) {
      op_rows v = operand_rows(cg, ge, MAP_V, t.vals[5], t.vals[6], t.vals[3], b.iv, g, h);
      dense_values(cg, ge, &v, NULL, gep_f32(cg, dst, cg_i64(cg, kp->vrows)));
    }
  }
  cg_loop_end(cg, &b);
  cg_task_end_n(cg, &t, entries);
}

/* Where the rows of a block come from in the current batch entry b. */
typedef struct row_src {
  op_rows q, y;
  LLVMValueRef bias, rs; /* the task's pointers; NULL when absent */
  LLVMValueRef bidx[VITC_MAX_RANK]; /* b unflattened over the logical batch dims */
  int nb;
  int64_t bias_is, scale_is;                /* their strides along the rows */
  LLVMValueRef bias_strides[VITC_MAX_RANK]; /* and along the batch dims (run-time sizes) */
  LLVMValueRef scale_strides[VITC_MAX_RANK];
  LLVMValueRef scale; /* the attribute */
  bool unit;          /* normalize_qk */
} row_src;

/* The row arrays for the block's rows i0 .. i0 + rows - 1 of the batch entry: pointers and factors. */
static void setup_rows(attn_ctx *a, const row_src *src, LLVMValueRef i0, int rows) {
  vitc_cg *cg = a->cg;
  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  LLVMValueRef i = ix_add(cg, i0, r.iv), scale = src->scale, q = row_ptr(cg, &src->q, i);
  if (a->qlev) q = grid_query_row(a, q, r.iv, src->unit);
  LLVMValueRef qb = a->bf16 ? cg_gep(cg, cg->i32, a->qb, ix_mulk(cg, r.iv, (a->d + 1) / 2)) : NULL;
  if (qb) emit_round_pairs(cg, q, qb, a->d); /* bf16: the score tiles read the rounded pairs */
  vec_store1(cg, qb ? qb : q, cg_gep(cg, cg->ptr, a->qp, r.iv));
  vec_store1(cg, row_ptr(cg, &src->y, i), cg_gep(cg, cg->ptr, a->yp, r.iv));
  if (src->bias)
    vec_store1(cg, row_of(cg, src->bias, src->bidx, src->nb, i, src->bias_is, src->bias_strides),
               cg_gep(cg, cg->ptr, a->bp, r.iv));
  if (src->rs) {
    LLVMValueRef f = row_of(cg, src->rs, src->bidx, src->nb, i, src->scale_is, src->scale_strides);
    scale = vec_mul(cg, vec_load1(cg, cg->f32, f), scale);
  }
  if (src->unit && !a->qlev) scale = vec_mul(cg, scale, inverse_norm(cg, q, a->d)); /* else in Q's levels */
  vec_store1(cg, scale, gep_f32(cg, a->fac, r.iv));
  cg_loop_end(cg, &r);
}

/* The block at row i0: a->rows rows, except the last block of a batch entry when they do not divide Nq. */
static void emit_blocks(attn_ctx *a, const row_src *src, LLVMValueRef i0) {
  vitc_cg *cg = a->cg;
  int tail = (int)(a->nq % a->rows);
  if (!tail) {
    setup_rows(a, src, i0, a->rows);
    emit_block(a, a->rows);
    return;
  }
  LLVMValueRef partial = vec_icmp(cg, LLVMIntSGT, i0, cg_i64(cg, a->nq - a->rows));
  if (a->nq > a->rows) {
    cg_if whole = cg_if_begin(cg, vec_not(cg, partial));
    setup_rows(a, src, i0, a->rows);
    emit_block(a, a->rows);
    cg_if_end(cg, &whole);
  }
  cg_if last = cg_if_begin(cg, partial);
  setup_rows(a, src, i0, tail);
  emit_block(a, tail);
  cg_if_end(cg, &last);
}

/* The query rows of a task; whether it packs its own Kᵀ. A batch entry whose scores all fit the block is one
 * task that packs its Kᵀ on the stack (L1, no second parallel pass, no trip through memory): small windows.
 * Larger ones pack every entry's Kᵀ first, for all its query blocks to share. */
static bool choose_rows(attn_ctx *a, const attn_geom *ge) {
  int64_t micro = SCORE_BYTES / (a->nk_pad * (int64_t)sizeof(float) * ROWS);
  bool local = a->nq * a->nk_pad * (int64_t)sizeof(float) <= SCORE_BYTES &&
               a->kp.size * (int64_t)sizeof(float) <= LOCAL_KT_BYTES && ge->batch >= LOCAL_MIN_TASKS;
  a->rows = local ? (int)a->nq : ROWS * (int)(micro < 1 ? 1 : micro > BLOCK_MICRO ? BLOCK_MICRO : micro);
  if (a->rows > a->nq) a->rows = (int)((a->nq + ROWS - 1) / ROWS * ROWS); /* few queries: one block */
  return local;
}

/* Whether the pass over every entry's keys (pack_keys) also copies its V rows into dense rows after them:
 * when P·V takes several passes over V's rows (a tile narrower than Dv: AVX2's 16 floats for ViT's 64),
 * each reading a line of every row, and the rows are mapped into a packed qkv tensor, where they lie a
 * qkv row apart (ViT-B: 9 KB, 144 lines: they fall in 4 of L1's 64 sets). bench/attention.c, ViT-B heads
 * at 197 tokens on one thread, AVX2: the dense operands ran at 74% of peak, the mapped ones at 66%; packed,
 * 72%. Only for a target whose tiles are narrower than the widest: AVX-512's read 4 lines of each row per
 * pass, and copying was not measured there (Dv > 64). */
static bool packs_values(const attn_ctx *a, const attn_geom *ge) {
  return !a->bf16 && ge->map[MAP_V] && !ge->grid[VITC_GRID_V].on && a->tile_vecs < TILE_VECS &&
         a->tile_vecs < vecs(a->dv);
}

/* A task's arrays on the stack: the block's Q, Y (and bias) row addresses, factors, running maxima and scores. */
static void task_arrays(attn_ctx *a, bool bias) {
  vitc_cg *cg = a->cg;
  a->qp = cg_var(cg, LLVMArrayType(cg->ptr, (unsigned)a->rows), NULL);
  a->yp = cg_var(cg, LLVMArrayType(cg->ptr, (unsigned)a->rows), NULL);
  a->bp = bias ? cg_var(cg, LLVMArrayType(cg->ptr, (unsigned)a->rows), NULL) : NULL;
  a->fac = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)a->rows), NULL);
  a->qb = a->bf16 ? cg_var(cg, LLVMArrayType(cg->i32, (unsigned)(a->rows * ((a->d + 1) / 2))), NULL) : NULL;
  a->mx = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(a->rows * VL)), NULL);
  a->s = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(a->rows * a->nk_pad)), NULL);
  LLVMSetAlignment(a->s, 64);
  a->rows_pad = vecs(a->rows) * VL;
  a->cols = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)((1 + a->kp.few) * a->rows_pad)), NULL);
}

/* ---------------------------------------------------------------- a QDQ model's grids (header) */

/* saturate(roundeven(x / s) + z) - z, the level of x on grid g: QuantizeLinear's rounding (vitc_qgrid_level). */
static LLVMValueRef grid_level(vitc_cg *cg, LLVMValueRef x, const vitc_qgrid *g) {
  LLVMValueRef q = vec_call1(cg, "llvm.roundeven", vec_div(cg, x, vec_k(cg, x, g->scale)));
  return vec_sub(cg, vec_clamp(cg, vec_add(cg, q, vec_k(cg, x, g->zp)), g->lo, g->hi), vec_k(cg, x, g->zp));
}

/* x rounded to grid g: its level times the scale (DequantizeLinear(QuantizeLinear(x))). */
static LLVMValueRef grid_round(vitc_cg *cg, LLVMValueRef x, const vitc_qgrid *g) {
  return vec_mul(cg, grid_level(cg, x, g), vec_k(cg, x, g->scale));
}

typedef struct level_run {
  LLVMValueRef src, dst, pre; /* pre: a float factor applied first, or NULL */
  const vitc_qgrid *g;
} level_run;
static void level_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  const level_run *r = state;
  LLVMValueRef x = f32v_load(cg, gep_f32(cg, r->src, i), lanes);
  if (r->pre) x = vec_mul(cg, x, f32v_splat(cg, r->pre));
  f32v_store(cg, r->g ? grid_level(cg, x, r->g) : x, gep_f32(cg, r->dst, i), lanes);
}

/* The n floats at src, times pre (NULL: 1), as levels of grid g (NULL: as they are) at dst (which may be src). */
static void grid_levels(vitc_cg *cg, LLVMValueRef src, LLVMValueRef dst, int64_t n, LLVMValueRef pre, const vitc_qgrid *g) {
  vec_for(cg, cg_i64(cg, 0), n, VL, level_vector, &(level_run){src, dst, pre, g});
}

/* Row r of the block, Q(b, i, :) at q, as levels of scale·Q (over ‖Q(b, i, :)‖ when unit: normalize_qk)
 * into the block's level rows; returns where. */
static LLVMValueRef grid_query_row(attn_ctx *a, LLVMValueRef q, LLVMValueRef r, bool unit) {
  vitc_cg *cg = a->cg;
  LLVMValueRef dst = gep_f32_at(cg, a->qlev, r, a->d, 0), pre = a->q_pre == 1 ? NULL : cg_f32(cg, a->q_pre);
  if (unit) pre = vec_mul(cg, inverse_norm(cg, q, a->d), pre ? pre : cg_f32(cg, 1));
  grid_levels(cg, q, dst, a->d, pre, &a->grid[VITC_GRID_Q]);
  return dst;
}

/* The entry's V rows as levels of grid g (NULL: as they are, packs_values) into dense rows [Nk][Dv] at dst,
 * returned as the entry's V. */
static op_rows dense_values(vitc_cg *cg, const attn_geom *ge, const op_rows *v, const vitc_qgrid *g, LLVMValueRef dst) {
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ge->nk), 1);
  grid_levels(cg, row_ptr(cg, v, j.iv), gep_f32_at(cg, dst, j.iv, ge->dv, 0), ge->dv, NULL, g);
  cg_loop_end(cg, &j);
  return (op_rows){dst, NULL, NULL, ge->dv};
}

/* Every entry's V as levels into vl [batch][Nk][Dv], a task per entry, before the blocks that share them. */
static void pack_values(vitc_cg *cg, const attn_geom *ge, LLVMValueRef vdata, LLVMValueRef vmap, LLVMValueRef pad,
                        LLVMValueRef vl, LLVMValueRef sizes) {
  LLVMValueRef captured[5] = {vdata, vmap, vl, pad, sizes}, entries = cg_size(cg, sizes, SZ_ENTRIES);
  cg_task t = cg_task_begin(cg, captured, 5);
  LLVMValueRef heads = cg_size(cg, t.vals[4], SZ_HEADS);
  cg_loop b = cg_loop_begin(cg, t.begin, t.end, 1);
  op_rows v = operand_rows(cg, ge, MAP_V, t.vals[0], t.vals[1], t.vals[3], b.iv, ix_div(cg, b.iv, heads), ix_rem(cg, b.iv, heads));
  dense_values(cg, ge, &v, &ge->grid[VITC_GRID_V], gep_f32_at(cg, t.vals[2], b.iv, ge->nk * ge->dv, 0));
  cg_loop_end(cg, &b);
  cg_task_end_n(cg, &t, entries);
}

/* The block's probabilities, e_j (softmax_rows) times the row's 1/Σ, as levels of their grid, and each row's
 * factor the grids' scales; without P's grid only V's scale joins 1/Σ. */
static void grid_probabilities(attn_ctx *a, int rows) {
  const vitc_qgrid *p = &a->grid[VITC_GRID_P], *v = &a->grid[VITC_GRID_V];
  if (!p->on && !v->on) return;
  vitc_cg *cg = a->cg;
  float vs = v->on ? v->scale : 1;
  cg_loop r = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rows), 1);
  LLVMValueRef at = gep_f32(cg, a->fac, r.iv), f = vec_load1(cg, cg->f32, at);
  if (p->on) {
    LLVMValueRef row = gep_f32_at(cg, a->s, r.iv, a->nk_pad, 0);
    grid_levels(cg, row, row, a->nk_pad, f, p); /* the padding's zeros stay zeros */
    f = cg_f32(cg, p->scale * vs);
  } else {
    f = vec_mul(cg, f, cg_f32(cg, vs));
  }
  vec_store1(cg, f, at);
  cg_loop_end(cg, &r);
}

/* The factor of every score: the grids' scales of Q and K when they have them (the products are of levels;
 * the scale is in Q's levels), else the scale attribute. */
static float product_factor(const attn_geom *ge, float scale) {
  float f = ge->grid[VITC_GRID_Q].on ? ge->grid[VITC_GRID_Q].scale : scale;
  return ge->grid[VITC_GRID_K].on ? f * ge->grid[VITC_GRID_K].scale : f;
}

vitc_status emit_Attention(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *bias = cg_in_value(cg, IN_BIAS), *rs = cg_in_value(cg, IN_SCALE);
  attn_geom ge;
  vitc_status st = attn_geometry(cg, n, &ge, err);
  if (st) return st;
  bool unit = vitc_attr_int(n, "normalize_qk", 0) != 0;
  bool k_transposed = vitc_attr_int(n, "k_transposed", 0) != 0;
  float scale = (float)vitc_attr_float(n, "scale", 1.0);
  attn_ctx a = {.cg = cg, .nq = ge.nq, .d = ge.d, .dv = ge.dv, .nk = ge.nk, .nk_pad = vecs(ge.nk) * VL,
                .bf16 = vitc_bf16_product(cg->g, n), .grid = ge.grid, .q_pre = scale, .regs = f32v_registers(cg)};
  /* the widest tile of ROWS rows: AVX-512's 4 vectors (64 keys, 24 accumulators); AVX2's 1 (16 keys, 12 ymm
   * accumulators), where 4 vectors spilled every step (bench/attention.c, ViT-B heads at 197 tokens, one
   * thread: 27% -> 62% of peak) */
  a.tile_vecs = tile_vecs_for(a.regs, ROWS, TILE_VECS);
  a.kp = a.bf16 ? key_pack_bf16(ge.nk, ge.d, ge.dv) : key_pack_of(ge.nk, ge.d);
  if (unit && k_transposed) return vitc_fail(err, VITC_ERR_INVALID, "Attention normalize_qk needs k_transposed = 0");
  if (ge.batch == 0 || a.nq == 0 || a.dv == 0) return VITC_OK;
  if (a.nk == 0) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "attention over zero keys");
  int nb = ge.nb, r = nb + 2;
  int64_t bias_strides[VITC_MAX_RANK] = {0}, scale_strides[VITC_MAX_RANK] = {0}, dims[VITC_MAX_RANK];
  memcpy(dims, ge.batch_dims, sizeof(int64_t) * (size_t)nb);
  dims[r - 2] = a.nq;
  dims[r - 1] = a.nk; /* the scores */
  if (bias) broadcast_strides(bias, dims, r, bias_strides);
  a.bias_js = bias_strides[r - 1];
  bias_table bt = {-1, -1};
  int64_t table_strides[VITC_MAX_RANK] = {0}; /* a slab's rows in the table; its entry's offset apart */
  bool slabs = wants_bias_table(bias, bias_strides, r);
  if (slabs) {
    table_strides[r - 2] = a.nk_pad;
    table_strides[r - 1] = 1;
    a.bias_whole = true;
  }
  const int64_t *bias_read = slabs ? table_strides : bias_strides;
  dims[r - 1] = 1; /* S holds one factor per row */
  if (rs) broadcast_strides(rs, dims, r, scale_strides);

  bool local = choose_rows(&a, &ge);
  if (!local && packs_values(&a, &ge)) a.kp.vrows = a.kp.size, a.kp.size += ge.nk * ge.dv;
  int64_t blocks = (a.nq + a.rows - 1) / a.rows; /* per batch entry */
  int64_t sizes[SZ_COUNT] = {[SZ_HEADS] = ge.heads, [SZ_ENTRIES] = ge.batch, [SZ_TASKS] = ge.batch * blocks};
  for (int d = 0; d < nb; d++)
    sizes[SZ_DIMS + d] = ge.batch_dims[d], sizes[SZ_BIAS + d] = bias_read[d], sizes[SZ_SCALE + d] = scale_strides[d];
  /* The sizes first, at the same offset in every node; the bias table after them (its length varies), its
   * offsets written into them once known. */
  int64_t sizes_at;
  LLVMValueRef table;
  if ((st = cg_add_sizes(cg, sizes, SZ_COUNT, &table, &sizes_at, err))) return st;
  if (slabs) {
    if ((st = make_bias_table(cg, &ge, bias, bias_strides, a.nk_pad, &bt, err))) return st;
    int64_t *written = cg_blob_data(cg, sizes_at);
    written[SZ_SLABS] = bt.table, written[SZ_SLAB_OF] = bt.entry;
  }
  LLVMValueRef null = LLVMConstNull(cg->ptr), kmap = ge.map[MAP_K] ? cg_in(cg, IN_QMAP + MAP_K) : null, kt = cg_in(cg, IN_K);
  LLVMValueRef pad = cg_in_value(cg, IN_PAD) ? cg_in(cg, IN_PAD) : null;
  if (!local) {
    kt = cg_scratch(cg, sizeof(float) * (size_t)(ge.batch * a.kp.size));
    pack_keys(cg, &ge, k_transposed, unit, cg_in(cg, IN_K), kmap, pad, kt, &a.kp, table, cg_in(cg, IN_V),
              ge.map[MAP_V] ? cg_in(cg, IN_QMAP + MAP_V) : null);
  }
  LLVMValueRef vl = NULL; /* V as levels of its grid, packed before the blocks */
  if (!local && ge.grid[VITC_GRID_V].on) {
    vl = cg_scratch(cg, sizeof(float) * (size_t)(ge.batch * ge.nk * ge.dv));
    pack_values(cg, &ge, cg_in(cg, IN_V), ge.map[MAP_V] ? cg_in(cg, IN_QMAP + MAP_V) : null, pad, vl, table);
  }
  LLVMValueRef captured[13] = {cg_in(cg, IN_Q), kt, vl ? vl : cg_in(cg, IN_V),
                               slabs  ? cg_gep(cg, cg->i8, cg->weights, cg_size(cg, table, SZ_SLABS))
                               : bias ? cg_in(cg, IN_BIAS)
                                      : null,
                               cg_out(cg, 0), rs ? cg_in(cg, IN_SCALE) : null};
  for (int x = MAP_Q; x < NMAPS; x++) captured[6 + x] = ge.map[x] ? cg_in(cg, IN_QMAP + x) : null;
  captured[10] = pad;
  captured[11] = table;
  captured[12] = slabs ? cg_gep(cg, cg->i8, cg->weights, cg_size(cg, table, SZ_SLAB_OF)) : null;
  LLVMValueRef ntasks = cg_size(cg, table, SZ_TASKS);
  cg_task t = cg_task_begin(cg, captured, 13);
  LLVMValueRef heads = cg_size(cg, t.vals[11], SZ_HEADS), batch_dims[VITC_MAX_RANK];
  row_src src = {.bias = bias ? t.vals[3] : NULL, .rs = rs ? t.vals[5] : NULL, .nb = nb,
                 .bias_is = bias_read[nb], .scale_is = scale_strides[nb],
                 .scale = cg_f32(cg, product_factor(&ge, scale)), .unit = unit};
  for (int d = 0; (bias || rs) && d < nb; d++) {
    batch_dims[d] = cg_size(cg, t.vals[11], SZ_DIMS + d);
    src.bias_strides[d] = cg_size(cg, t.vals[11], SZ_BIAS + d);
    src.scale_strides[d] = cg_size(cg, t.vals[11], SZ_SCALE + d);
  }
  task_arrays(&a, bias != NULL);
  a.qlev = ge.grid[VITC_GRID_Q].on ? cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(a.rows * a.d)), NULL) : NULL;
  LLVMValueRef own_v = local && ge.grid[VITC_GRID_V].on ? cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(ge.nk * ge.dv)), NULL) : NULL;
  /* the row a dropped row of Y is computed into: written and read back by this task alone */
  LLVMValueRef discard = ge.padded[MAP_Y] ? cg_var(cg, LLVMArrayType(cg->f32, (unsigned)(vecs(a.dv) * VL)), NULL) : null;
  LLVMValueRef own_kt = local ? cg_var(cg, LLVMArrayType(cg->f32, (unsigned)a.kp.size), NULL) : NULL;
  if (own_kt) LLVMSetAlignment(own_kt, 64);
  cg_loop blk = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef b = ix_div(cg, blk.iv, cg_i64(cg, blocks));
  LLVMValueRef i0 = ix_mul(cg, ix_rem(cg, blk.iv, cg_i64(cg, blocks)), cg_i64(cg, a.rows));
  LLVMValueRef g = ix_div(cg, b, heads), h = ix_rem(cg, b, heads);
  src.q = operand_rows(cg, &ge, MAP_Q, t.vals[0], t.vals[6], t.vals[10], b, g, h);
  src.y = operand_rows(cg, &ge, MAP_Y, t.vals[4], t.vals[9], discard, b, g, h);
  a.v = vl ? (op_rows){gep_f32_at(cg, t.vals[2], b, ge.nk * ge.dv, 0), NULL, NULL, ge.dv}
           : operand_rows(cg, &ge, MAP_V, t.vals[2], t.vals[8], t.vals[10], b, g, h);
  if (own_v) a.v = dense_values(cg, &ge, &a.v, &ge.grid[VITC_GRID_V], own_v);
  if (local && !k_transposed && prefetches_entries(&ge)) {
    LLVMValueRef next = ix_addk(cg, b, 1), vals[NMAPS] = {t.vals[0], t.vals[1], t.vals[2], t.vals[4]};
    LLVMValueRef pads[NMAPS] = {t.vals[10], t.vals[10], t.vals[10], discard};
    cg_if more = cg_if_begin(cg, vec_icmp(cg, LLVMIntSLT, next, cg_size(cg, t.vals[11], SZ_ENTRIES)));
    prefetch_entry(cg, &ge, vals, t.vals + 6, pads, next, heads);
    cg_if_end(cg, &more);
  }
  if (local) {
    op_rows k = operand_rows(cg, &ge, MAP_K, t.vals[1], t.vals[7], t.vals[10], b, g, h);
    LLVMValueRef src = k_transposed ? gep_f32_at(cg, t.vals[1], b, ge.d * ge.nk, 0) : NULL;
    if (a.bf16) pack_entry_bf16(cg, &ge, src, &k, &a.v, own_kt, &a.kp);
    else pack_entry(cg, &ge, src, &k, unit, own_kt, &a.kp);
    a.kt = own_kt;
  } else
    a.kt = gep_f32_at(cg, t.vals[1], b, a.kp.size, 0);
  if (a.kp.vrows) a.v = (op_rows){gep_f32(cg, a.kt, cg_i64(cg, a.kp.vrows)), NULL, NULL, ge.dv};
  a.vp = a.bf16 ? cg_gep(cg, cg->i32, a.kt, cg_i64(cg, a.kp.values)) : NULL;
  if (slabs) src.bias = gep_f32(cg, src.bias, vec_load1(cg, cg->i64, cg_gep(cg, cg->i64, t.vals[12], b)));
  if (bias || rs) emit_unflatten_n(cg, b, batch_dims, nb, src.bidx);
  emit_blocks(&a, &src, i0);
  cg_loop_end(cg, &blk);
  cg_task_end_n(cg, &t, ntasks);
  return VITC_OK;
}
