/* move_harness.h — for test_movement.c and test_gather.c: values over hand-made data, run through
 * op_harness.h's run_op at harness_opset, and checks of result shapes and elements against expected
 * lists. */
#ifndef VITC_TEST_MOVE_HARNESS_H
#define VITC_TEST_MOVE_HARNESS_H

#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "op_harness.h"

static vitc_error harness_err; /* the message of the last failing run_op */
static int harness_opset = 18;

/* A value over caller-owned data; dims are the trailing int arguments. */
static vitc_value val(vitc_dtype t, const void *data, int rank, ...) {
  vitc_value v = {.dtype = t, .rank = rank, .data = (void *)data};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) v.dims[i] = va_arg(ap, int);
  va_end(ap);
  return v;
}

static void check_dims_(const vitc_value *v, const int64_t *dims, int rank, int line) {
  bool ok = v->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = v->dims[i] == dims[i];
  if (ok) {
    check_passed++;
    return;
  }
  char buf[128];
  check_failed++;
  fprintf(stderr, "%s:%d: got shape %s\n", __FILE__, line, vitc_value_type_str(v, buf, sizeof buf));
}

static void check_values_(const vitc_value *v, const double *expect, int64_t n, int line) {
  if (!v->data || vitc_numel(v) != n) {
    check_failed++;
    fprintf(stderr, "%s:%d: got %lld elements, expected %lld\n", __FILE__, line, (long long)vitc_numel(v), (long long)n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double got = vitc_dtype_is_float(v->dtype) ? vitc_load_f(v, i) : (double)vitc_load_i(v, i);
    if (fabs(got - expect[i]) > 1e-6) {
      check_failed++;
      fprintf(stderr, "%s:%d: element %lld = %g, expected %g\n", __FILE__, line, (long long)i, got, expect[i]);
      return;
    }
  }
  check_passed++;
}

#define CHECK_DIMS(v, ...) \
  check_dims_((v), (int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), __LINE__)
#define CHECK_VALUES(v, ...) \
  check_values_((v), (double[]){__VA_ARGS__}, (int64_t)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)), __LINE__)

#endif
