/* compare.c — ops with a bool side: comparisons (bool out), logic (bool in and out), IsNaN / IsInf, and
 * Where (bool condition selecting between broadcast X and Y). */
#include <math.h>
#include <string.h>

#include "elementwise.h"

#define EVAL(NAME)                                                                                          \
  vitc_status eval_##NAME(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err)

/* ---------------------------------------------------------------- comparisons */

/* Defines the double, int64 and uint64 forms of a predicate and its evaluator. Results are 0 / 1, stored
 * into the bool output. NaN compares false (unordered), as in IEEE and numpy. */
#define COMPARISON(NAME, OP)                                                                                  \
  static double NAME##_f64(double a, double b, const ew_params *p) { return a OP b; }                        \
  static int64_t NAME##_i64(int64_t a, int64_t b, const ew_params *p) { return a OP b; }                     \
  static uint64_t NAME##_u64(uint64_t a, uint64_t b, const ew_params *p) { return a OP b; }                  \
  EVAL(NAME) {                                                                                               \
    static const ew_binary op = {#NAME, NULL, NAME##_f64, NAME##_i64, NAME##_u64};                            \
    return ew_run_binary(&op, &(ew_params){0}, in[0], in[1], &out[0], err);                                  \
  }

COMPARISON(Equal, ==)
COMPARISON(Less, <)
COMPARISON(LessOrEqual, <=)
COMPARISON(Greater, >)
COMPARISON(GreaterOrEqual, >=)

/* ---------------------------------------------------------------- logic */

static vitc_status require_bool_inputs(const vitc_value *const *in, int nin, vitc_error *err) {
  static const char *const names[] = {"input A", "input B"};
  for (int k = 0; k < nin; k++) {
    vitc_status st = ew_require_bool(in[k], names[k], err);
    if (st != VITC_OK) return st;
  }
  return VITC_OK;
}

#define LOGIC(NAME, EXPR)                                                                                     \
  static int64_t NAME##_i64(int64_t a, int64_t b, const ew_params *p) { return EXPR; }                       \
  EVAL(NAME) {                                                                                               \
    static const ew_binary op = {#NAME, NULL, NULL, NAME##_i64, NULL};                                        \
    vitc_status st = require_bool_inputs(in, 2, err);                                                        \
    return st != VITC_OK ? st : ew_run_binary(&op, &(ew_params){0}, in[0], in[1], &out[0], err);            \
  }

LOGIC(And, a && b)
LOGIC(Or, a || b)
LOGIC(Xor, !a != !b)

static int64_t not_i64(int64_t x, const ew_params *p) { return !x; }

EVAL(Not) {
  static const ew_unary op = {"Not", NULL, NULL, not_i64};
  vitc_status st = ew_require_bool(in[0], "the input", err);
  return st != VITC_OK ? st : ew_run_unary(&op, &(ew_params){0}, in[0], &out[0], err);
}

/* ---------------------------------------------------------------- IsNaN IsInf */

static vitc_status require_float(const char *op, const vitc_value *x, vitc_error *err) {
  if (vitc_dtype_is_float(x->dtype)) return VITC_OK;
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s is not defined for %s inputs", op,
                   vitc_dtype_name(x->dtype) ? vitc_dtype_name(x->dtype) : "unknown-dtype");
}

EVAL(IsNaN) {
  vitc_status st = require_float("IsNaN", in[0], err);
  if (st != VITC_OK) return st;
  int64_t count = vitc_numel(in[0]);
  uint8_t *y = out[0].data;
  for (int64_t i = 0; i < count; i++) y[i] = isnan(vitc_load_f(in[0], i)) != 0;
  return VITC_OK;
}

EVAL(IsInf) {
  vitc_status st = require_float("IsInf", in[0], err);
  if (st != VITC_OK) return st;
  bool negative = vitc_attr_int(n, "detect_negative", 1) != 0, positive = vitc_attr_int(n, "detect_positive", 1) != 0;
  int64_t count = vitc_numel(in[0]);
  uint8_t *y = out[0].data;
  for (int64_t i = 0; i < count; i++) {
    double x = vitc_load_f(in[0], i);
    y[i] = isinf(x) && (x > 0 ? positive : negative);
  }
  return VITC_OK;
}

/* ---------------------------------------------------------------- Where */

typedef struct where_ctx {
  const uint8_t *cond;
  const char *x, *y;
  char *out;
  size_t size;
} where_ctx;

/* Selects whole elements; typed copies for the usual sizes so the loop stays a move, not a memcpy call. */
#define WHERE_ROW(T)                                                                                          \
  do {                                                                                                       \
    const T *xs = (const T *)c->x + off[1], *ys = (const T *)c->y + off[2];                                   \
    T *o = (T *)c->out + out_off;                                                                            \
    for (int64_t i = 0; i < n; i++) o[i] = cond[i * step[0]] ? xs[i * step[1]] : ys[i * step[2]];           \
  } while (0)

static void where_row(void *vctx, const int64_t *off, int64_t out_off, int64_t n, const int64_t *step) {
  const where_ctx *c = vctx;
  const uint8_t *cond = c->cond + off[0];
  switch (c->size) {
  case 1: WHERE_ROW(uint8_t); return;
  case 2: WHERE_ROW(uint16_t); return;
  case 4: WHERE_ROW(uint32_t); return;
  case 8: WHERE_ROW(uint64_t); return;
  default:
    for (int64_t i = 0; i < n; i++) {
      const char *src = cond[i * step[0]] ? c->x + (size_t)(off[1] + i * step[1]) * c->size
                                          : c->y + (size_t)(off[2] + i * step[2]) * c->size;
      memcpy(c->out + (size_t)(out_off + i) * c->size, src, c->size);
    }
  }
}

EVAL(Where) {
  where_ctx c = {in[0]->data, in[1]->data, in[2]->data, out[0].data, vitc_dtype_size(out[0].dtype)};
  ew_walk w;
  ew_walk_init(&w, &out[0], in, 3);
  ew_walk_rows(&w, where_row, &c);
  return VITC_OK;
}
