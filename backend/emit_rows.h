/* emit_rows.h — what emit_reduce.c and emit_norm.c share: a tensor seen as rows to fold, the row loop
 * (run across the runtime pool when large), and the folds themselves; and emit_norm.c's LayerNorm of one
 * row, for kernels that normalise their output in cache. Internal to backend/.
 *
 *   x[dims] with some dims reduced  →  rows (indexed by the kept dims, row-major)
 *                                      × elements of a row (the reduced dims, row-major)
 *
 *   for r < rows:                          (parallel when the tensor is large)
 *     base = row_base(r)                   (offset of the row's first element in x)
 *     acc  = fold over offsets base + Σ j_d·red_stride_d of map(x[...])
 *
 * A float32 row whose elements are contiguous folds in vectors of the target's width (double partials for
 * sums: the evaluator sums in double), lanes folded pairwise at the end (vec_reduce); every other row folds one element at
 * a time in double, as the evaluator does. */
#ifndef VITC_EMIT_ROWS_H
#define VITC_EMIT_ROWS_H

#include "vmath.h"

typedef struct row_shape {
  int nkept, nred; /* dims of size 1 dropped, adjacent dims of the same kind merged */
  int64_t kept_dims[VITC_MAX_RANK], kept_strides[VITC_MAX_RANK];
  int64_t red_dims[VITC_MAX_RANK], red_strides[VITC_MAX_RANK];
  int64_t rows, len; /* rows = Π kept dims, len = Π reduced dims */
} row_shape;

/* x (contiguous) with reduced[d] saying which of its dims a row runs over. */
void row_shape_init(row_shape *s, const vitc_value *x, const bool *reduced);
/* Dims [first, last] reduced, the rest kept. */
void row_shape_range(row_shape *s, const vitc_value *x, int first, int last);
/* The elements of each row are consecutive in memory. */
bool row_contiguous(const row_shape *s);

/* Loop over [0, rows): a task run by the runtime pool when `work` (elements touched) is large. The
 * pointers of the node function the body uses are passed in `ptrs` and replaced by their values inside
 * the task (NULL entries stay NULL). Returns the row index. */
typedef struct row_loop {
  bool parallel;
  int64_t rows;
  cg_loop loop;
  cg_task task;
} row_loop;
LLVMValueRef rows_begin(vitc_cg *cg, row_loop *l, int64_t rows, int64_t work, LLVMValueRef *ptrs, int nptrs);
void rows_end(vitc_cg *cg, row_loop *l);

/* Offset in x of row r's first element. */
LLVMValueRef row_base(vitc_cg *cg, const row_shape *s, LLVMValueRef r);

/* Nested loops over the elements of a row: `offset` is the element's offset in x, `j` its index in the
 * row (0 … len-1). */
typedef struct elem_loop {
  int n;
  cg_loop loops[VITC_MAX_RANK];
  LLVMValueRef offset, j;
} elem_loop;
void elems_begin(vitc_cg *cg, elem_loop *l, const row_shape *s, LLVMValueRef base);
void elems_end(vitc_cg *cg, elem_loop *l);

/* map: what an element contributes (shift is a double, for SQDEV (x - shift)² and EXP exp(x - shift));
 * fold: how contributions combine. MAX/MIN propagate NaN like the evaluator's Reduce*; MAX_NUM skips
 * NaN like its softmax (VEC_MAX, maxNum). */
typedef enum fold_map { MAP_ID, MAP_ABS, MAP_SQUARE, MAP_SQDEV, MAP_EXP } fold_map;

/* Folds map(x[e]) over the elements e of the row at base, starting from fold's identity for dtype t;
 * returns a double. fold is VEC_SUM, VEC_PROD, VEC_MAX_NAN, VEC_MIN_NAN (the evaluator's Reduce*) or
 * VEC_MAX (NaN skipped, its softmax). */
LLVMValueRef fold_row(vitc_cg *cg, const row_shape *s, LLVMValueRef x, vitc_dtype t, LLVMValueRef base,
                      fold_map map, LLVMValueRef shift, vec_fold fold);

/* The last kept dim is x's innermost: rows r … r+W-1 of one run of it lie side by side in memory, each
 * element of one W elements after the same element of the other, so they fold as the lanes of a vector:
 *
 *   x [N, H, W, C] reduced over H and W:   acc[c0 .. c0+W) += x[n, h, w, c0 .. c0+W)
 */
bool rows_side_by_side(const row_shape *s);
/* The float32 rows at base, base+1, … (vec_width of them; lanes off in mask, if any, read nothing) folded
 * lane by lane in order, the evaluator's way (double sums, float max and min): a vector of doubles. */
LLVMValueRef fold_columns(vitc_cg *cg, const row_shape *s, LLVMValueRef x, LLVMValueRef base, LLVMValueRef mask,
                          fold_map map, vec_fold fold);

/* Element e of x (dtype t) as a double; a double stored into y (dtype t) with the evaluator's conversion. */
LLVMValueRef load_f64(vitc_cg *cg, LLVMValueRef x, LLVMValueRef e, vitc_dtype t);
void store_f64(vitc_cg *cg, LLVMValueRef y, LLVMValueRef e, vitc_dtype t, LLVMValueRef v);

/* LayerNorm of the n float32 rows x[base + g·len, base + (g+1)·len) (g < n <= emit_layer_norm_group's most)
 * into y (y may be x), emit_norm.c's way (statistics in double, two-pass): y = (x - mean) · inv_std ·
 * scale[j] + bias[j] (scale, bias: len floats, NULL none). The epilogue of kernels that hold rows in cache
 * when they are to be normalised (DepthwiseConvNHWC, PatchMerging); n rows at once run their chains of
 * dependent steps side by side. */
void emit_layer_norm_f32_rows(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y, LLVMValueRef base, int n, int64_t len,
                              double eps, LLVMValueRef scale, LLVMValueRef bias);
/* How many rows of `rows` (of len floats) to normalise at once: the most up to emit_norm.c's group that
 * divides rows. */
int emit_layer_norm_group(int64_t rows, int64_t len);

#endif
