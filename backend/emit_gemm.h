/* emit_gemm.h — the GEMM generator MatMul, Gemm and Conv share. Internal to backend/.
 *
 * One batched GEMM, every extent known at compile time, operands addressed by element strides:
 *
 *   for each batch index b (row-major over batch[0..nbatch)):
 *     Y_b(i, j) = alpha * sum_p A_b(i, p) * B_b(p, j) + beta * D_b(i, j)      i < m, j < n, p < k
 *
 *   A_b(i, p) = a[a_off(b) + i*a_rs + p*a_cs]      (likewise B, D; Y_b(i, j) = c[c_off(b) + i*ldc + j])
 *   a_off(b)  = sum_d b_d * a_bs[d]                 (a stride of 0 broadcasts A along that batch dim)
 *
 * A's rows may come in groups and its K in segments (a_group, a_seg > 0; 0 for none), which reads the
 * patches of a channels-last image in place, each patch a row of segments that are runs of the image:
 *
 *   A_b(i, p) = a[a_off(b) + (i / a_group)*a_gs + (i % a_group)*a_rs + (p / a_seg)*a_ss + (p % a_seg)*a_cs]
 *
 * (k a multiple of a_seg; the float32 kernel's K blocks then never straddle a segment).
 *
 * float32 runs on a register-blocked micro-kernel over <16 x float> tiles, the work of every batch index
 * in one parallel kernel (tasks over batch × panels of B × row chunks); B is read in place when its rows
 * are contiguous, prepacked into panels at compile time when its value is known and shared by the batch
 * (b_const), and otherwise (a transposed or strided B, batched or not) packed into panels at run time in
 * the node's work space. Other dtypes run a scalar loop nest summing in double. A node for which
 * vitc_bf16_product holds (BF16 precision, a constant weight) runs the prepacked path on bfloat16 pairs
 * (vdpbf16ps) with float32 sums; its epilogue is the same.
 *
 * An epilogue (float32 micro-kernel only: vitc.FusedGemm) finishes each tile in registers before the
 * store, after alpha and D:
 *
 *   Y_b(i, j) = R_b(i, j) + gamma(j) * act(alpha * (A_b B_b)(i, j) + beta * D_b(i, j))
 *
 * R has Y's layout (ldc, c_bs), or with r_rows its first r_rows rows repeat down Y (row i reads R's row
 * i mod r_rows: a [1, T, C] position embedding on a batch); gamma n values; either may be absent (R 0,
 * gamma 1). A bias is D with d_rs = 0, d_cs = 1.
 *
 * With c_t (float32 micro-kernel only) Y and R are stored transposed, Y_b(i, j) = c[c_off(b) + j*ldc + i]:
 * an NCHW 1x1 conv run with its pixels as rows and its output channels as columns, so that the vectors run
 * along the channels (a multiple of 16) rather than along a 7x7 or 14x14 map, and its weight is the
 * constant B. The tile is transposed in registers before the store; K is then one block (no partial sums
 * go through Y), and r_rows is 0. */
#ifndef VITC_EMIT_GEMM_H
#define VITC_EMIT_GEMM_H

#include "cg.h"
#include "vec.h"

typedef enum gemm_act { GEMM_ACT_NONE, GEMM_ACT_RELU, GEMM_ACT_GELU_ERF, GEMM_ACT_GELU_TANH, GEMM_ACT_SILU } gemm_act;

typedef struct gemm_desc {
  vitc_dtype dtype;
  int64_t m, n, k;
  int nbatch;
  int64_t batch[VITC_MAX_RANK];
  int64_t a_bs[VITC_MAX_RANK], b_bs[VITC_MAX_RANK], c_bs[VITC_MAX_RANK], d_bs[VITC_MAX_RANK];
  LLVMValueRef a, b, c, d; /* pointers in the node function; d NULL when there is no addend */
  int64_t a_rs, a_cs, b_rs, b_cs, ldc, d_rs, d_cs;
  int64_t a_group, a_gs, a_seg, a_ss; /* A's row groups and K segments (0: none) */
  const void *b_const; /* B's value when known at compile time (the same data b points to), else NULL */
  double alpha, beta;
  gemm_act act;
  LLVMValueRef r, gamma; /* NULL when absent */
  int64_t r_rows;        /* R's rows when R repeats down Y (no batch dims), 0 when R has Y's rows */
  bool c_t;              /* Y and R stored transposed */
} gemm_desc;

/* The epilogue activation named by a fused op's "activation" attribute (FusedGemm, FusedConv,
 * DepthwiseConvNHWC; the shape rules reject other names, absent is none). */
gemm_act emit_gemm_act_of(const vitc_node *n);
/* act applied to the float vector x (the float32 and the int8 GEMM's epilogues). */
LLVMValueRef emit_gemm_activate(vitc_cg *cg, gemm_act act, LLVMValueRef x);

/* Emits the GEMM at the builder's position in the node function (parallel across the runtime pool). */
vitc_status emit_gemm(vitc_cg *cg, const gemm_desc *d, vitc_error *err);
/* The columns of the float32 kernel's panels of B, its register tile's width (48 with AVX-512, 16 with
 * AVX2): a B laid out in panels of this width is read as one contiguous stream (emit_conv.c's im2col). */
int64_t emit_gemm_panel_width(vitc_cg *cg);

/* The row blocks of panel jp (of npan, n columns in panels of nv vectors of vl lanes; npan may be known
 * only at run time, n mod nv·vl may not): body(k, nv, vl) for whole panels and body(k, nv_tail, lanes) for
 * the last when n leaves a part panel (lanes valid in its last vector); chosen at run time when a task may
 * get either. The float32 and the int8 GEMM share it. */
typedef void (*gemm_panel_body)(void *k, int nv, int lanes);
void emit_by_panel_width(vitc_cg *cg, LLVMValueRef jp, LLVMValueRef npan, int64_t n, int nv, int vl,
                         gemm_panel_body body, void *k);
/* idx[0..nd) of the row-major linear index `linear` over static dims (emit_conv.c). */
void emit_unflatten(vitc_cg *cg, LLVMValueRef linear, const int64_t *dims, int nd, LLVMValueRef *idx);
/* The same over dims known at run time (cg_size). */
void emit_unflatten_n(vitc_cg *cg, LLVMValueRef linear, const LLVMValueRef *dims, int nd, LLVMValueRef *idx);

/* bfloat16 for the bf16 products (here and emit_attention.c): x's float lanes rounded as vitc_bf16_bits
 * rounds them, each lane's 16 bits in the low half of an i32 lane; the len floats at src (contiguous)
 * rounded to ceil(len / 2) pairs, 32-bit words (an odd len's last high half zero) at dst, which may be src
 * (each word is written after the floats it holds are read); 16 pairs at p as <32 x bfloat>; the pair at p
 * repeated across them; and acc + a·b summed by pairs (vdpbf16ps). Without avx512bf16 (cg->dpbf16 false)
 * pairs travel as <16 x i32> words and the sum is emulated with the same numbers (emit_gemm.c). */
LLVMValueRef emit_bf16_bits(vitc_cg *cg, LLVMValueRef x);
void emit_round_pairs(vitc_cg *cg, LLVMValueRef src, LLVMValueRef dst, int64_t len);
LLVMValueRef emit_bf16_load_pairs(vitc_cg *cg, LLVMValueRef p);
LLVMValueRef emit_bf16_repeat_pair(vitc_cg *cg, LLVMValueRef p);
LLVMValueRef emit_bf16_dot(vitc_cg *cg, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b);
/* The <16 x float> vectors of the float32 kernels (here, emit_attention.c and emit_depthwise_nhwc.c, whose
 * tiles are sized for 16 lanes): the type, a broadcast, and the first `lanes` floats at p loaded (the rest
 * zero) or stored, unaligned, through vec.h. */
#define F32V_LANES 16
static inline LLVMTypeRef f32v_type(vitc_cg *cg) { return vec_of(cg, cg->f32, F32V_LANES); }
static inline LLVMValueRef f32v_splat(vitc_cg *cg, LLVMValueRef s) { return vec_splat(cg, s, f32v_type(cg)); }
static inline LLVMValueRef f32v_load(vitc_cg *cg, LLVMValueRef p, int lanes) {
  return vec_load(cg, f32v_type(cg), p, lanes);
}
static inline void f32v_store(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p, int lanes) { vec_store(cg, v, p, lanes); }
/* How many <16 x float> values the target's register file holds at once: 32 with AVX-512, 8 with AVX2
 * (16 registers of 8 floats), 8 on NEON (32 of 4). A register tile larger than this spills every step. */
static inline int f32v_registers(vitc_cg *cg) { return cg->vregs * vec_width(cg) / F32V_LANES; }
/* The rows of a register tile `vecs` vectors wide when `regs` such vectors fit the register file: rows × vecs
 * accumulators and the vecs loaded per step, an eighth of the registers left for a broadcast and spares (32:
 * 4 vectors 6 rows, as emit_gemm.c's 8 × 3; 3: 8; 2: 13; AVX2's 8 <16 x float>: 1 vector 6 rows, 2: 2); and
 * the widest tile, at most `most` vectors, that holds `rows` rows. The attention kernels' tiles
 * (emit_attention.c, emit_talking_heads.c) and the float32 GEMM's (emit_gemm.c: tile_of). */
static inline int tile_rows_most(int regs, int vecs) { return (regs - regs / 8 - vecs) / vecs; }
static inline int tile_vecs_for(int regs, int rows, int most) {
  while (most > 1 && tile_rows_most(regs, most) < rows) most--;
  return most;
}

#endif
