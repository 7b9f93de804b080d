/* test_values.h — tensors for op tests: zeroed ones of a shape, and deterministic pseudo-random ones.
 * The caller frees v.data. */
#ifndef VITC_TEST_VALUES_H
#define VITC_TEST_VALUES_H

#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static vitc_value make(vitc_dtype t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = t, .rank = rank};
  if (rank) memcpy(v.dims, dims, sizeof(int64_t) * (size_t)rank);
  v.data = calloc((size_t)(vitc_numel(&v) ? vitc_numel(&v) : 1), vitc_dtype_size(t));
  return v;
}

/* Deterministic values in [-1, 1) (integers in [-4, 4) for integer dtypes). */
static vitc_value random_value(vitc_dtype t, int rank, const int64_t *dims, unsigned seed) {
  vitc_value v = make(t, rank, dims);
  for (int64_t i = 0; i < vitc_numel(&v); i++) {
    seed = seed * 1103515245u + 12345u;
    double x = (double)((seed >> 8) % 2000) / 1000.0 - 1.0;
    vitc_store_f(&v, i, vitc_dtype_is_float(t) ? x : (double)((int)((seed >> 8) % 8) - 4));
  }
  return v;
}

#endif
