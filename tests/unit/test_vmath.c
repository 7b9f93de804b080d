/* test_vmath.c — the maximum error of vmath.h's inline functions against libm in double, measured through
 * the generated elementwise kernels: for float32 every 97th float bit pattern of each function's range,
 * both signs, plus the special values; for float64 200003 points of a range plus the special values. The bounds asserted here are the ones written at each
 * definition in backend/vmath.c; the table printed is where those figures come from. */
#include <float.h>
#include <stdint.h>

#include "backend_harness.h"
#include "check.h"

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x * M_SQRT1_2)); }
/* x/2·(1 + tanh u) as x·sigmoid(2u): in double too, 1 + tanh u cancels for x < -5. */
static double gelu_tanh(double x) { return x * sigmoid(2 * 0.79788456080286535588 * (x + 0.044715 * x * x * x)); }
static double quick_gelu(double x) { return x * sigmoid(1.702 * x); }
static double silu(double x) { return x * sigmoid(x); }

typedef struct vm_case {
  const char *name;
  vitc_op op;
  const char *approximate;
  double (*ref)(double);
  float lo, hi;     /* the swept range */
  double max_ulp;   /* asserted bound over x >= ulp_from (vmath.c) */
  float ulp_from;
  double max_abs;   /* asserted bound over the range (INFINITY: not asserted, the function is unbounded) */
} vm_case;

static const vm_case cases[] = {
    {"exp", VITC_OP_Exp, NULL, exp, -104, 89, 1.05, -104, INFINITY},
    {"log", VITC_OP_Log, NULL, log, 0, FLT_MAX, 0.8, 0, INFINITY},
    {"erf", VITC_OP_Erf, NULL, erf, -10, 10, 6, -10, 3.5e-7},
    {"tanh", VITC_OP_Tanh, NULL, tanh, -10, 10, 5, -10, 3e-7},
    {"sigmoid", VITC_OP_Sigmoid, NULL, sigmoid, -88, 88, 2.5, -88, 1e-7},
    {"gelu_erf", VITC_OP_Gelu, "none", gelu_erf, -10, 10, 3.5, 0, 1e-6},
    {"gelu_tanh", VITC_OP_Gelu, "tanh", gelu_tanh, -10, 10, 170, -10, 6e-7},
    {"quick_gelu", VITC_OP_QuickGelu, NULL, quick_gelu, -10, 10, 21, -10, 8e-7},
    {"silu", VITC_OP_Silu, NULL, silu, -10, 10, 2.5, -10, 1.3e-6},
    {"sin", VITC_OP_Sin, NULL, sin, -1.5e6, 1.5e6, 0.51, -1.5e6, INFINITY},
    {"cos", VITC_OP_Cos, NULL, cos, -1.5e6, 1.5e6, 0.51, -1.5e6, INFINITY},
    {"tan", VITC_OP_Tan, NULL, tan, -1.5e6, 1.5e6, 0.51, -1.5e6, INFINITY},
    /* beyond ±1.5e6 the lanes go to libm: glibc's sinf, cosf and tanf, not correctly rounded */
    {"sin far", VITC_OP_Sin, NULL, sin, -1e7, 1e7, 0.6, -1e7, INFINITY},
    {"cos far", VITC_OP_Cos, NULL, cos, -1e7, 1e7, 0.6, -1e7, INFINITY},
    {"tan far", VITC_OP_Tan, NULL, tan, -1e7, 1e7, 1.1, -1e7, INFINITY},
    {"asin", VITC_OP_Asin, NULL, asin, -1, 1, 0.51, -1, INFINITY},
    {"acos", VITC_OP_Acos, NULL, acos, -1, 1, 0.51, -1, INFINITY},
    {"atan", VITC_OP_Atan, NULL, atan, -1e6, 1e6, 0.51, -1e6, INFINITY},
    {"sinh", VITC_OP_Sinh, NULL, sinh, -90, 90, 0.51, -90, INFINITY},
    {"cosh", VITC_OP_Cosh, NULL, cosh, -90, 90, 0.51, -90, INFINITY},
    {"asinh", VITC_OP_Asinh, NULL, asinh, -FLT_MAX, FLT_MAX, 0.51, -FLT_MAX, INFINITY},
    {"acosh", VITC_OP_Acosh, NULL, acosh, 0, FLT_MAX, 0.51, 0, INFINITY},
    {"atanh", VITC_OP_Atanh, NULL, atanh, -1, 1, 0.51, -1, INFINITY},
};

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float float_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Every 97th bit pattern of [0, hi] and of [0, -lo] negated (what lies in the range), then specials. */
static int64_t sweep(const vm_case *c, float *x) {
  int64_t n = 0;
  static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, -1e-45f};
  for (int s = 0; s < 2; s++) {
    float end = s ? -c->lo : c->hi;
    if (end <= 0) continue;
    for (uint64_t u = 0; u <= bits_of(end); u += 97) x[n++] = s ? -float_of((uint32_t)u) : float_of((uint32_t)u);
  }
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
    if (specials[i] >= c->lo && specials[i] <= c->hi) x[n++] = specials[i];
  return n;
}

static void measure(const vm_case *c) {
  int64_t cap = (int64_t)(bits_of(c->hi > 0 ? c->hi : 0) / 97 + bits_of(c->lo < 0 ? -c->lo : 0) / 97 + 32);
  float *x = malloc(sizeof(float) * (size_t)cap);
  int64_t n = sweep(c, x);
  test_graph t = tg_new();
  int in = tg_input(&t, VITC_F32, 1, &n);
  vitc_attr approx = {.name = "approximate", .type = VITC_ATTR_STRING, .s = c->approximate};
  tg_output(&t, tg_node(&t, c->op, &in, 1, 1, &approx, c->approximate ? 1 : 0));
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 2, &err);
  if (st) fprintf(stderr, "%s: %s\n", c->name, err.msg);
  CHECK(st == VITC_OK);
  float *y = malloc(sizeof(float) * (size_t)n);
  if (!st) {
    memcpy(t.in[0].data, x, sizeof(float) * (size_t)n);
    void *outs[1] = {y};
    CHECK(tg_run(&t, outs) == 0);
    double max_ulp = 0, max_abs = 0, at_ulp = 0, at_abs = 0;
    int64_t wrong_special = 0;
    for (int64_t i = 0; i < n; i++) {
      double want = c->ref(x[i]), got = y[i];
      if (isnan(want) || isinf((float)want) || isinf(got) || isnan(got)) { /* NaN for NaN, inf for inf */
        if (!(isnan(want) && isnan(got)) && (float)want != got) wrong_special++;
        continue;
      }
      double abs_err = fabs(got - want);
      if (abs_err > max_abs) max_abs = abs_err, at_abs = x[i];
      float wf = (float)fabs(want);
      if (wf >= FLT_MIN && x[i] >= c->ulp_from) {
        double ulp = abs_err / (double)(nextafterf(wf, INFINITY) - wf);
        if (ulp > max_ulp) max_ulp = ulp, at_ulp = x[i];
      }
    }
    printf("%-10s [%g, %g] %lld points: max %.2f ulp (x = %.9g), max abs %.3g (x = %.9g), %lld wrong specials\n",
           c->name, c->lo, c->hi, (long long)n, max_ulp, at_ulp, max_abs, at_abs, (long long)wrong_special);
    CHECK(max_ulp <= c->max_ulp);
    CHECK(isinf(c->max_abs) || max_abs <= c->max_abs);
    CHECK(wrong_special == 0);
  }
  free(x);
  free(y);
  tg_free(&t);
}

/* Pow of float32 on a grid of bases and exponents (special values included) against libm's pow in double,
 * and the special cases C's powf defines; then the same grid in float64 against libm's pow. */
static void measure_pow_f64(const float *b, const float *e, int64_t n);
static void measure_pow(void) {
  static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, 0.5f, -0.5f, 2.0f, -2.0f, 3.0f, -3.0f};
  enum { NB = 397, NE = 241, NS = sizeof special / sizeof *special };
  int64_t n = (int64_t)(NB + NS) * (NE + NS);
  float *b = malloc(sizeof(float) * (size_t)n), *e = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
  int64_t k = 0;
  for (int i = 0; i < NB + NS; i++)
    for (int j = 0; j < NE + NS; j++, k++) {
      b[k] = i < NB ? -100.0f + 200.0f * (float)i / (NB - 1) : special[i - NB];
      e[k] = j < NE ? -30.0f + 60.0f * (float)j / (NE - 1) : special[j - NE];
      if (j < NE && j % 3 == 0) e[k] = roundf(e[k]); /* integer exponents, where a negative base has a power */
    }
  test_graph t = tg_new();
  int in[2] = {tg_input(&t, VITC_F32, 1, &n), tg_input(&t, VITC_F32, 1, &n)};
  tg_output(&t, tg_node(&t, VITC_OP_Pow, in, 2, 1, NULL, 0));
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 2, &err);
  if (st) fprintf(stderr, "pow: %s\n", err.msg);
  CHECK(st == VITC_OK);
  if (!st) {
    memcpy(t.in[0].data, b, sizeof(float) * (size_t)n);
    memcpy(t.in[1].data, e, sizeof(float) * (size_t)n);
    void *outs[1] = {y};
    CHECK(tg_run(&t, outs) == 0);
    double max_ulp = 0;
    int64_t wrong_special = 0;
    for (int64_t i = 0; i < n; i++) {
      float want = powf(b[i], e[i]);
      double exact = pow(b[i], e[i]);
      if (isnan(want) || isinf(want) || fabsf(want) < FLT_MIN) {
        if (!(isnan(want) && isnan(y[i])) && !(want == y[i] && signbit(want) == signbit(y[i])) &&
            !(fabsf(want) < FLT_MIN && fabs(y[i] - exact) <= 1.5e-45)) {
          if (wrong_special < 10) printf("pow(%g, %g) = %g, want %g\n", b[i], e[i], y[i], want);
          wrong_special++;
        }
        continue;
      }
      double ulp = fabs(y[i] - exact) / (double)(nextafterf(fabsf(want), INFINITY) - fabsf(want));
      if (ulp > max_ulp) max_ulp = ulp;
    }
    printf("%-10s %lld points: max %.2f ulp, %lld wrong specials\n", "pow", (long long)n, max_ulp, (long long)wrong_special);
    CHECK(max_ulp <= 0.51);
    CHECK(wrong_special == 0);
  }
  measure_pow_f64(b, e, n);
  free(b);
  free(e);
  free(y);
  tg_free(&t);
}

static void measure_pow_f64(const float *bf, const float *ef, int64_t n) {
  double *b = malloc(sizeof(double) * (size_t)n), *e = malloc(sizeof(double) * (size_t)n),
         *y = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) b[i] = bf[i], e[i] = ef[i];
  test_graph t = tg_new();
  int in[2] = {tg_input(&t, VITC_F64, 1, &n), tg_input(&t, VITC_F64, 1, &n)};
  tg_output(&t, tg_node(&t, VITC_OP_Pow, in, 2, 1, NULL, 0));
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 2, &err);
  CHECK(st == VITC_OK);
  if (!st) {
    memcpy(t.in[0].data, b, sizeof(double) * (size_t)n);
    memcpy(t.in[1].data, e, sizeof(double) * (size_t)n);
    void *outs[1] = {y};
    CHECK(tg_run(&t, outs) == 0);
    double max_ulp = 0;
    int64_t wrong_special = 0, inexact_whole = 0;
    for (int64_t i = 0; i < n; i++) {
      double want = pow(b[i], e[i]);
      if (isnan(want) || isinf(want) || fabs(want) < DBL_MIN) {
        if (!(isnan(want) && isnan(y[i])) && !(want == y[i] && signbit(want) == signbit(y[i])) &&
            !(fabs(want) < DBL_MIN && fabs(y[i] - want) <= 5e-324)) {
          if (wrong_special < 10) printf("pow(%.17g, %.17g) = %.17g, want %.17g\n", b[i], e[i], y[i], want);
          wrong_special++;
        }
        continue;
      }
      /* an integer power that is a double exactly (3^20, 2^-30) must come out exact, as libm's */
      int exp2;
      bool power_of_two = frexp(fabs(b[i]), &exp2) == 0.5, whole = e[i] == nearbyint(e[i]);
      bool exact = whole && ((b[i] == nearbyint(b[i]) && e[i] >= 0 && fabs(want) < 0x1p53) || power_of_two);
      if (exact && y[i] != want) inexact_whole++;
      double ulp = fabs(y[i] - want) / (nextafter(fabs(want), INFINITY) - fabs(want));
      if (ulp > max_ulp) max_ulp = ulp;
    }
    printf("%-10s f64 %lld points: max %.2f ulp, %lld wrong specials, %lld inexact integers\n", "pow", (long long)n,
           max_ulp, (long long)wrong_special, (long long)inexact_whole);
    CHECK(max_ulp <= 1);
    CHECK(wrong_special == 0);
    CHECK(inexact_whole == 0);
  }
  free(b);
  free(e);
  free(y);
  tg_free(&t);
}

/* A function of float64 tensors (inline in double, vmath.c) against libm, in double ulps: n points evenly
 * over [lo, hi], then the special values, which must match libm exactly (NaN for NaN, ±inf, ±0 with its
 * sign, huge arguments). */
typedef struct vm_case_f64 {
  vitc_op op;
  double (*ref)(double);
  double lo, hi, max_ulp;
} vm_case_f64;

static const vm_case_f64 cases_f64[] = {
    {VITC_OP_Exp, exp, -745, 709.7, 1},       {VITC_OP_Log, log, 0, 1e300, 1},
    {VITC_OP_Sin, sin, -1.5e6, 1.5e6, 1},     {VITC_OP_Sin, sin, -7, 7, 1},
    {VITC_OP_Cos, cos, -1.5e6, 1.5e6, 1},     {VITC_OP_Cos, cos, -7, 7, 1},
    {VITC_OP_Tan, tan, -1.5e6, 1.5e6, 2.5},   {VITC_OP_Tan, tan, -7, 7, 2.5},
    {VITC_OP_Sin, sin, -1e9, 1e9, 1}, /* beyond ±1.5e6: libm's lanes */
    {VITC_OP_Asin, asin, -1, 1, 2},           {VITC_OP_Acos, acos, -1, 1, 2},
    {VITC_OP_Atan, atan, -1e6, 1e6, 1},       {VITC_OP_Atan, atan, -3, 3, 1},
    {VITC_OP_Sinh, sinh, -710, 710, 3},       {VITC_OP_Sinh, sinh, -2, 2, 3},
    {VITC_OP_Cosh, cosh, -710, 710, 3},       {VITC_OP_Cosh, cosh, -2, 2, 3},
    {VITC_OP_Tanh, tanh, -30, 30, 6},         {VITC_OP_Tanh, tanh, -1.5, 1.5, 6},
    {VITC_OP_Asinh, asinh, -1e300, 1e300, 2}, {VITC_OP_Asinh, asinh, -3, 3, 2},
    {VITC_OP_Acosh, acosh, 1, 1e300, 3},      {VITC_OP_Acosh, acosh, 1, 3, 3},
    {VITC_OP_Atanh, atanh, -1, 1, 2},         {VITC_OP_Erf, erf, -7, 7, 2},
    {VITC_OP_Erf, erf, -1.2, 1.2, 2},
};

static void measure_f64(const vm_case_f64 *c) {
  static const double specials[] = {0,      -0.0,    INFINITY, -INFINITY, NAN,   4.9e-324, -4.9e-324,
                                    1e-300, -1e-300, DBL_MAX,  -DBL_MAX,  1,     -1,       1e10,
                                    -1e10,  1e300,   -1e300,   1e-10,     -1e-10};
  enum { NS = sizeof specials / sizeof *specials };
  int64_t n = 200003 + NS;
  double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n - NS; i++) x[i] = c->lo + (c->hi - c->lo) * (double)i / (double)(n - NS - 1);
  memcpy(x + n - NS, specials, sizeof specials);
  test_graph t = tg_new();
  int in = tg_input(&t, VITC_F64, 1, &n);
  tg_output(&t, tg_node(&t, c->op, &in, 1, 1, NULL, 0));
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 2, &err);
  CHECK(st == VITC_OK);
  if (!st) {
    memcpy(t.in[0].data, x, sizeof(double) * (size_t)n);
    void *outs[1] = {y};
    CHECK(tg_run(&t, outs) == 0);
    double max_ulp = 0, at = 0;
    int64_t wrong_special = 0;
    for (int64_t i = 0; i < n; i++) {
      double want = c->ref(x[i]);
      bool special = i >= n - NS;
      if (special || isnan(want) || isinf(want) || fabs(want) < DBL_MIN) {
        bool same = (isnan(want) && isnan(y[i])) || (want == y[i] && signbit(want) == signbit(y[i]));
        bool close = isfinite(want) && fabs(want - y[i]) <= fmax(c->max_ulp * fabs(want) * DBL_EPSILON, 5e-324);
        if (!same && !close) {
          if (wrong_special < 5) printf("  %s(%.17g) = %.17g, libm %.17g\n", vitc_ops[c->op].name, x[i], y[i], want);
          wrong_special++;
        }
        continue;
      }
      double ulp = fabs(y[i] - want) / (nextafter(fabs(want), INFINITY) - fabs(want));
      if (ulp > max_ulp) max_ulp = ulp, at = x[i];
    }
    printf("%-10s f64 [%g, %g]: max %.2f ulp (x = %.17g), %lld wrong specials\n", vitc_ops[c->op].name, c->lo, c->hi,
           max_ulp, at, (long long)wrong_special);
    CHECK(max_ulp <= c->max_ulp);
    CHECK(wrong_special == 0);
  }
  free(x);
  free(y);
  tg_free(&t);
}

/* Mod {fmod} of float32 and float64 against libm's fmodf and fmod, which are exact: every result must be
 * libm's bit for bit (the sign of a zero included) — quotients small and huge (libm's lanes), divisors
 * that are powers of two or not, ±0, ±inf, NaN, subnormals. */
static void measure_fmod(vitc_dtype t) {
  static const double special[] = {0,    -0.0,  INFINITY, -INFINITY, NAN,       1,      -1,    3,   -7.5, 0.1,
                                   -0.3, 1e-40, 1e30,     -1e30,     6.0221e23, 1e-310, 1e300, 2.5, 0.7,  -1e-5};
  enum { NS = sizeof special / sizeof *special, NR = 201 };
  int64_t n = (NS + NR) * (NS + NR);
  double *a = malloc(sizeof(double) * (size_t)n), *b = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < NS + NR; i++)
    for (int64_t j = 0; j < NS + NR; j++) {
      a[i * (NS + NR) + j] = i < NS ? special[i] : (double)(i - NS - NR / 2) * 13.37 + 0.001 * (double)i;
      b[i * (NS + NR) + j] = j < NS ? special[j] : (double)(j - NS - NR / 2) * 0.173;
    }
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, t, 1, &n), tg_input(&g, t, 1, &n)};
  vitc_attr fmod_attr = {.name = "fmod", .type = VITC_ATTR_INT, .i = 1};
  tg_output(&g, tg_node(&g, VITC_OP_Mod, in, 2, 1, &fmod_attr, 1));
  vitc_error err = {0};
  vitc_status st = tg_compile(&g, 2, &err);
  CHECK(st == VITC_OK);
  if (!st) {
    for (int64_t i = 0; i < n; i++) vitc_store_f(&g.in[0], i, a[i]), vitc_store_f(&g.in[1], i, b[i]);
    vitc_value y = g.in[0];
    y.data = malloc(vitc_nbytes(&y));
    void *outs[1] = {y.data};
    CHECK(tg_run(&g, outs) == 0);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++) {
      double x0 = vitc_load_f(&g.in[0], i), x1 = vitc_load_f(&g.in[1], i), got = vitc_load_f(&y, i);
      double want = t == VITC_F32 ? fmodf((float)x0, (float)x1) : fmod(x0, x1);
      if (!(isnan(want) && isnan(got)) && !(want == got && signbit(want) == signbit(got))) {
        if (wrong < 5) printf("  fmod(%.17g, %.17g) = %.17g, libm %.17g\n", x0, x1, got, want);
        wrong++;
      }
    }
    printf("fmod %s: %lld points, %lld differ from libm\n", t == VITC_F32 ? "f32" : "f64", (long long)n,
           (long long)wrong);
    CHECK(wrong == 0);
    free(y.data);
  }
  free(a);
  free(b);
  tg_free(&g);
}

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) measure(&cases[i]);
  measure_pow();
  for (size_t i = 0; i < sizeof cases_f64 / sizeof *cases_f64; i++) measure_f64(&cases_f64[i]);
  measure_fmod(VITC_F32);
  measure_fmod(VITC_F64);
  CHECK_DONE();
}
