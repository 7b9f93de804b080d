/* emit_window.h — what the sliding-window kernels (emit_conv.c, emit_conv_transpose.c, emit_pool.c,
 * emit_depthwise_nhwc.c) share besides emit_unflatten (emit_gemm.h): index arithmetic over the window
 * geometry of ir.h (vitc_window, the evaluator's, so both agree), the loop skeleton of the float32 GEMM
 * kernels, and the every-dtype direct loop of Conv and ConvTranspose. Defined in emit_conv.c. Internal to
 * backend/. */
#ifndef VITC_EMIT_WINDOW_H
#define VITC_EMIT_WINDOW_H

#include "emit_gemm.h"

/* floats of an im2col / col2im / merged-rows buffer (16 MB): a bound on a node's work space (cg_scratch) */
#define COL_BUDGET ((int64_t)1 << 22)

/* a * b for a static b, and a + b: index arithmetic, which never wraps (nsw). */
static inline LLVMValueRef mul_i(vitc_cg *cg, LLVMValueRef a, int64_t b) {
  return b == 1 ? a : LLVMBuildNSWMul(cg->b, a, cg_i64(cg, b), "");
}
static inline LLVMValueRef add_i(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWAdd(cg->b, a, b, "");
}

/* The outputs o along dim d whose tap k reads inside [lo, hi) of the input (lo <= o·stride - pad_begin +
 * k·dilation < hi), as [*first, *end) within [0, out[d]) (first == end: none). The row kernels (the NCHW
 * depthwise conv, the pools, the channels-last depthwise conv) leave the bound tests of a tap out by it. */
static inline void window_tap_outputs(const vitc_window *w, int d, int64_t k, int64_t lo, int64_t hi, int64_t *first,
                                      int64_t *end) {
  int64_t shift = k * w->dilation[d] - w->pad_begin[d], s = w->stride[d];
  *end = hi - 1 - shift < 0 ? 0 : (hi - 1 - shift) / s + 1;
  if (*end > w->out[d]) *end = w->out[d];
  *first = lo - shift <= 0 ? 0 : (lo - shift + s - 1) / s;
  if (*first > *end) *first = *end;
}

/* The outputs along dim d whose every tap reads inside the input: [*first, *end), the taps' ranges intersected. */
static inline void window_inner_outputs(const vitc_window *w, int d, int64_t *first, int64_t *end) {
  *first = 0;
  *end = w->out[d];
  for (int64_t k = 0; k < w->kernel[d]; k++) {
    int64_t f, e;
    window_tap_outputs(w, d, k, 0, w->in[d], &f, &e);
    if (f > *first) *first = f;
    if (e < *end) *end = e;
  }
  if (*end < *first) *end = *first;
}

/* Offset in a dense input plane of the window tap kidx at output position oidx, and whether it lies
 * inside the input (outside, the offset is 0 so that a load from it stays in bounds). */
LLVMValueRef emit_window_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                const LLVMValueRef *kidx, LLVMValueRef *inside);
/* ConvTranspose's map the other way round: the input position i with i*stride - pad_begin + k*dilation = o
 * for output oidx and tap kidx, as an offset in a dense input plane, and whether it exists (the division
 * is exact and i lies inside the input; otherwise the offset is 0). */
LLVMValueRef emit_transpose_source_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                          const LLVMValueRef *kidx, LLVMValueRef *inside);

/* Conv (transpose false) or ConvTranspose for every dtype: a task per (image, output channel) plane, per
 * output element a sum in double over the group's input channels and the taps, as the evaluator does. */
void emit_direct_conv(vitc_cg *cg, const vitc_conv_geometry *p, vitc_dtype t, bool transpose);

/* The skeleton of the float32 GEMM kernels: a column buffer of col_floats in the node's work space
 * (cg_scratch), a loop over (image, group), and in it a loop over the chunks [first, first+count) that cut
 * [0, total) into a static `size` (the full ones, then the tail), each handed to body with x, y, w and bias
 * (NULL: none) pointing at the group's slices of the node's inputs and output. */
typedef struct conv_slice {
  LLVMValueRef x, y, w, bias, col, first;
  LLVMValueRef r; /* FusedConv's residual, Y's layout (NULL: none) */
  int64_t count;
} conv_slice;
typedef vitc_status (*conv_slice_fn)(vitc_cg *cg, const vitc_conv_geometry *p, const conv_slice *s,
                                     vitc_error *err);
vitc_status emit_conv_slices(vitc_cg *cg, const vitc_conv_geometry *p, int64_t total, int64_t size,
                             int64_t col_floats, conv_slice_fn body, vitc_error *err);

#endif
