/* emit_depthwise_nhwc.c — vitc.DepthwiseConvNHWC (ir/ops/depthwise_conv_nhwc.c). Channels-last makes the
 * depthwise conv a stream of vector FMAs along C. A task per output row (n, oy); in it, per vector of
 * channels cv, the row's output pixels in blocks of R, each block's R accumulators held in registers
 * over all taps (the taps' weights are loaded once per block, and for stride 1 the R + kw - 1 input
 * vectors of a kernel row serve all R·kw FMAs):
 *
 *   for cv:                                       (vectors of C, a masked tail)
 *     for ox0 in blocks of at most R (widths one apart):
 *       acc[0..R) = bias[cv]
 *       for ky with iy inside X:
 *         for kx, r (unrolled):  acc[r] += w[ky, kx, cv] · x[iy, (ox0+r)·sw + kx·dw - pl, cv]
 *       y[oy, ox0 .. ox0+R, cv] = act(acc)
 *   each pixel of y[oy]: LayerNorm over C   (epilogue, while the row is in cache)
 *
 * The blocks in the middle of the row, whose taps all lie inside X, run in a loop with no bound tests;
 * the blocks at either edge are unrolled with their taps in the padding left out at compile time. With a
 * LayerNorm epilogue (inputs 3 and 4: ConvNeXt's norm after its 7x7 conv) the conv's output is
 * normalised in cache instead of being written and read back by a LayerNormalization node.
 *
 * ConvNeXt-T's 7x7 convs at C = 96..768 run near the FMA units' rate, not memory's: per block and
 * kernel row, R·kw FMAs against R + kw - 1 input and kw weight loads, all from L1 (a row's working set
 * is kh input rows × the row width of one channel vector). Each accumulator takes one FMA after another,
 * so a block needs more of them than the FMA latency times the FMA units (4 x 2): blocks of up to 12, as
 * equal as can be, against blocks of 8 with the edge columns and the middle's remainder in blocks of their
 * own (56 wide: 3, 6 x 8, 2, 3; 7 wide: 3, 1, 3): bench/convnext_kernels, 1 thread, best of 50 by thread
 * CPU time (its clock switched to CLOCK_THREAD_CPUTIME_ID), two rounds side by side: 56x56x96 0.164 -> 0.136-0.149 ms, 28x28x192 0.086-0.090 -> 0.074-0.080, 14x14x384
 * 0.034-0.043 -> 0.031, 7x7x768 0.021-0.027 -> 0.014-0.015 (95-99% of the FMA peak).
 *
 * Token rows (attribute image) are the same with each image past its leading rows, which the task of the
 * image's first row copies. */
#include "emit_gemm.h"
#include "emit_rows.h"
#include "emit_window.h"
#include "emitters.h"

enum { IN_X, IN_W, IN_BIAS, IN_SCALE, IN_NORM_BIAS, NCAPTURED };
/* output pixels per block at most on 16-lane targets (32 vector registers): 12 accumulators, the sliding
 * window of 12 input vectors and a weight. Narrower targets give half their registers to accumulators
 * (AVX2: 8 of 16; its FMAs read the input vector from memory, the weight and a spare in two more): on
 * Zen 3 blocks of 8 against 6 ran ConvNeXt-T's 7x7 convs 5-35% faster (56x56x96 0.398 -> 0.364 ms, 7x7x768
 * 0.052 -> 0.038), and 8 accumulators are what its FMA latency (4) times its FMA units (2) asks for. */
enum { BLOCK = 12 };

/* What the blocks of one output row share. */
typedef struct dw_row {
  const vitc_window *w;
  int64_t c;
  LLVMValueRef ximage, wt, bias, yrow; /* bias NULL: none */
  LLVMValueRef oy, cv;                 /* the output row in its image, the first channel of the vector */
  int lanes;                           /* valid lanes of the vector at cv */
  gemm_act act;                        /* applied to the accumulators before they are stored */
  int rb;                              /* output pixels per block at most */
  bool cv_inner;                       /* every channel vector per block, rather than every block per vector */
} dw_row;

/* The block of `count` output pixels from ox0 for the channel vector of r: with `at` a static column
 * (edge blocks), only the taps inside the input; with at < 0 (ox0 known at run time), every tap. */
static void emit_block(vitc_cg *cg, const dw_row *r, LLVMValueRef ox0, int64_t at, int count) {
  const vitc_window *w = r->w;
  LLVMTypeRef vt = vec_f32(cg);
  cg_mut acc[BLOCK];
  LLVMValueRef init = r->bias ? vec_load(cg, vt, gep_f32(cg, r->bias, r->cv), r->lanes) : vec_const(cg, vt, 0);
  for (int k = 0; k < count; k++) acc[k] = cg_mut_new(cg, vt, init);
  cg_loop ky = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->kernel[0]), 1);
  LLVMValueRef iy = ix_addk(cg, ix_add(cg, ix_mulk(cg, r->oy, w->stride[0]), ix_mulk(cg, ky.iv, w->dilation[0])),
                            -w->pad_begin[0]);
  cg_if inside = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, w->in[0])));
  /* x at (iy, ox0·sw, cv): every tap is a static offset from it */
  LLVMValueRef xo = ix_add(cg, ix_mulk(cg, ix_add(cg, ix_mulk(cg, iy, w->in[1]), ix_mulk(cg, ox0, w->stride[1])), r->c),
                           r->cv);
  LLVMValueRef wrow = ix_add(cg, ix_mulk(cg, ky.iv, w->kernel[1] * r->c), r->cv);
  for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
    LLVMValueRef wk = NULL;
    int64_t first, end; /* the output columns whose tap kx reads inside the input row */
    window_tap_outputs(w, 1, kx, 0, w->in[1], &first, &end);
    for (int k = 0; k < count; k++) {
      if (at >= 0 && (at + k < first || at + k >= end)) continue;
      if (!wk) wk = vec_load(cg, vt, gep_f32_at(cg, r->wt, wrow, 1, kx * r->c), r->lanes);
      int64_t shift = (k * w->stride[1] + kx * w->dilation[1] - w->pad_begin[1]) * r->c;
      LLVMValueRef xv = vec_load(cg, vt, gep_f32_at(cg, r->ximage, xo, 1, shift), r->lanes);
      cg_set(cg, acc[k], vec_muladd(cg, wk, xv, cg_get(cg, acc[k])));
    }
  }
  cg_if_end(cg, &inside);
  cg_loop_end(cg, &ky);
  LLVMValueRef yo = ix_add(cg, ix_mulk(cg, ox0, r->c), r->cv);
  for (int k = 0; k < count; k++)
    vec_store(cg, emit_gemm_activate(cg, r->act, cg_get(cg, acc[k])), gep_f32_at(cg, r->yrow, yo, 1, k * r->c), r->lanes);
}

static void emit_channel_vectors(vitc_cg *cg, const dw_row *r, LLVMValueRef ox0, int64_t at, int count);

/* The block of count pixels at ox0 (at: its static column, or -1) for r's channel vector, or for each
 * channel vector when they run inside the blocks. */
static void emit_block_of_row(vitc_cg *cg, const dw_row *r, LLVMValueRef ox0, int64_t at, int count) {
  if (r->cv_inner)
    emit_channel_vectors(cg, r, ox0, at, count);
  else
    emit_block(cg, r, ox0, at, count);
}

/* One channel vector of the row (or, r->cv_inner, each in turn per block): its ow pixels cut into the
 * fewest blocks of at most rb, of widths one apart (the first ow mod nb one wider), so that no block is a
 * few pixels whose accumulators wait on the FMA latency: 56 pixels are 5 blocks of 12 and 11, not 3 + 6·8 + 2 + 3; 7 pixels one block, not 3 + 1 + 3.
 * The narrow blocks whose taps all lie inside the input row run in a loop with no bound tests; the rest
 * are unrolled, their taps in the padding left out at compile time. */
static void emit_pixel_blocks(vitc_cg *cg, const dw_row *r) {
  const vitc_window *w = r->w;
  int rb = r->rb;
  int64_t ow = w->out[1], lo, hi; /* [lo, hi): the columns whose taps all lie inside */
  window_inner_outputs(w, 1, &lo, &hi);
  int64_t nb = (ow + rb - 1) / rb, q = ow / nb, wide = ow % nb;
  /* block b starts at b·q + min(b, wide); the loop runs the narrow blocks b0 <= b < b1 inside [lo, hi) */
  int64_t b0 = lo > wide ? (lo - wide + q - 1) / q : 0, b1 = hi > wide ? (hi - wide) / q : 0;
  if (b0 < wide) b0 = wide;
  if (b1 > nb) b1 = nb;
  if (b1 < b0) b1 = b0;
  for (int64_t b = 0, at = 0; b < nb; at += q + (b < wide), b++) {
    if (b == b0 && b1 > b0) {
      cg_loop ox = cg_loop_begin(cg, cg_i64(cg, at), cg_i64(cg, at + (b1 - b0) * q), q);
      emit_block_of_row(cg, r, ox.iv, -1, (int)q);
      cg_loop_end(cg, &ox);
      at += (b1 - b0 - 1) * q, b = b1 - 1;
      continue;
    }
    emit_block_of_row(cg, r, cg_i64(cg, at), at, (int)(q + (b < wide)));
  }
}

/* The block of count pixels at ox0 for r's channel vector, or with ox0 NULL the row's pixel blocks. */
static void emit_for_channel_vector(vitc_cg *cg, const dw_row *r, LLVMValueRef ox0, int64_t at, int count) {
  if (ox0)
    emit_block(cg, r, ox0, at, count);
  else
    emit_pixel_blocks(cg, r);
}

/* That for each vector of C: the whole vectors in a loop, then the remainder under a mask. */
static void emit_channel_vectors(vitc_cg *cg, const dw_row *r0, LLVMValueRef ox0, int64_t at, int count) {
  dw_row r = *r0;
  int width = vec_width(cg);
  int64_t full = r.c / width * width;
  if (full) {
    cg_loop cv = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, full), width);
    r.cv = cv.iv;
    r.lanes = width;
    emit_for_channel_vector(cg, &r, ox0, at, count);
    cg_loop_end(cg, &cv);
  }
  if (full < r.c) {
    r.cv = cg_i64(cg, full);
    r.lanes = (int)(r.c - full);
    emit_for_channel_vector(cg, &r, ox0, at, count);
  }
}

vitc_status emit_DepthwiseConvNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[NCAPTURED];
  for (int k = 0; k < NCAPTURED; k++) in[k] = k < n->nin && n->in[k] >= 0 ? cg_in_value(cg, k) : NULL;
  vitc_window w;
  int64_t lead;
  vitc_status st = vitc_depthwise_nhwc_window(n, in, &w, &lead, err);
  if (st != VITC_OK) return st;
  int64_t c = in[IN_X]->dims[in[IN_X]->rank - 1], rows = in[IN_X]->dims[0] * w.out[0], oh = w.out[0];
  if (rows * w.out[1] * c == 0) return VITC_OK;
  /* token rows: each image follows `lead` rows, copied through */
  int64_t x_image = (lead + w.in[0] * w.in[1]) * c, y_image = (lead + oh * w.out[1]) * c;
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[NCAPTURED + 1];
  for (int k = 0; k < NCAPTURED; k++) captured[k] = cg_in(cg, k) ? cg_in(cg, k) : null;
  captured[NCAPTURED] = cg_out(cg, 0);
  cg_task t = cg_task_begin(cg, captured, NCAPTURED + 1);
  cg_loop row = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef image = ix_divk(cg, row.iv, oh);
  dw_row r = {.w = &w, .c = c, .wt = t.vals[IN_W], .bias = cg_in(cg, IN_BIAS) ? t.vals[IN_BIAS] : NULL,
              .oy = ix_remk(cg, row.iv, oh), .act = emit_gemm_act_of(n)};
  LLVMValueRef xtokens = gep_f32(cg, t.vals[IN_X], ix_mulk(cg, image, x_image));
  LLVMValueRef ytokens = gep_f32(cg, t.vals[NCAPTURED], ix_mulk(cg, image, y_image));
  if (lead) {
    cg_if first = cg_if_begin(cg, vec_icmp(cg, LLVMIntEQ, r.oy, cg_i64(cg, 0)));
    cg_memcpy(cg, ytokens, xtokens, cg_i64(cg, lead * c * (int64_t)sizeof(float)));
    cg_if_end(cg, &first);
  }
  r.ximage = gep_f32(cg, xtokens, cg_i64(cg, lead * c));
  r.yrow = gep_f32(cg, ytokens, ix_addk(cg, ix_mulk(cg, r.oy, w.out[1] * c), lead * c));
  int width = vec_width(cg);
  r.rb = width >= 16 ? BLOCK : cg->vregs / 2;
  /* A channel vector narrower than a cache line (AVX2's 32 bytes of 64) runs inside the pixel blocks, so the
   * next vector reads the other half of the lines just fetched. Outside, a row whose lines outnumber the
   * ways of their cache sets (C a power of two: MaxViT's 3x3 convs at C = 256..2048, pixels 1-8 KB apart)
   * fetched every line twice: 56x56x256 0.65 -> 0.28 ms on Zen 3. */
  r.cv_inner = vec_per_line(cg) > 1;
  if (r.cv_inner)
    emit_pixel_blocks(cg, &r);
  else
    emit_channel_vectors(cg, &r, NULL, -1, 0);
  if (cg_in(cg, IN_SCALE)) {
    int group = emit_layer_norm_group(w.out[1], c);
    cg_loop ox = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w.out[1]), group);
    emit_layer_norm_f32_rows(cg, r.yrow, r.yrow, ix_mulk(cg, ox.iv, c), group, c, vitc_attr_float(n, "epsilon", 1e-5),
                             t.vals[IN_SCALE], cg_in(cg, IN_NORM_BIAS) ? t.vals[IN_NORM_BIAS] : NULL);
    cg_loop_end(cg, &ox);
  }
  cg_loop_end(cg, &row);
  cg_task_end(cg, &t, rows);
  return VITC_OK;
}
