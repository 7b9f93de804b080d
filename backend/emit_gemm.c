/* emit_gemm.c — generated GEMM kernels (emit_gemm.h) and the MatMul, Gemm, FusedGemm and PatchConvNHWC
 * emitters on top of them.
 *
 * float32: the output is cut into tiles of mr rows x nr columns (nr = nv vectors of 16 floats; sized from the
 * target's registers, tile_of: 8 x 3 with AVX-512's 32, 6 x 1 with AVX2's 16); a tile's mr*nv accumulators
 * stay in registers while p runs over a K block:
 *
 *   acc[i][v] += f32v_splat(A(i0+i, p)) * B(p, j0+16v .. j0+16v+15)            (llvm.fma.v16f32)
 *
 * Loop order per task (a task is one batch index, one nr-wide panel of B and one chunk of mr-row blocks):
 *   for each K block (at most KC):       B's K block x nr slice stays in L2 across the row blocks
 *     for each mr-row block in the chunk: tile (partial sums go through Y between K blocks)
 * Tasks are numbered batch-major, then by panel and row chunk in the order that lets consecutive tasks
 * (which the runtime gives to one thread) reuse the larger of A and B. Edges are static: the last panel
 * uses masked vector loads/stores, and the rows are cut into tiles of two heights one apart (no lone
 * short tile). A packed B is prefetched one K block ahead by the tiles, so that a weight streamed from
 * memory (small M: every row block of a task shares one slice) arrives while the previous slice is
 * computed. A constant B is packed at compile time into panels [N/nr][K][nr] (zero-padded), so the kernel reads it as one contiguous stream; a B whose rows are
 * not contiguous is packed the same way at run time, per batch index, by a task before the kernel. After the last K
 * block the tile's accumulators take the epilogue (alpha, D, activation, gamma, residual) in registers
 * (a GELU in a loop over them, for code size) and are stored once.
 *
 * bfloat16 (vitc_bf16_product: a BF16 op with a constant weight, the graph in BF16 precision): K runs in
 * pairs. B is prepacked as [N/nr][K/2][nr] pairs (B(2q, j) in the low half of a 32-bit word, B(2q+1, j) in
 * the high half: half the float32 bytes), A's rows are rounded to pairs by a task before the kernel (into
 * the node's work space, rounding as vitc_bf16_bits does), and the tile's step is
 *
 *   acc[i][v] = vdpbf16ps(acc[i][v], splat(A pair (i0+i, q)), B pairs (q, j0+16v ..))
 *
 * which adds both products of the pair to each float32 lane: twice the multiply-adds of an fma per
 * instruction. Accumulation, alpha, D and the epilogue stay float32. A target without avx512bf16 emulates
 * it (emit_bf16_dot: two FMAs on the widened halves, the same numbers) in passes that fit its registers. */
#include <stdlib.h>
#include <string.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emit_window.h"
#include "emitters.h"
#include "vmath.h"

#define VL F32V_LANES /* floats per vector */
#define MR 8          /* rows per tile at most (the tile arrays' bound; c_t transposes 8 rows) */
#define NV 3          /* vectors per tile row at most */
#define KC 1024       /* K block at most: K is cut into equal blocks (see emit_sgemm) */
#define MC_BLOCKS 12  /* row blocks per task at most */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Offsets of A, B, Y and D for batch index bidx (row-major over the batch dims). */
static void batch_offsets(vitc_cg *cg, const gemm_desc *d, LLVMValueRef bidx, LLVMValueRef off[4]) {
  const int64_t *strides[4] = {d->a_bs, d->b_bs, d->c_bs, d->d_bs};
  for (int x = 0; x < 4; x++) off[x] = cg_i64(cg, 0);
  LLVMValueRef rest = bidx;
  for (int i = d->nbatch - 1; i >= 0; i--) {
    if (d->batch[i] == 1) continue;
    LLVMValueRef idx = ix_rem(cg, rest, cg_i64(cg, d->batch[i]));
    rest = ix_div(cg, rest, cg_i64(cg, d->batch[i]));
    for (int x = 0; x < 4; x++)
      if (strides[x][i]) off[x] = ix_add(cg, off[x], ix_mulk(cg, idx, strides[x][i]));
  }
}

/* Offset of A's row i (a_rs, or its row groups) and of A's column p (a_cs, or its K segments). */
static LLVMValueRef a_row_at(vitc_cg *cg, const gemm_desc *d, LLVMValueRef a_rs, LLVMValueRef i) {
  if (!d->a_group) return ix_mul(cg, i, a_rs);
  return ix_add(cg, ix_mulk(cg, ix_divk(cg, i, d->a_group), d->a_gs), ix_mul(cg, ix_remk(cg, i, d->a_group), a_rs));
}

static LLVMValueRef a_col_at(vitc_cg *cg, const gemm_desc *d, LLVMValueRef p) {
  if (!d->a_seg) return ix_mulk(cg, p, d->a_cs);
  return ix_add(cg, ix_mulk(cg, ix_divk(cg, p, d->a_seg), d->a_ss), ix_mulk(cg, ix_remk(cg, p, d->a_seg), d->a_cs));
}

static int64_t batch_count(const gemm_desc *d) {
  int64_t nb = 1;
  for (int i = 0; i < d->nbatch; i++) nb *= d->batch[i];
  return nb;
}

/* The float32 register tile: mr rows x nv vectors of VL floats (nr columns, the width of B's panels), whose
 * mr·nv accumulators, nv vectors of B and broadcast of A stay in registers through the K loop. */
typedef struct tile_shape {
  int mr, nv;
  int64_t nr;
} tile_shape;

/* The tile the target's registers hold (f32v_registers; a larger one spills every step of p), by the rows
 * rule the attention kernels use too (tile_rows_most): 8 x 3 of AVX-512's 32 zmm (24 accumulators + 3 B
 * vectors + 1 broadcast); 6 x 1 of AVX2's 16 ymm (6 x 16 floats: 12 accumulators + 2 for B + 1 broadcast, the
 * classic Haswell/Zen kernel; on NEON 24 + 4 + 1 of 32). The bf16 tile is the same; emulated, it runs in
 * passes that fit (emit_bf16_steps). */
static tile_shape tile_of(vitc_cg *cg) {
  int regs = f32v_registers(cg), nv = regs >= 32 ? 3 : 1, mr = tile_rows_most(regs, nv);
  return (tile_shape){mr < MR ? mr : MR, nv, nv * VL}; /* MR: the tile arrays' bound */
}

int64_t emit_gemm_panel_width(vitc_cg *cg) { return tile_of(cg).nr; }

/* ---------------------------------------------------------------- the micro-kernel */

/* The sizes a float32 kernel with a prepacked B reads at run time from its node's constants (cg_add_sizes)
 * when sizes_at_run_time holds, so that the linear layers of a hierarchical model's stages (Swin-T's and
 * ConvNeXt-T's four widths and token counts) share their kernels; in every other kernel they are constants
 * of its code. What stays in the code: the tile heights, N's last part panel, the epilogue. */
enum { GS_K, GS_A_RS, GS_LDC, GS_D_RS, GS_NPAN, GS_TILES, GS_TALL, GS_BPC, GS_INNER, GS_A_LARGER, GS_KBLOCKS,
       GS_PER_BATCH, GS_KC, GS_VECS, GS_COUNT };

/* What a tile needs inside the task: batch-offset bases and the current panel and K block. */
typedef struct kernel_ctx {
  vitc_cg *cg;
  const gemm_desc *d;
  tile_shape t;
  LLVMValueRef ib_lo, ib_hi; /* the task's row blocks */
  LLVMValueRef ib_first;     /* the first row block of their chunk (the prefetch shares count from it) */
  LLVMValueRef a, c, dd; /* A_b, Y_b, D_b */
  LLVMValueRef r, gamma; /* R_b and gamma of the epilogue */
  LLVMValueRef b;        /* B_b(0, j0), or the packed panel */
  int64_t b_ks;          /* 4-byte elements between consecutive steps in b */
  int64_t a_ks, a_qs;    /* bf16: pairs between rows of the rounded A, and between its steps q */
  bool packed, bf16;     /* bf16: a step of p is a pair of K (a, b hold bf16 pairs) */
  LLVMValueRef j0, k0, k1, first, last;
  LLVMValueRef pf_step;  /* packed B: floats the tile's prefetch advances per step of p (NULL: none) */
  LLVMValueRef pf_tile;  /* where the tile prefetches at step p = 0 (pf_tile + p·pf_step at step p) */
  LLVMValueRef sz[GS_COUNT]; /* the sizes, constants or read at run time */
  bool one_kblock;       /* K is one block, known at compile time: no partial sums go through Y */
  int64_t mr_lo;         /* rows of the short tiles; the tall ones have one more */
  bool has_tall;         /* whether the code has tall tiles (GS_TALL of them: 0 .. GS_TALL-1) */
} kernel_ctx;

static LLVMValueRef tile_addr(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i0, int i, LLVMValueRef rs, LLVMValueRef j0,
                              int v) {
  LLVMValueRef row = ix_mul(cg, ix_add(cg, i0, cg_i64(cg, i)), rs);
  return gep_f32(cg, base, ix_add(cg, ix_add(cg, row, j0), cg_i64(cg, (int64_t)v * VL)));
}

/* D(i0+i, j0+16v ..) as a vector: a row of D, or its one element broadcast (D_cs = 0). */
static LLVMValueRef addend_vec(kernel_ctx *k, LLVMValueRef i0, int i, int v, int lanes) {
  vitc_cg *cg = k->cg;
  if (k->d->d_cs) return f32v_load(cg, tile_addr(cg, k->dd, i0, i, k->sz[GS_D_RS], k->j0, v), lanes);
  LLVMValueRef at = ix_mul(cg, ix_add(cg, i0, cg_i64(cg, i)), k->sz[GS_D_RS]);
  return f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, k->dd, at)));
}

/* ---------------------------------------------------------------- the epilogue */

/* R(i0+i, j0+16v ..): R's row i0+i, or i0+i mod r_rows when R repeats down Y. */
static LLVMValueRef residual_addr(kernel_ctx *k, LLVMValueRef i0, int i, int v) {
  vitc_cg *cg = k->cg;
  if (!k->d->r_rows) return tile_addr(cg, k->r, i0, i, k->sz[GS_LDC], k->j0, v);
  return tile_addr(cg, k->r, ix_remk(cg, ix_add(cg, i0, cg_i64(cg, i)), k->d->r_rows), 0, k->sz[GS_LDC], k->j0, v);
}

LLVMValueRef emit_gemm_activate(vitc_cg *cg, gemm_act act, LLVMValueRef x) {
  switch (act) {
  case GEMM_ACT_NONE: return x;
  case GEMM_ACT_RELU: { /* x < 0 ? 0 : x, NaN kept as the evaluator does */
    LLVMValueRef zero = vec_k(cg, x, 0);
    return vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, zero), zero, x);
  }
  case GEMM_ACT_GELU_ERF: return vm_gelu_erf(cg, x);
  case GEMM_ACT_GELU_TANH: return vm_gelu_tanh(cg, x);
  case GEMM_ACT_SILU: return vm_silu(cg, x);
  }
  return x;
}

static bool has_epilogue(const gemm_desc *d) { return d->act != GEMM_ACT_NONE || d->r || d->gamma; }

/* With vdpbf16ps, operands are read as bfloat vectors straight from memory, and a pair is repeated by a
 * shuffle: LLVM 16's VectorCombine recurses without end on a bitcast of an i32 splat to <32 x bfloat>.
 * Emulated (no avx512bf16), they are <16 x i32>, a pair a word, which emit_bf16_dot widens. */
LLVMValueRef emit_bf16_load_pairs(vitc_cg *cg, LLVMValueRef p) {
  if (!cg->dpbf16) return vec_load(cg, vec_of(cg, cg->i32, VL), p, VL);
  return vec_load(cg, vec_of(cg, LLVMBFloatTypeInContext(cg->llvm), 2 * VL), p, 2 * VL);
}

LLVMValueRef emit_bf16_repeat_pair(vitc_cg *cg, LLVMValueRef p) {
  if (!cg->dpbf16) return vec_splat(cg, vec_load1(cg, cg->i32, p), vec_of(cg, cg->i32, VL));
  int repeat[2 * VL];
  for (int e = 0; e < 2 * VL; e++) repeat[e] = e % 2;
  LLVMValueRef pair = vec_load1(cg, vec_of(cg, LLVMBFloatTypeInContext(cg->llvm), 2), p);
  LLVMSetAlignment(pair, 4);
  return vec_shuffle(cg, pair, NULL, repeat, 2 * VL);
}

/* A word's bfloat16 halves as float32 lanes: a bfloat16 is the high half of the float it stands for. */
static LLVMValueRef bf16_high_half(vitc_cg *cg, LLVMValueRef w) {
  return vec_bitcast(cg, vec_and(cg, w, vec_k(cg, w, -65536)), f32v_type(cg)); /* & 0xffff0000 */
}
static LLVMValueRef bf16_low_half(vitc_cg *cg, LLVMValueRef w) {
  return vec_bitcast(cg, vec_shl(cg, w, vec_k(cg, w, 16)), f32v_type(cg));
}

/* vdpbf16ps, or emulated as its numbers are made: a lane's acc + a1·b1 rounded to float32, then + a0·b0
 * (the pair's high halves first), each product of two 8-bit significands exact in float32, so that an FMA
 * per half rounds as it does (denormals aside, which it flushes). */
LLVMValueRef emit_bf16_dot(vitc_cg *cg, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  if (!cg->dpbf16) {
    acc = vec_fma(cg, bf16_high_half(cg, a), bf16_high_half(cg, b), acc);
    return vec_fma(cg, bf16_low_half(cg, a), bf16_low_half(cg, b), acc);
  }
  LLVMValueRef args[3] = {acc, a, b};
  return cg_intrinsic(cg, "llvm.x86.avx512bf16.dpbf16ps.512", NULL, 0, args, 3);
}

/* The K block's steps of rows [r0, r1) x vectors [v0, v1) of a bf16 tile: one vdpbf16ps (or its emulation)
 * per accumulator and pair of K; the prefetch with the first. */
static void emit_bf16_pass(kernel_ctx *k, LLVMValueRef i0, int r0, int r1, int v0, int v1, LLVMValueRef acc[MR][NV]) {
  vitc_cg *cg = k->cg;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef arow[MR], bv[NV];
  for (int i = r0; i < r1; i++) arow[i] = cg_gep(cg, cg->i32, k->a, ix_mulk(cg, ix_add(cg, i0, cg_i64(cg, i)), k->a_ks));
  cg_loop q = cg_loop_begin(cg, k->k0, k->k1, 1);
  LLVMValueRef qa = ix_mulk(cg, q.iv, k->a_qs);
  LLVMValueRef brow = cg_gep(cg, cg->i32, k->b, ix_mulk(cg, q.iv, k->b_ks));
  for (int v = v0; v < v1; v++) bv[v] = emit_bf16_load_pairs(cg, cg_gep(cg, cg->i32, brow, cg_i64(cg, (int64_t)v * VL)));
  if (k->pf_step && !r0 && !v0) vec_prefetch_l2(cg, gep_f32(cg, k->pf_tile, ix_mul(cg, q.iv, k->pf_step)));
  for (int i = r0; i < r1; i++) {
    LLVMValueRef as = emit_bf16_repeat_pair(cg, cg_gep(cg, cg->i32, arow[i], qa));
    for (int v = v0; v < v1; v++) vec_store1(cg, emit_bf16_dot(cg, vec_load1(cg, vt, acc[i][v]), as, bv[v]), acc[i][v]);
  }
  cg_loop_end(cg, &q);
}

/* The K block's steps of a bf16 tile, in passes over parts of it whose values fit the registers
 * (f32v_registers): per pass rows x vecs accumulators, and per vector of B its pairs' two halves, and A's
 * pair widened, all <16 x float>. With vdpbf16ps (no widening) and with AVX-512 emulated the tile is one
 * pass; emulated on AVX2 or NEON (8 of them), passes of one vector and up to 5 rows, the rows cut evenly. */
static void emit_bf16_steps(kernel_ctx *k, LLVMValueRef i0, int mr, int nv, LLVMValueRef acc[MR][NV]) {
  int regs = f32v_registers(k->cg), vecs = nv, rows = mr;
  while (!k->cg->dpbf16 && (rows = (regs - 2 * vecs - 1) / vecs) < mr && vecs > 1) vecs--;
  int passes = (mr + rows - 1) / rows;
  for (int v0 = 0; v0 < nv; v0 += vecs)
    for (int p = 0, r0 = 0; p < passes; r0 += (mr + p) / passes, p++) /* the last mr mod passes one row more */
      emit_bf16_pass(k, i0, r0, r0 + (mr + p) / passes, v0, v0 + vecs < nv ? v0 + vecs : nv, acc);
}

/* alpha * y + beta * D at the tile's value (i, v) of n lanes: what the activation takes. */
static LLVMValueRef scaled_sum(kernel_ctx *k, LLVMValueRef i0, int i, int v, int n, LLVMValueRef y) {
  vitc_cg *cg = k->cg;
  const gemm_desc *d = k->d;
  if (d->alpha != 1) y = vec_mul(cg, y, f32v_splat(cg, cg_f32(cg, (float)d->alpha)));
  if (d->d) {
    LLVMValueRef dv = addend_vec(k, i0, i, v, n);
    if (d->beta != 1) dv = vec_mul(cg, dv, f32v_splat(cg, cg_f32(cg, (float)d->beta)));
    y = vec_add(cg, y, dv);
  }
  return y;
}

/* Vector v of the tile's rows y[i][v] (i < mr) stored transposed (c_t): column j = j0 + 16v + l (l < n) of the
 * rows from i0 as the mr floats at c + j·ldc + i0, R's likewise added when finished. An 8 x 16 transpose in
 * three rounds of two-vector shuffles: the rows' lanes interleaved in pairs of rows, the pairs into quads,
 * the quads into columns of 8. */
static void store_columns(kernel_ctx *k, LLVMValueRef i0, int mr, int v, int n, LLVMValueRef y[MR][NV], bool finish) {
  vitc_cg *cg = k->cg;
  LLVMValueRef zero = LLVMConstNull(f32v_type(cg)), r[MR], pairs[2][MR / 2], quads[2][2][2];
  int pair[2][VL], quad[2][VL], column[4][MR];
  for (int i = 0; i < MR; i++) r[i] = i < mr ? y[i][v] : zero;
  for (int e = 0; e < VL; e++) { /* lane e of a pair vector: column e/2 (+8 in the second), row e%2 */
    pair[0][e] = e / 2 + (e % 2) * VL;
    pair[1][e] = pair[0][e] + VL / 2;
  }
  for (int e = 0; e < VL; e++) { /* of a quad vector: column e/4 (+4 in the second), row e%4 */
    quad[0][e] = 2 * (e / 4) + e % 2 + (e % 4 / 2) * VL;
    quad[1][e] = quad[0][e] + VL / 2;
  }
  for (int c = 0; c < 4; c++)
    for (int w = 0; w < MR; w++) column[c][w] = 4 * c + w % 4 + (w / 4) * VL;
  for (int h = 0; h < 2; h++)
    for (int q = 0; q < MR / 2; q++) pairs[h][q] = vec_shuffle(cg, r[2 * q], r[2 * q + 1], pair[h], VL);
  for (int h = 0; h < 2; h++)
    for (int b = 0; b < 2; b++)
      for (int q = 0; q < 2; q++) quads[h][b][q] = vec_shuffle(cg, pairs[h][2 * q], pairs[h][2 * q + 1], quad[b], VL);
  LLVMTypeRef ct = vec_of(cg, cg->f32, MR);
  for (int l = 0; l < n; l++) {
    int h = l / 8, b = l % 8 / 4, c = l % 4;
    LLVMValueRef col = vec_shuffle(cg, quads[h][b][0], quads[h][b][1], column[c], MR);
    LLVMValueRef at = ix_add(cg, ix_mul(cg, ix_add(cg, k->j0, cg_i64(cg, (int64_t)v * VL + l)), k->sz[GS_LDC]), i0);
    if (finish && k->d->r) col = vec_add(cg, col, vec_load(cg, ct, gep_f32(cg, k->r, at), mr));
    vec_store(cg, col, gep_f32(cg, k->c, at), mr);
  }
}

/* The tile's accumulators stored to Y, finished when `finish`: Y = R + gamma * act(alpha * acc + beta * D).
 * A GELU or SiLU (a few dozen instructions a vector) runs in a loop over the tile's rows, one copy of it rather
 * than mr * nv: the kernel's code is then a third the size and compiles in a third of the time, and the
 * vectors' GELUs still overlap in the core (no iteration waits on another). A row's nv vectors go through
 * it as one vector of nv·16 lanes, so that each step of their chains (a dozen dependent FMAs) is issued
 * for all nv side by side, not a vector's whole chain after another's: bench/jit_gemm --gelu, 1 thread,
 * best thread CPU time of 20, two rounds side by side, 3136x96x384 1.134-1.140 -> 1.114-1.127 ms,
 * 784x192x768 1.016-1.032 -> 0.994, 196x384x1536 0.963-0.969 -> 0.937-0.954. */
static void store_tile(kernel_ctx *k, LLVMValueRef i0, int mr, int nv, int lanes, LLVMValueRef acc[MR][NV], bool finish) {
  vitc_cg *cg = k->cg;
  const gemm_desc *d = k->d;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef done[MR][NV]; /* c_t: the finished rows, for store_columns */
  bool looped = finish && d->act != GEMM_ACT_NONE && d->act != GEMM_ACT_RELU;
  LLVMValueRef tile = looped ? cg_var(cg, LLVMArrayType(vt, (unsigned)(mr * nv)), NULL) : NULL;
  if (looped) {
    for (int i = 0; i < mr; i++)
      for (int v = 0; v < nv; v++) {
        LLVMValueRef y = scaled_sum(k, i0, i, v, v == nv - 1 ? lanes : VL, vec_load1(cg, vt, acc[i][v]));
        vec_store1(cg, y, cg_gep(cg, vt, tile, cg_i64(cg, i * nv + v)));
      }
    cg_loop e = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, mr), 1);
    LLVMValueRef at = cg_gep(cg, vt, tile, ix_mulk(cg, e.iv, nv));
    vec_store1(cg, emit_gemm_activate(cg, d->act, vec_load1(cg, vec_of(cg, cg->f32, nv * VL), at)), at);
    cg_loop_end(cg, &e);
  }
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++) {
      int n = v == nv - 1 ? lanes : VL;
      LLVMValueRef y = looped ? vec_load1(cg, vt, cg_gep(cg, vt, tile, cg_i64(cg, i * nv + v))) : vec_load1(cg, vt, acc[i][v]);
      if (finish) {
        if (!looped) y = emit_gemm_activate(cg, d->act, scaled_sum(k, i0, i, v, n, y));
        if (d->gamma) y = vec_mul(cg, y, f32v_load(cg, gep_f32(cg, k->gamma, ix_add(cg, k->j0, cg_i64(cg, (int64_t)v * VL))), n));
        if (d->r && !d->c_t) y = vec_add(cg, y, f32v_load(cg, residual_addr(k, i0, i, v), n));
      }
      if (d->c_t) done[i][v] = y;
      else f32v_store(cg, y, tile_addr(cg, k->c, i0, i, k->sz[GS_LDC], k->j0, v), n);
    }
  for (int v = 0; d->c_t && v < nv; v++) store_columns(k, i0, mr, v, v == nv - 1 ? lanes : VL, done, finish);
}

/* One mr x (nv vectors, the last with `lanes` valid) tile at rows i0.. over the K block [k0, k1). */
static void emit_tile(kernel_ctx *k, LLVMValueRef i0, int mr, int nv, int lanes) {
  vitc_cg *cg = k->cg;
  const gemm_desc *d = k->d;
  LLVMTypeRef vt = f32v_type(cg);
  LLVMValueRef acc[MR][NV], arow[MR], bv[NV];
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++) acc[i][v] = cg_var(cg, vt, LLVMConstNull(vt));
  if (!k->one_kblock) { /* later K blocks continue from the partial sums in Y */
    cg_if resume = cg_if_begin(cg, vec_not(cg, k->first));
    for (int i = 0; i < mr; i++)
      for (int v = 0; v < nv; v++)
        vec_store1(cg, f32v_load(cg, tile_addr(cg, k->c, i0, i, k->sz[GS_LDC], k->j0, v), v == nv - 1 ? lanes : VL), acc[i][v]);
    cg_if_end(cg, &resume);
  }

  if (k->bf16) {
    emit_bf16_steps(k, i0, mr, nv, acc);
  } else {
  for (int i = 0; i < mr; i++) arow[i] = gep_f32(cg, k->a, a_row_at(cg, d, k->sz[GS_A_RS], ix_add(cg, i0, cg_i64(cg, i))));
  cg_loop p = cg_loop_begin(cg, k->k0, k->k1, 1);
  LLVMValueRef brow = gep_f32(cg, k->b, ix_mulk(cg, p.iv, k->b_ks));
  for (int v = 0; v < nv; v++)
    bv[v] = f32v_load(cg, gep_f32(cg, brow, cg_i64(cg, (int64_t)v * VL)), k->packed || v < nv - 1 ? VL : lanes);
  if (k->pf_step) vec_prefetch_l2(cg, gep_f32(cg, k->pf_tile, ix_mul(cg, p.iv, k->pf_step)));
  for (int i = 0; i < mr; i++) {
    LLVMValueRef as = f32v_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, arow[i], ix_mulk(cg, p.iv, d->a_cs))));
    for (int v = 0; v < nv; v++) {
      LLVMValueRef args[3] = {as, bv[v], vec_load1(cg, vt, acc[i][v])};
      vec_store1(cg, cg_intrinsic(cg, "llvm.fma", &vt, 1, args, 3), acc[i][v]);
    }
  }
  cg_loop_end(cg, &p);
  }

  /* after the last K block Y takes the epilogue, after the others the partial sums: each value stored as
   * soon as it is finished, so that the finished tile never needs registers beside the epilogue's constants
   * (a GELU's kept 24 accumulators and spilled when the two stores followed a join) */
  if (k->one_kblock || (d->alpha == 1 && !d->d && !has_epilogue(d))) {
    store_tile(k, i0, mr, nv, lanes, acc, k->one_kblock);
    return;
  }
  cg_if fin = cg_if_begin(cg, k->last);
  store_tile(k, i0, mr, nv, lanes, acc, true);
  cg_if_else(cg, &fin);
  store_tile(k, i0, mr, nv, lanes, acc, false);
  cg_if_end(cg, &fin);
}

/* Row blocks: M rows cut into ceil(M/mr) tiles of as equal heights as can be, the first M % tiles one
 * row taller (49 rows: 7 tiles of 7, not 6 of 8 and one of 1, whose lone accumulator row waits on the
 * fma latency for as long as a full tile takes). */
static int64_t row_tiles(int64_t m, int mr) { return ceil_div(m, mr); }

/* The row blocks [ib_lo, ib_hi) of the current panel, nv vectors wide (the last with `lanes`). With a
 * packed B, the tiles also prefetch the B rows one K block ahead (the next K block of this panel, or past
 * the last the next panel's first: panels follow one another), the slice's kc·nr floats cut into equal
 * consecutive shares, one per block of the task (at least nv shares): block t of the task fetches share t,
 * a point every pf_step floats as p runs, so that the fetches from memory go at the pace of the computation.
 * Against the first nv blocks fetching the whole slice (line ib mod NV of each row: a burst of misses that
 * likely filled the miss buffers under those blocks' steps), weights streamed from memory (jit_gemm --chain 24,
 * 1 thread, % of an FMA probe timed alongside) 49x768x3072 85.5 -> 92.6%, 197x768x768 with a residual
 * 88.7 -> 92.3%, 197x768x3072 with GELU 90.0 -> 92.2%; cached weights the same or better. */
static void emit_row_blocks(kernel_ctx *k, LLVMValueRef ib_lo, LLVMValueRef ib_hi, int nv, int lanes) {
  vitc_cg *cg = k->cg;
  LLVMValueRef n_hi = k->sz[GS_TALL];
  for (int tall = 1; tall >= 0; tall--) {
    if (tall && !k->has_tall) continue;
    LLVMValueRef last = tall ? n_hi : k->sz[GS_TILES], lo = ib_lo; /* the short tiles start at max(ib_lo, n_hi) */
    int64_t mr = k->mr_lo + tall;
    if (!tall) lo = vec_select(cg, vec_icmp(cg, LLVMIntUGT, ib_lo, n_hi), ib_lo, n_hi);
    cg_loop ib = cg_loop_begin(cg, lo, ix_min(cg, ib_hi, last), 1);
    if (k->pf_step) { /* tile t's share of the next slice: from (k0 + kc) + t·kc·pf_step, at p = k0 */
      LLVMValueRef t = ix_sub(cg, ib.iv, k->ib_first), kc = k->sz[GS_KC];
      LLVMValueRef share = ix_mul(cg, ix_add(cg, ix_mul(cg, t, kc), ix_mulk(cg, k->k0, -1)), k->pf_step);
      k->pf_tile = gep_f32(cg, k->b, ix_add(cg, ix_mulk(cg, ix_add(cg, k->k0, kc), k->b_ks), share));
    }
    /* a short tile's first row: n_hi tall tiles, then (ib - n_hi) short ones */
    LLVMValueRef i0 = tall ? ix_mulk(cg, ib.iv, mr) : ix_add(cg, ix_mulk(cg, ib.iv, mr), n_hi);
    emit_tile(k, i0, (int)mr, nv, lanes);
    cg_loop_end(cg, &ib);
  }
}

static void row_blocks_of_panel(void *k, int nv, int lanes) {
  kernel_ctx *kc = k;
  emit_row_blocks(kc, kc->ib_lo, kc->ib_hi, nv, lanes);
}

void emit_by_panel_width(vitc_cg *cg, LLVMValueRef jp, LLVMValueRef npan, int64_t n, int nv, int vl,
                         gemm_panel_body body, void *k) {
  int64_t ntail = n % (nv * vl);
  int nv_tail = (int)ceil_div(ntail, vl), lanes_tail = (int)(ntail - (nv_tail - 1) * vl);
  if (!ntail || (LLVMIsAConstantInt(npan) && LLVMConstIntGetSExtValue(npan) == 1)) {
    body(k, ntail ? nv_tail : nv, ntail ? lanes_tail : vl);
    return;
  }
  LLVMValueRef is_last = vec_icmp(cg, LLVMIntEQ, jp, ix_addk(cg, npan, -1));
  cg_if full = cg_if_begin(cg, vec_not(cg, is_last));
  body(k, nv, vl);
  cg_if_else(cg, &full);
  body(k, nv_tail, lanes_tail);
  cg_if_end(cg, &full);
}

/* Packs B (compile-time value) into zero-padded panels [N/nr][K][nr] of floats in the weights blob, or for
 * the bf16 kernel [N/nr][ceil(K/2)][nr] of 32-bit pairs (B(2q, j) low, B(2q+1, j) high; an odd K's last
 * pair has a zero high half). */
static vitc_status prepack_b(vitc_cg *cg, const gemm_desc *d, bool bf16, int64_t nr, int64_t *offset, vitc_error *err) {
  vitc_stage_time since = vitc_stage_clock();
  int64_t npan = ceil_div(d->n, nr), ksteps = bf16 ? ceil_div(d->k, 2) : d->k;
  size_t count = (size_t)(npan * ksteps * nr);
  void *room;
  vitc_status st = cg_reserve_blob(cg, count * sizeof(uint32_t), offset, &room, err);
  uint32_t *packed = room;
  const float *b = d->b_const;
  /* B's rows in order (the model file's pages read once, one after another), each cut into its panels; a
   * float32 row with contiguous columns is copied a panel's width at a time (Swin-T's 118 MB: 45 → ~10 ms) */
  for (int64_t p = 0; !st && p < d->k; p++)
    for (int64_t jp = 0; jp < npan; jp++) {
      int64_t cols = d->n - jp * nr < nr ? d->n - jp * nr : nr;
      const float *src = b + p * d->b_rs + jp * nr * d->b_cs;
      uint32_t *row = &packed[(jp * ksteps + (bf16 ? p / 2 : p)) * nr];
      if (!bf16 && d->b_cs == 1) {
        memcpy(row, src, sizeof *src * (size_t)cols);
        continue;
      }
      for (int64_t jj = 0; jj < cols; jj++) {
        float x = src[jj * d->b_cs];
        if (bf16)
          row[jj] |= (uint32_t)vitc_bf16_bits(x) << (16 * (p % 2));
        else
          memcpy(&row[jj], &x, sizeof x);
      }
    }
  if (cg->times) vitc_stage_add(&cg->times->weights, since);
  return st;
}

static bool b_is_batched(const gemm_desc *d) {
  for (int i = 0; i < d->nbatch; i++)
    if (d->b_bs[i] && d->batch[i] != 1) return true;
  return false;
}

/* Packs B (any strides, any batch) at run time into the node's work space, panels [batch][N/nr][K][nr]
 * zero-padded as prepack_b lays them out: a transposed or strided B then runs on the micro-kernel too,
 * instead of a scalar loop. One task per (batch index, panel). Returns the buffer. */
static LLVMValueRef pack_b(vitc_cg *cg, const gemm_desc *d, int64_t nr) {
  int64_t npan = ceil_div(d->n, nr), panel = d->k * nr;
  LLVMValueRef buf = cg_scratch(cg, sizeof(float) * (size_t)(batch_count(d) * npan * panel));
  LLVMValueRef captured[2] = {d->b, buf};
  cg_task t = cg_task_begin(cg, captured, 2);
  cg_loop task = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef jp = ix_remk(cg, task.iv, npan), off[4];
  batch_offsets(cg, d, ix_divk(cg, task.iv, npan), off);
  LLVMValueRef j0 = ix_mulk(cg, jp, nr), dst = gep_f32(cg, t.vals[1], ix_mulk(cg, task.iv, panel));
  LLVMValueRef src = gep_f32(cg, t.vals[0], ix_add(cg, off[1], ix_mulk(cg, j0, d->b_cs)));
  LLVMValueRef cols = ix_min(cg, cg_i64(cg, nr), ix_add(cg, cg_i64(cg, d->n), ix_mulk(cg, j0, -1)));
  cg_loop jj = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, nr), 1); /* column by column: Bᵀ reads along p */
  LLVMValueRef col = gep_f32(cg, src, ix_mulk(cg, jj.iv, d->b_cs)), inside = vec_icmp(cg, LLVMIntSLT, jj.iv, cols);
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, d->k), 1);
  LLVMValueRef out = gep_f32(cg, dst, ix_add(cg, ix_mulk(cg, p.iv, nr), jj.iv));
  cg_if real = cg_if_begin(cg, inside);
  vec_store1(cg, vec_load1(cg, cg->f32, gep_f32(cg, col, ix_mulk(cg, p.iv, d->b_rs))), out);
  cg_if_else(cg, &real);
  vec_store1(cg, cg_f32(cg, 0), out);
  cg_if_end(cg, &real);
  cg_loop_end(cg, &p);
  cg_loop_end(cg, &jj);
  cg_loop_end(cg, &task);
  cg_task_end(cg, &t, batch_count(d) * npan);
  return buf;
}

/* The bfloat16 nearest the float x (or each lane of a float vector) as the low 16 bits of an i32, as
 * vitc_bf16_bits rounds it. */
LLVMValueRef emit_bf16_bits(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef u = vec_bitcast(cg, x, vec_with_elem(LLVMTypeOf(x), cg->i32)), high = vec_lshr(cg, u, vec_k(cg, u, 16));
  LLVMValueRef even = vec_and(cg, high, vec_k(cg, u, 1)); /* ties go to the even neighbour */
  LLVMValueRef up = vec_iadd(cg, vec_iadd(cg, u, vec_k(cg, u, 0x7fff)), even);
  LLVMValueRef nan = vec_cmp(cg, LLVMRealUNO, x, x);
  return vec_select(cg, nan, vec_or(cg, high, vec_k(cg, u, 0x40)), vec_lshr(cg, up, vec_k(cg, u, 16)));
}

/* 2·VL floats of a contiguous row of A from src + p rounded to VL bf16 pairs at dst + p/2 (a vec_for body;
 * a tail's missing lanes load as zero, which is an odd K's zero high half). */
static void round_pairs(vitc_cg *cg, LLVMValueRef p, int lanes, void *state) {
  LLVMValueRef *src_dst = state;
  int halves[2][VL];
  for (int q = 0; q < VL; q++) halves[0][q] = 2 * q, halves[1][q] = 2 * q + 1;
  LLVMValueRef bits = emit_bf16_bits(cg, vec_load(cg, vec_of(cg, cg->f32, 2 * VL), gep_f32(cg, src_dst[0], p), lanes));
  LLVMValueRef lo = vec_shuffle(cg, bits, NULL, halves[0], VL), hi = vec_shuffle(cg, bits, NULL, halves[1], VL);
  LLVMValueRef pairs = vec_or(cg, lo, vec_shl(cg, hi, vec_k(cg, hi, 16)));
  vec_store(cg, pairs, cg_gep(cg, cg->i32, src_dst[1], ix_divk(cg, p, 2)), (lanes + 1) / 2);
}

void emit_round_pairs(vitc_cg *cg, LLVMValueRef src, LLVMValueRef dst, int64_t len) {
  LLVMValueRef src_dst[2] = {src, dst};
  vec_for(cg, cg_i64(cg, 0), len, 2 * VL, round_pairs, src_dst);
}

/* One row of A from src (float32, d->a_cs apart) rounded to bf16 pairs at dst, laid out as prepack_b pairs
 * B: 2·VL floats at a time when the row is contiguous, or in segments (a_seg) of whole pairs, each
 * contiguous (a channels-last patch: kw·C floats per image line); value by value when strided (transA) or
 * when a pair would straddle two segments (an odd a_seg). */
static void round_row(vitc_cg *cg, const gemm_desc *d, LLVMValueRef src, LLVMValueRef dst) {
  if (d->a_cs == 1 && d->a_seg % 2 == 0) {
    int64_t seg = d->a_seg ? d->a_seg : d->k;
    cg_loop s = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, d->k / seg), 1);
    emit_round_pairs(cg, gep_f32(cg, src, ix_mulk(cg, s.iv, d->a_ss)), cg_gep(cg, cg->i32, dst, ix_mulk(cg, s.iv, seg / 2)), seg);
    cg_loop_end(cg, &s);
    return;
  }
  cg_loop q = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ceil_div(d->k, 2)), 1);
  LLVMValueRef at = cg_gep(cg, cg->i32, dst, q.iv);
  LLVMValueRef p = ix_mulk(cg, q.iv, 2), pair = emit_bf16_bits(cg, cg_load(cg, src, a_col_at(cg, d, p), VITC_F32));
  LLVMValueRef hi_in = vec_icmp(cg, LLVMIntSLT, p, cg_i64(cg, d->k - 1)); /* an odd K's last pair: 0 */
  cg_if hi = cg_if_begin(cg, hi_in);
  LLVMValueRef next = emit_bf16_bits(cg, cg_load(cg, src, a_col_at(cg, d, ix_add(cg, p, cg_i64(cg, 1))), VITC_F32));
  vec_store1(cg, vec_or(cg, pair, vec_shl(cg, next, cg_i32(cg, 16))), at);
  cg_if_else(cg, &hi);
  vec_store1(cg, pair, at);
  cg_if_end(cg, &hi);
  cg_loop_end(cg, &q);
}

/* Whether A's columns are contiguous and its rows not (an NCHW conv's pixels as rows, a transposed A):
 * bf16 then rounds it by columns. */
static bool a_by_columns(const gemm_desc *d) { return d->a_rs == 1 && d->a_cs != 1 && !d->a_group && !d->a_seg; }

typedef struct column_pair {
  LLVMValueRef lo, hi, has_hi, dst;
} column_pair;

/* 16 rows i.. of A's columns 2q and 2q+1 (at lo and hi; has_hi false: an odd K's last pair, whose high half
 * is zero) as the words bf16(A(i, 2q)) | bf16(A(i, 2q+1)) << 16 at dst + i (a vec_for body). */
static void round_column_pair(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  const column_pair *c = state;
  LLVMValueRef lo = emit_bf16_bits(cg, f32v_load(cg, gep_f32(cg, c->lo, i), lanes));
  LLVMValueRef hi = emit_bf16_bits(cg, f32v_load(cg, gep_f32(cg, c->hi, i), lanes));
  hi = vec_select(cg, c->has_hi, vec_shl(cg, hi, vec_k(cg, hi, 16)), vec_k(cg, hi, 0));
  vec_store(cg, vec_or(cg, lo, hi), cg_gep(cg, cg->i32, c->dst, i), lanes);
}

/* A's column pairs rounded as round_a_bf16's rows, laid out [batch][ceil(K/2)][M] (the kernel's a_qs = M): one
 * task per pair of columns, 16 rows a vector, rather than a scalar load and rounding per value along a strided
 * row. */
static LLVMValueRef round_a_columns_bf16(vitc_cg *cg, const gemm_desc *d) {
  int64_t kq = ceil_div(d->k, 2), pairs = batch_count(d) * kq;
  LLVMValueRef buf = cg_scratch(cg, sizeof(uint32_t) * (size_t)(pairs * d->m));
  LLVMValueRef captured[2] = {d->a, buf}, off[4];
  cg_task t = cg_task_begin(cg, captured, 2);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  batch_offsets(cg, d, ix_divk(cg, r.iv, kq), off);
  LLVMValueRef p = ix_mulk(cg, ix_remk(cg, r.iv, kq), 2), a = gep_f32(cg, t.vals[0], off[0]);
  LLVMValueRef has_hi = vec_icmp(cg, LLVMIntSLT, p, cg_i64(cg, d->k - 1)), p1 = ix_min(cg, ix_addk(cg, p, 1), cg_i64(cg, d->k - 1));
  column_pair c = {.lo = gep_f32(cg, a, ix_mulk(cg, p, d->a_cs)), .hi = gep_f32(cg, a, ix_mulk(cg, p1, d->a_cs)),
                   .has_hi = has_hi, .dst = cg_gep(cg, cg->i32, t.vals[1], ix_mulk(cg, r.iv, d->m))};
  vec_for(cg, cg_i64(cg, 0), d->m, VL, round_column_pair, &c);
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, pairs);
  return buf;
}

/* A's rows rounded to bf16 pairs into the node's work space, [batch][M][ceil(K/2)] 32-bit words, one task per
 * row: converting M*K values once costs little next to the M*N*K product. Returns the buffer. */
static LLVMValueRef round_a_bf16(vitc_cg *cg, const gemm_desc *d) {
  if (a_by_columns(d)) return round_a_columns_bf16(cg, d);
  int64_t kq = ceil_div(d->k, 2), rows = batch_count(d) * d->m;
  LLVMValueRef buf = cg_scratch(cg, sizeof(uint32_t) * (size_t)(rows * kq));
  LLVMValueRef captured[2] = {d->a, buf}, off[4];
  cg_task t = cg_task_begin(cg, captured, 2);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  batch_offsets(cg, d, ix_divk(cg, r.iv, d->m), off);
  LLVMValueRef src = gep_f32(cg, t.vals[0], ix_add(cg, off[0], a_row_at(cg, d, cg_i64(cg, d->a_rs), ix_remk(cg, r.iv, d->m))));
  round_row(cg, d, src, cg_gep(cg, cg->i32, t.vals[1], ix_mulk(cg, r.iv, kq)));
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, rows);
  return buf;
}

/* Where the micro-kernel reads B: in place (rows contiguous), packed at compile time (a constant shared by
 * the batch) or packed at run time (pack_b). */
typedef enum b_source { B_IN_PLACE, B_PREPACKED, B_PACKED_AT_RUN } b_source;

/* Whether a node's kernel reads its sizes at run time (GS_*): float32 rows of A one after another (no batch,
 * row groups or K segments) times a prepacked B, the linear layers. */
static bool sizes_at_run_time(const gemm_desc *d, b_source src, bool bf16) {
  return src == B_PREPACKED && !bf16 && !d->nbatch && !d->a_group && !d->a_seg;
}

/* The threads' shares of a float32 GEMM are cut in units of equal work, one row tile by one vector of columns
 * (per batch index GS_TILES x GS_VECS of them), rather than in whole tasks (row chunk x panel) of unequal
 * work: with N not a multiple of the panel width the last panel is narrower, and with whole tasks one thread
 * got it while the other got whole ones (MaxViT-T's 196x256 products: 6 panels, 5 1/3 wide, in 18 tasks split
 * 9 and 9 gave the threads 3 and 2 1/3 panels, 12% over the mean). The units run in the order the tasks did
 * (a block is a task's row chunk x panel, blocks in GS_INNER order, a block's tiles one after another, each
 * tile as many units as its panel has vectors); a thread runs the tiles whose first unit lies in its range,
 * so that every tile is run once, whole, whatever the cut. */

/* Vectors of panel jp (the tile's nv, or what is left for the last). */
static LLVMValueRef panel_vectors(kernel_ctx *k, LLVMValueRef jp) {
  vitc_cg *cg = k->cg;
  LLVMValueRef last = ix_addk(cg, k->sz[GS_NPAN], -1), is_last = vec_icmp(cg, LLVMIntEQ, jp, last);
  return vec_select(cg, is_last, ix_sub(cg, k->sz[GS_VECS], ix_mulk(cg, last, k->t.nv)), cg_i64(cg, k->t.nv));
}

/* Tiles of row chunk mc (GS_BPC, or what is left for the last). */
static LLVMValueRef chunk_tiles(kernel_ctx *k, LLVMValueRef mc) {
  vitc_cg *cg = k->cg;
  LLVMValueRef first = ix_mul(cg, mc, k->sz[GS_BPC]);
  return ix_min(cg, k->sz[GS_BPC], ix_sub(cg, k->sz[GS_TILES], first));
}

/* The block (task index: batch x GS_PER_BATCH + outer x GS_INNER + inner) holding unit u. */
static LLVMValueRef block_of_unit(kernel_ctx *k, LLVMValueRef u, LLVMValueRef larger) {
  vitc_cg *cg = k->cg;
  LLVMValueRef tiles = k->sz[GS_TILES], vecs = k->sz[GS_VECS], bpc = k->sz[GS_BPC];
  LLVMValueRef per_batch = ix_mul(cg, tiles, vecs), bidx = ix_div(cg, u, per_batch), r = ix_rem(cg, u, per_batch);
  /* row chunks outer (A the larger): a chunk holds its tiles x every vector, panel by panel */
  LLVMValueRef chunk_units = ix_mul(cg, bpc, vecs), mc_a = ix_div(cg, r, chunk_units);
  LLVMValueRef in_chunk = ix_sub(cg, r, ix_mul(cg, mc_a, chunk_units));
  LLVMValueRef jp_a = ix_div(cg, in_chunk, ix_mulk(cg, chunk_tiles(k, mc_a), k->t.nv));
  /* panels outer: a panel holds every tile x its vectors, chunk by chunk */
  LLVMValueRef panel_units = ix_mulk(cg, tiles, k->t.nv), jp_b = ix_div(cg, r, panel_units);
  LLVMValueRef in_panel = ix_sub(cg, r, ix_mul(cg, jp_b, panel_units));
  LLVMValueRef mc_b = ix_div(cg, in_panel, ix_mul(cg, bpc, panel_vectors(k, jp_b)));
  LLVMValueRef outer = vec_select(cg, larger, mc_a, jp_b), inner = vec_select(cg, larger, jp_a, mc_b);
  return ix_add(cg, ix_mul(cg, bidx, k->sz[GS_PER_BATCH]), ix_add(cg, ix_mul(cg, outer, k->sz[GS_INNER]), inner));
}

/* The first unit of block (bidx, mc, jp). */
static LLVMValueRef block_start(kernel_ctx *k, LLVMValueRef bidx, LLVMValueRef mc, LLVMValueRef jp, LLVMValueRef larger) {
  vitc_cg *cg = k->cg;
  LLVMValueRef tiles = k->sz[GS_TILES], vecs = k->sz[GS_VECS], chunk0 = ix_mul(cg, mc, k->sz[GS_BPC]);
  LLVMValueRef chunks_outer = ix_add(cg, ix_mul(cg, chunk0, vecs), ix_mulk(cg, ix_mul(cg, jp, chunk_tiles(k, mc)), k->t.nv));
  LLVMValueRef panels_outer = ix_add(cg, ix_mulk(cg, ix_mul(cg, jp, tiles), k->t.nv), ix_mul(cg, chunk0, panel_vectors(k, jp)));
  return ix_add(cg, ix_mul(cg, bidx, ix_mul(cg, tiles, vecs)), vec_select(cg, larger, chunks_outer, panels_outer));
}

static vitc_status emit_sgemm(vitc_cg *cg, const gemm_desc *d, b_source src, bool bf16, vitc_error *err) {
  int64_t blob_off = 0;
  bool packed = src != B_IN_PLACE, at_run = sizes_at_run_time(d, src, bf16);
  tile_shape ts = tile_of(cg);
  int64_t npan = ceil_div(d->n, ts.nr), mblocks = row_tiles(d->m, ts.mr);
  int64_t nmc = ceil_div(mblocks, MC_BLOCKS), bpc = ceil_div(mblocks, nmc);
  int64_t ksteps = bf16 ? ceil_div(d->k, 2) : d->k; /* the K loop's steps: pairs in bf16 */
  /* K blocks within each of A's segments (bf16 reads A rounded into dense rows: one segment) */
  int64_t seg = d->a_seg && !bf16 ? d->a_seg : ksteps, nseg = seg ? ksteps / seg : 1;
  /* Equal K blocks of at most KC: each block's partial sums go through Y (the tile stores them and loads them
   * back for the next block, 2-3% of a K block of 256 on ViT-B's K = 768 and 3072), while a block's B slice
   * (KC x nr floats) and the A rows of a row chunk (MC_BLOCKS x mr x KC) stay in the 1 MB L2 at KC = 1024
   * (8 x 48 tiles: 192 + 384 KB). ViT-B/16, 1 thread, CPU time: 197x768x768 249 -> 257, 197x768x3072
   * 243 -> 251 GFLOP/s against KC 256. With AVX2's 6 x 16 tiles they take 64 + 288 KB, inside Zen 3's 512 KB
   * L2 as well (197x3072x768 and 197x768x3072 at KC 256, 384, 512 and 1024 within the noise, 91-95%). */
  int64_t per_seg = seg > KC && !d->c_t ? ceil_div(seg, KC) : 1, nkb = nseg * per_seg, kc = ceil_div(seg, per_seg);
  /* Within a batch index, consecutive tasks (one thread's) share the larger operand: B's panel (row chunks
   * innermost) when B is the larger, as the weights of few rows; else A's row chunk (panels innermost), so
   * that many rows over a small weight read A from memory once rather than once per panel. */
  bool a_larger = d->m > d->n;
  /* Tiles of mr_lo + 1 rows, then of mr_lo. Read at run time, M of 7 tiles or more (49 rows and up) is cut
   * into tiles of 8 and 7 rows, as it is otherwise too (3136: 392 of 8; 196: 21 of 8, 4 of 7; 49: 7 of 7),
   * but the code has both heights whatever M, so that it is the same for every such M. */
  bool common_tiling = at_run && mblocks >= ts.mr - 1;
  int64_t mr_lo = common_tiling ? ts.mr - 1 : d->m / mblocks, n_hi = d->m - mr_lo * mblocks;
  int64_t sizes[GS_COUNT] = {[GS_K] = ksteps, [GS_A_RS] = d->a_rs, [GS_LDC] = d->ldc, [GS_D_RS] = d->d_rs,
                             [GS_NPAN] = npan, [GS_TILES] = mblocks, [GS_TALL] = n_hi, [GS_BPC] = bpc,
                             [GS_INNER] = a_larger ? npan : nmc, [GS_A_LARGER] = a_larger, [GS_KBLOCKS] = nkb,
                             [GS_PER_BATCH] = npan * nmc, [GS_KC] = kc, [GS_VECS] = ceil_div(d->n, VL)};
  LLVMValueRef null = LLVMConstNull(cg->ptr), table = null, bptr = d->b;
  /* the table before the packed B: both then lie at the same offsets among every node's constants */
  vitc_status st = at_run ? cg_add_sizes(cg, sizes, GS_COUNT, &table, NULL, err) : VITC_OK;
  if (!st && src == B_PREPACKED) {
    st = prepack_b(cg, d, bf16, ts.nr, &blob_off, err);
    bptr = cg->weights;
  }
  if (st) return st;
  if (src == B_PACKED_AT_RUN) bptr = pack_b(cg, d, ts.nr);
  LLVMValueRef units = at_run ? ix_mul(cg, cg_size(cg, table, GS_TILES), cg_size(cg, table, GS_VECS))
                              : cg_i64(cg, mblocks * sizes[GS_VECS]);

  LLVMValueRef captured[7] = {bf16 ? round_a_bf16(cg, d) : d->a, bptr, d->c, d->d ? d->d : null,
                              d->gamma ? d->gamma : null, d->r ? d->r : null, table};
  cg_task t = cg_task_begin(cg, captured, 7);
  bool by_columns = a_by_columns(d);
  kernel_ctx k = {.cg = cg, .d = d, .t = ts, .packed = packed, .bf16 = bf16, .a_ks = by_columns ? 1 : ksteps,
                  .a_qs = by_columns ? d->m : 1, .mr_lo = mr_lo,
                  .has_tall = common_tiling || n_hi > 0, .one_kblock = !at_run && nkb == 1};
  for (int i = 0; i < GS_COUNT; i++) k.sz[i] = at_run ? cg_size(cg, t.vals[6], i) : cg_i64(cg, sizes[i]);
  LLVMValueRef larger = vec_icmp(cg, LLVMIntNE, k.sz[GS_A_LARGER], cg_i64(cg, 0));
  LLVMValueRef first_block = block_of_unit(&k, t.begin, larger);
  LLVMValueRef end_block = ix_addk(cg, block_of_unit(&k, ix_addk(cg, t.end, -1), larger), 1);
  cg_loop task = cg_loop_begin(cg, first_block, end_block, 1);
  LLVMValueRef per_batch = k.sz[GS_PER_BATCH], inner = k.sz[GS_INNER];
  LLVMValueRef in_b = ix_rem(cg, task.iv, per_batch), lo = ix_rem(cg, in_b, inner), hi = ix_div(cg, in_b, inner);
  LLVMValueRef mc = vec_select(cg, larger, hi, lo), jp = vec_select(cg, larger, lo, hi);
  LLVMValueRef off[4], bidx = ix_div(cg, task.iv, per_batch);
  batch_offsets(cg, d, bidx, off);

  k.a = bf16 ? cg_gep(cg, cg->i32, t.vals[0], ix_mulk(cg, bidx, d->m * ksteps)) : gep_f32(cg, t.vals[0], off[0]);
  LLVMValueRef a_base = k.a;
  k.c = gep_f32(cg, t.vals[2], off[2]);
  k.dd = gep_f32(cg, t.vals[3], off[3]);
  k.gamma = t.vals[4];
  k.r = gep_f32(cg, t.vals[5], off[2]);
  k.j0 = ix_mulk(cg, jp, ts.nr);
  if (src == B_PREPACKED) {
    LLVMValueRef blob = cg_gep(cg, cg->i8, t.vals[1], cg_i64(cg, blob_off));
    k.b = gep_f32(cg, blob, ix_mul(cg, jp, ix_mulk(cg, k.sz[GS_K], ts.nr)));
    k.b_ks = ts.nr;
  } else if (src == B_PACKED_AT_RUN) {
    k.b = gep_f32(cg, t.vals[1], ix_mulk(cg, ix_add(cg, ix_mulk(cg, bidx, npan), jp), d->k * ts.nr));
    k.b_ks = ts.nr;
  } else {
    k.b = gep_f32(cg, t.vals[1], ix_add(cg, off[1], d->n > 1 ? k.j0 : cg_i64(cg, 0)));
    k.b_ks = d->b_rs;
  }
  if (packed) { /* the next slice (kc·nr floats) spread over the task's tiles, at least nv of them */
    LLVMValueRef bpc = k.sz[GS_BPC], nv = cg_i64(cg, ts.nv);
    LLVMValueRef spread = vec_select(cg, vec_icmp(cg, LLVMIntUGT, bpc, nv), bpc, nv);
    k.pf_step = ix_div(cg, ix_addk(cg, ix_add(cg, spread, cg_i64(cg, k.b_ks)), -1), spread);
  }
  /* the block's tiles whose first unit lies in [begin, end): from ceil((begin - start) / w), at least 0 */
  LLVMValueRef start = block_start(&k, bidx, mc, jp, larger), w = panel_vectors(&k, jp);
  LLVMValueRef before = ix_sub(cg, t.begin, start), wm1 = ix_addk(cg, w, -1);
  LLVMValueRef skip = vec_select(cg, vec_icmp(cg, LLVMIntSGT, before, cg_i64(cg, 0)), ix_div(cg, ix_add(cg, before, wm1), w),
                                 cg_i64(cg, 0));
  LLVMValueRef upto = ix_min(cg, chunk_tiles(&k, mc), ix_div(cg, ix_add(cg, ix_sub(cg, t.end, start), wm1), w));
  LLVMValueRef chunk0 = ix_mul(cg, mc, k.sz[GS_BPC]), ib_lo = ix_add(cg, chunk0, skip), ib_hi = ix_add(cg, chunk0, upto);

  cg_loop kb = cg_loop_begin(cg, cg_i64(cg, 0), k.sz[GS_KBLOCKS], 1);
  if (nseg > 1) { /* segment s's K block: A from s*a_ss, so that the tiles' p*a_cs lands in it */
    LLVMValueRef s = ix_divk(cg, kb.iv, per_seg), s0 = ix_mulk(cg, s, seg);
    k.k0 = ix_add(cg, s0, ix_mulk(cg, ix_remk(cg, kb.iv, per_seg), kc));
    k.k1 = ix_min(cg, ix_addk(cg, k.k0, kc), ix_addk(cg, s0, seg));
    k.a = gep_f32(cg, a_base, ix_mulk(cg, s, d->a_ss - seg * d->a_cs));
  } else {
    k.k0 = ix_mul(cg, kb.iv, k.sz[GS_KC]);
    k.k1 = ix_min(cg, ix_add(cg, k.k0, k.sz[GS_KC]), k.sz[GS_K]);
  }
  k.first = vec_icmp(cg, LLVMIntEQ, kb.iv, cg_i64(cg, 0));
  k.last = vec_icmp(cg, LLVMIntEQ, kb.iv, ix_addk(cg, k.sz[GS_KBLOCKS], -1));
  k.ib_lo = ib_lo, k.ib_hi = ib_hi, k.ib_first = chunk0;
  emit_by_panel_width(cg, jp, k.sz[GS_NPAN], d->n, ts.nv, VL, row_blocks_of_panel, &k);
  cg_loop_end(cg, &kb);
  cg_loop_end(cg, &task);
  cg_task_end_n(cg, &t, ix_mulk(cg, units, batch_count(d)));
  return VITC_OK;
}

/* ---------------------------------------------------------------- every dtype */

/* One output row per task index: Y(i, j) = alpha * sum_p A(i,p) B(p,j) + beta * D(i,j), summed in double
 * (as the evaluator does) and converted once on store. */
static void emit_scalar_gemm(vitc_cg *cg, const gemm_desc *d) {
  vitc_dtype t = d->dtype;
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[4] = {d->a, d->b, d->c, d->d ? d->d : null};
  cg_task task = cg_task_begin(cg, captured, 4);
  cg_loop row = cg_loop_begin(cg, task.begin, task.end, 1);
  LLVMValueRef i = ix_rem(cg, row.iv, cg_i64(cg, d->m));
  LLVMValueRef off[4];
  batch_offsets(cg, d, ix_div(cg, row.iv, cg_i64(cg, d->m)), off);
  LLVMValueRef a_row = ix_add(cg, off[0], a_row_at(cg, d, cg_i64(cg, d->a_rs), i));
  LLVMValueRef c_row = ix_add(cg, off[2], ix_mulk(cg, i, d->ldc));
  LLVMValueRef d_row = ix_add(cg, off[3], ix_mulk(cg, i, d->d_rs));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, d->n), 1);
  LLVMValueRef sum = cg_var(cg, cg->f64, LLVMConstReal(cg->f64, 0));
  LLVMValueRef b_col = ix_add(cg, off[1], ix_mulk(cg, j.iv, d->b_cs));
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, d->k), 1);
  LLVMValueRef x = cg_convert(cg, cg_load(cg, task.vals[0], ix_add(cg, a_row, a_col_at(cg, d, p.iv)), t), t, VITC_F64);
  LLVMValueRef y = cg_convert(cg, cg_load(cg, task.vals[1], ix_add(cg, b_col, ix_mulk(cg, p.iv, d->b_rs)), t), t, VITC_F64);
  LLVMValueRef s = vec_load1(cg, cg->f64, sum);
  vec_store1(cg, vec_add(cg, s, vec_mul(cg, x, y)), sum);
  cg_loop_end(cg, &p);
  LLVMValueRef r = vec_load1(cg, cg->f64, sum);
  if (d->alpha != 1) r = vec_mul(cg, r, LLVMConstReal(cg->f64, d->alpha));
  if (d->d) {
    LLVMValueRef dv = cg_load(cg, task.vals[3], ix_add(cg, d_row, ix_mulk(cg, j.iv, d->d_cs)), t);
    dv = cg_convert(cg, dv, t, VITC_F64);
    if (d->beta != 1) dv = vec_mul(cg, dv, LLVMConstReal(cg->f64, d->beta));
    r = vec_add(cg, r, dv);
  }
  cg_store(cg, task.vals[2], ix_add(cg, c_row, j.iv), t, cg_convert(cg, r, VITC_F64, t));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &row);
  cg_task_end(cg, &task, batch_count(d) * d->m);
}

vitc_status emit_gemm(vitc_cg *cg, const gemm_desc *d, vitc_error *err) {
  if (d->m == 0 || d->n == 0 || batch_count(d) == 0) return VITC_OK;
  if (d->c_t && (d->dtype != VITC_F32 || d->r_rows || d->a_seg))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "a GEMM storing Y transposed needs float32, no R rows or K segments");
  if (d->dtype == VITC_F32) {
    /* a bf16 product's weight is a constant matrix, so it always takes the prepacked path */
    if (d->b_const && !b_is_batched(d))
      return emit_sgemm(cg, d, B_PREPACKED, vitc_bf16_product(cg->g, cg->node), err);
    if (d->b_cs == 1 || d->n == 1) return emit_sgemm(cg, d, B_IN_PLACE, false, err);
    return emit_sgemm(cg, d, B_PACKED_AT_RUN, false, err);
  }
  if (has_epilogue(d)) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "a GEMM epilogue needs float32");
  emit_scalar_gemm(cg, d);
  return VITC_OK;
}

/* ---------------------------------------------------------------- MatMul and Gemm */

/* numpy matmul: a is [batch.., m, k] (or [k]), b [batch.., k, n] (or [k]), batch dims broadcast. */
vitc_status emit_MatMul(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *a = cg_in_value(cg, 0), *b = cg_in_value(cg, 1);
  gemm_desc d = {.dtype = a->dtype, .alpha = 1, .a = cg_in(cg, 0), .b = cg_in(cg, 1), .c = cg_out(cg, 0),
                 .b_const = b->data};
  d.k = a->dims[a->rank - 1];
  d.m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  d.n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  d.nbatch = ra > rb ? ra : rb;
  const vitc_value *ops[2] = {a, b};
  int own_rank[2] = {ra, rb};
  int64_t *bs[2] = {d.a_bs, d.b_bs};
  for (int i = 0; i < d.nbatch; i++) {
    int ia = i - (d.nbatch - ra), ib = i - (d.nbatch - rb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    d.batch[i] = da == 1 ? db : da;
  }
  for (int x = 0; x < 2; x++) { /* an operand's stride along a batch dim it lacks or broadcasts is 0 */
    const vitc_value *v = ops[x];
    int64_t s = v->rank >= 2 ? v->dims[v->rank - 1] * v->dims[v->rank - 2] : v->dims[0];
    for (int i = d.nbatch - 1; i >= 0; i--) {
      int iv = i - (d.nbatch - own_rank[x]);
      bs[x][i] = iv < 0 || (v->dims[iv] == 1 && d.batch[i] != 1) ? 0 : s;
      if (iv >= 0) s *= v->dims[iv];
    }
  }
  int64_t dense = d.m * d.n;
  for (int i = d.nbatch - 1; i >= 0; i--) {
    d.c_bs[i] = dense;
    dense *= d.batch[i];
  }
  d.a_rs = d.k;
  d.a_cs = 1;
  d.b_rs = b->rank == 1 ? 1 : d.n;
  d.b_cs = 1;
  d.ldc = d.n;
  /* [batch.., m, k] x [k, n] with A dense over the batch is one GEMM of batch*m rows (linear layers) */
  bool shared_b = !b_is_batched(&d), dense_a = true;
  int64_t a_dense = d.m * d.k;
  for (int i = d.nbatch - 1; i >= 0; i--) {
    dense_a &= d.a_bs[i] == a_dense || d.batch[i] == 1;
    a_dense *= d.batch[i];
  }
  if (shared_b && dense_a) {
    d.m *= batch_count(&d);
    d.nbatch = 0;
  }
  return emit_gemm(cg, &d, err);
}

/* Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (likewise B'), C broadcast to [m, n]. */
vitc_status emit_Gemm(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *a = cg_in_value(cg, 0), *b = cg_in_value(cg, 1), *c = cg_in_value(cg, 2);
  bool ta = vitc_attr_int(n, "transA", 0) != 0, tb = vitc_attr_int(n, "transB", 0) != 0;
  gemm_desc d = {.dtype = a->dtype, .a = cg_in(cg, 0), .b = cg_in(cg, 1), .c = cg_out(cg, 0), .b_const = b->data};
  d.alpha = vitc_attr_float(n, "alpha", 1.0);
  d.beta = vitc_attr_float(n, "beta", 1.0);
  d.m = a->dims[ta ? 1 : 0];
  d.k = a->dims[ta ? 0 : 1];
  d.n = b->dims[tb ? 0 : 1];
  d.a_rs = ta ? 1 : d.k;
  d.a_cs = ta ? d.m : 1;
  d.b_rs = tb ? 1 : d.n;
  d.b_cs = tb ? d.k : 1;
  d.ldc = d.n;
  if (c && d.beta != 0) {
    d.d = cg_in(cg, 2);
    int64_t rows = c->rank == 2 ? c->dims[0] : 1, cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    d.d_rs = rows == 1 ? 0 : cols;
    d.d_cs = cols == 1 ? 0 : 1;
  }
  return emit_gemm(cg, &d, err);
}

gemm_act emit_gemm_act_of(const vitc_node *n) {
  static const char *const acts[] = {[GEMM_ACT_NONE] = "none", [GEMM_ACT_RELU] = "relu",
                                     [GEMM_ACT_GELU_ERF] = "gelu_erf", [GEMM_ACT_GELU_TANH] = "gelu_tanh",
                                     [GEMM_ACT_SILU] = "silu"};
  const char *act = vitc_attr_str(n, "activation", "none");
  for (int i = 0; i < (int)(sizeof acts / sizeof *acts); i++)
    if (!strcmp(act, acts[i])) return (gemm_act)i;
  return GEMM_ACT_NONE;
}

/* Rows of input 0 times the constant weight B [K, N] of input 1, plus the bias of input 2 (optional) as a
 * row-broadcast D: what FusedGemm and PatchConvNHWC share; the caller sets M and how A's rows are read. */
static gemm_desc weight_gemm(vitc_cg *cg, const vitc_node *n) {
  const vitc_value *b = cg_in_value(cg, 1);
  gemm_desc d = {.dtype = VITC_F32, .alpha = 1, .beta = 1, .a = cg_in(cg, 0), .b = cg_in(cg, 1), .c = cg_out(cg, 0),
                 .b_const = b->data};
  d.k = b->dims[0];
  d.n = b->dims[1];
  d.a_cs = 1;
  d.b_rs = d.n;
  d.b_cs = 1;
  d.ldc = d.n;
  if (n->nin > 2 && cg_in(cg, 2)) {
    d.d = cg_in(cg, 2);
    d.d_cs = 1;
  }
  return d;
}

/* vitc.FusedGemm (ir/ops/fused_gemm.c): A [.., M, K] x constant B [K, N] as one GEMM over every row of A,
 * the bias as a row-broadcast D, the rest in the epilogue. */
vitc_status emit_FusedGemm(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  gemm_desc d = weight_gemm(cg, n);
  d.m = d.k ? vitc_numel(cg_in_value(cg, 0)) / d.k : vitc_numel(cg_out_value(cg, 0)) / (d.n ? d.n : 1);
  d.a_rs = d.k;
  d.r = n->nin > 3 ? cg_in(cg, 3) : NULL;
  int64_t r_size = d.r ? vitc_numel(cg_in_value(cg, 3)) : 0;
  if (r_size && r_size < vitc_numel(cg_out_value(cg, 0))) d.r_rows = r_size / d.n; /* R repeats down Y */
  d.gamma = n->nin > 4 ? cg_in(cg, 4) : NULL;
  d.act = emit_gemm_act_of(n);
  return emit_gemm(cg, &d, err);
}

/* The patches of X [N, H, W, C] (window w) for output rows r0 .. r0+count, one dense row of kh·kw·C
 * floats each: a tap's C floats copied from X, or zeros where the tap lies in the padding. One task per
 * row. */
static void emit_patch_rows(vitc_cg *cg, const vitc_window *w, int64_t c, LLVMValueRef col, LLVMValueRef r0,
                            int64_t count) {
  int64_t ih = w->in[0], iw = w->in[1], oh = w->out[0], ow = w->out[1], kw = w->kernel[1];
  LLVMValueRef captured[3] = {cg_in(cg, 0), col, r0};
  cg_task t = cg_task_begin(cg, captured, 3);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef row = ix_add(cg, t.vals[2], r.iv), ox = ix_remk(cg, row, ow), img_oy = ix_divk(cg, row, ow);
  LLVMValueRef oy = ix_remk(cg, img_oy, oh), img = ix_divk(cg, img_oy, oh);
  LLVMValueRef dst = gep_f32(cg, t.vals[1], ix_mulk(cg, r.iv, w->taps * c)), bytes = cg_i64(cg, c * 4);
  cg_loop tap = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->taps), 1);
  LLVMValueRef ky = ix_divk(cg, tap.iv, kw), kx = ix_remk(cg, tap.iv, kw);
  LLVMValueRef iy = ix_add(cg, ix_addk(cg, ix_mulk(cg, oy, w->stride[0]), -w->pad_begin[0]), ix_mulk(cg, ky, w->dilation[0]));
  LLVMValueRef ix = ix_add(cg, ix_addk(cg, ix_mulk(cg, ox, w->stride[1]), -w->pad_begin[1]), ix_mulk(cg, kx, w->dilation[1]));
  LLVMValueRef inside = vec_and(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih)), vec_icmp(cg, LLVMIntULT, ix, cg_i64(cg, iw)));
  LLVMValueRef to = gep_f32(cg, dst, ix_mulk(cg, tap.iv, c));
  cg_if copy = cg_if_begin(cg, inside);
  LLVMValueRef pixel = ix_add(cg, ix_mulk(cg, ix_add(cg, ix_mulk(cg, img, ih), iy), iw), ix);
  cg_memcpy(cg, to, gep_f32(cg, t.vals[0], ix_mulk(cg, pixel, c)), bytes);
  cg_if_else(cg, &copy);
  cg_memzero(cg, to, bytes);
  cg_if_end(cg, &copy);
  cg_loop_end(cg, &tap);
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, count);
}

/* X [N, H, W, C] with its padding (window w) written out: [N, pt + H + pb, pl + W + pr, C] in the node's
 * work space, zeros around the image; one task per padded line. Returns the copy. */
static LLVMValueRef emit_padded_image(vitc_cg *cg, const vitc_window *w, int64_t n, int64_t c) {
  int64_t ih = w->in[0], iw = w->in[1], ph = ih + w->pad_begin[0] + w->pad_end[0];
  int64_t line = (w->pad_begin[1] + iw + w->pad_end[1]) * c;
  LLVMValueRef padded = cg_scratch(cg, sizeof(float) * (size_t)(n * ph * line + 1));
  LLVMValueRef captured[2] = {cg_in(cg, 0), padded};
  cg_task t = cg_task_begin(cg, captured, 2);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef dst = gep_f32(cg, t.vals[1], ix_mulk(cg, r.iv, line));
  LLVMValueRef img = ix_divk(cg, r.iv, ph), iy = ix_addk(cg, ix_remk(cg, r.iv, ph), -w->pad_begin[0]);
  LLVMValueRef inside = vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih));
  cg_if copy = cg_if_begin(cg, inside);
  LLVMValueRef src = gep_f32(cg, t.vals[0], ix_mulk(cg, ix_add(cg, ix_mulk(cg, img, ih), iy), iw * c));
  cg_memzero(cg, dst, cg_i64(cg, w->pad_begin[1] * c * 4));
  cg_memcpy(cg, gep_f32(cg, dst, cg_i64(cg, w->pad_begin[1] * c)), src, cg_i64(cg, iw * c * 4));
  cg_memzero(cg, gep_f32(cg, dst, cg_i64(cg, (w->pad_begin[1] + iw) * c)), cg_i64(cg, w->pad_end[1] * c * 4));
  cg_if_else(cg, &copy);
  cg_memzero(cg, dst, cg_i64(cg, line * 4));
  cg_if_end(cg, &copy);
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, n * ph);
  return padded;
}

/* vitc.PatchConvNHWC (ir/ops/patch_conv_nhwc.c): Y [N·Ho·Wo, M] = act(patches · W + bias). With dw = 1 the
 * patches are read in place from X [N, H, W, C], per image: output row i = oy · Wo + ox is a group of Wo
 * rows per oy, the groups sh image lines apart, the rows sw pixels apart; its K = (ky, kx, c) is kh
 * segments of kw·C floats (one run of an image line each), dh lines apart. With pads they are read so
 * from a padded copy of X (emit_padded_image): one pass over X, where gathering the patches wrote
 * kh·kw/(sh·sw) times its size (MaxViT's 3x3 stem conv on 112x112x64, 1 thread: 150 → 218 GFLOP/s). A column
 * dilation gathers the patches into the node's work space (emit_patch_rows), COL_BUDGET floats of rows
 * at a time, and the GEMM reads them there. */
vitc_status emit_PatchConvNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[3] = {cg_in_value(cg, 0), cg_in_value(cg, 1), cg_in_value(cg, 2)};
  vitc_window w;
  vitc_status st = vitc_patch_conv_window(n, in, &w, err);
  if (st != VITC_OK) return st;
  int64_t c = in[0]->dims[3], rows = in[0]->dims[0] * w.out_plane;
  gemm_desc d = weight_gemm(cg, n);
  d.act = emit_gemm_act_of(n);
  if (w.dilation[1] == 1) {
    if (w.pad_begin[0] || w.pad_begin[1] || w.pad_end[0] || w.pad_end[1]) {
      d.a = emit_padded_image(cg, &w, in[0]->dims[0], c);
      for (int k = 0; k < 2; k++) {
        w.in[k] += w.pad_begin[k] + w.pad_end[k];
        w.pad_begin[k] = w.pad_end[k] = 0;
      }
      w.in_plane = w.in[0] * w.in[1];
    }
    int64_t iw = w.in[1];
    d.m = w.out_plane;
    d.nbatch = 1;
    d.batch[0] = in[0]->dims[0];
    d.a_bs[0] = w.in_plane * c;
    d.c_bs[0] = w.out_plane * d.n;
    d.a_rs = w.stride[1] * c;
    d.a_group = w.out[1];
    d.a_gs = w.stride[0] * iw * c;
    d.a_seg = w.kernel[1] * c;
    d.a_ss = w.dilation[0] * iw * c;
    return emit_gemm(cg, &d, err);
  }
  int64_t slab = d.k ? COL_BUDGET / d.k : rows;
  slab = slab < 1 ? 1 : slab > rows ? rows : slab;
  LLVMValueRef col = cg_scratch(cg, sizeof(float) * (size_t)(slab * d.k + 1));
  d.a = col;
  d.a_rs = d.k;
  for (int part = 0; part < 2 && !st; part++) { /* whole slabs, then the shorter last one */
    int64_t count = part ? rows % slab : slab, nslabs = part ? 1 : rows / slab, first = part ? rows / slab * slab : 0;
    if (!count || !nslabs) continue;
    cg_loop s = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, nslabs), 1);
    LLVMValueRef r0 = ix_addk(cg, ix_mulk(cg, s.iv, slab), first);
    emit_patch_rows(cg, &w, c, col, r0, count);
    d.m = count;
    d.c = gep_f32(cg, cg_out(cg, 0), ix_mulk(cg, r0, d.n));
    st = emit_gemm(cg, &d, err);
    cg_loop_end(cg, &s);
  }
  return st;
}
