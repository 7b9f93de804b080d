/* movement.h — what the data-movement ops (movement.c, transpose.c, slice.c, gather.c, scatter.c) share:
 * dtype-agnostic byte-moving kernels and index checks. Elements are esize-byte blobs; none of these
 * kernels interprets them. Internal to ir/ops/. */
#ifndef VITC_IR_OPS_MOVEMENT_H
#define VITC_IR_OPS_MOVEMENT_H

#include <string.h>

#include "ops.h"

/* Tile views a rank-r tensor as 2r dims (repeat, extent), so the strided copy takes up to twice the rank. */
#define VITC_COPY_MAX_RANK (2 * VITC_MAX_RANK)

/* Copies a box of dims[0..rank) elements: the element at index i goes from src + sum(i_k * src_strides[k])
 * to dst + sum(i_k * dst_strides[k]) (strides in elements; a source stride may be 0 to broadcast or
 * negative to reverse). Adjacent dims that are contiguous in both are merged first; then contiguous runs
 * move by memcpy, a transposed innermost pair moves in cache tiles, and anything else by typed loops. */
void vitc_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                       const int64_t *dims, int rank, size_t esize);

/* Fills count elements of dst with copies of the esize bytes at elem. */
void vitc_fill_elements(void *dst, int64_t count, const void *elem, size_t esize);

/* Sets out's dtype and dims after checking the element count is non-negative and fits (the evaluator
 * allocates from it); fails naming the shape otherwise. */
vitc_status vitc_set_shape(vitc_value *out, vitc_dtype dtype, const int64_t *dims, int rank, vitc_error *err);

/* Product of dims[from..to) of a shape already checked by vitc_checked_numel. */
static inline int64_t vitc_dims_product(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= dims[i];
  return p;
}

/* "[2,3,-1]" into buf. */
const char *vitc_dims_str(const int64_t *dims, int rank, char *buf, size_t n);

/* Fails unless v holds int32 or int64 indices (what names the input in the message). */
vitc_status vitc_check_index_dtype(const vitc_value *v, const char *what, vitc_error *err);

/* Reads index element i of idx (int32/int64), counts a negative one from the end of an axis of size dim,
 * and fails when it lands outside [0, dim). */
vitc_status vitc_load_index(const vitc_value *idx, int64_t i, int64_t dim, int64_t *out, vitc_error *err);

/* in[i], or NULL when the node has fewer inputs or the optional input is absent. */
static inline const vitc_value *vitc_optional_input(const vitc_node *n, const vitc_value *const *in, int i) {
  return i < n->nin ? in[i] : NULL;
}

/* memcpy whose common small sizes compile to single moves: gathers of one element stay fast. */
static inline void vitc_copy_bytes(void *dst, const void *src, size_t bytes) {
  switch (bytes) {
  case 1: memcpy(dst, src, 1); return;
  case 2: memcpy(dst, src, 2); return;
  case 4: memcpy(dst, src, 4); return;
  case 8: memcpy(dst, src, 8); return;
  default: memcpy(dst, src, bytes);
  }
}

#endif
