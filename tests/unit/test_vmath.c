/* test_vmath.c — the maximum error of vmath.h's inline functions against libm in double, measured through
 * the generated elementwise kernels (float32 vector rows): every 97th float bit pattern of each function's
 * range, both signs, plus the special values. The bounds asserted here are the ones written at each
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

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) measure(&cases[i]);
  CHECK_DONE();
}
