/* test_fusion_rms_norm.c — recompose_rms_norm on tiny graphs: RMSNorm as exporters write it
 * (x / sqrt(mean(x², last axis) + eps) · w) in each spelling, and near misses that must stay. Each case
 * checks the histogram, the evaluator before/after the pass and the JIT of the whole pipeline
 * (fusion_harness.h).
 *
 * Rows of 37 and 8 elements (longer and shorter than a vector). */
#include "fusion_harness.h"

enum {
  RMS_POW_DIV,   /* Pow(x, 2), axes [-1], Add(v, eps), Div(x, s), Mul(n, w[37]) */
  RMS_MUL_RCP,   /* Mul(x, x), axes [2], Add(eps, v), Mul(Reciprocal(s), x), Mul(w[1, 1, 37], n) */
  RMS_NO_WEIGHT, /* x [3, 8], no weight */
  RMS_ONE_WEIGHT,/* w [1]: one value for the whole row */
  MISS_AXIS,     /* the mean over axis 1, not the last */
  MISS_EPS,      /* Sqrt(v) + eps instead of Sqrt(v + eps) */
  LAYER_NORM,    /* x - mean(x) normalised: a LayerNorm, which recompose_layer_norm takes first */
};

static int scalar(test_graph *t, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int axes(test_graph *t, int64_t axis) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {1}, .data = &axis};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static void build(test_graph *t, int variant) {
  const int64_t x3[] = {2, 5, 37}, x2[] = {3, 8}, w1[] = {37}, w3[] = {1, 1, 37}, one[] = {1};
  bool small = variant == RMS_NO_WEIGHT;
  int x = tg_input(t, VITC_F32, small ? 2 : 3, small ? x2 : x3);
  if (variant == LAYER_NORM) {
    int m = tg_node(t, VITC_OP_ReduceMean, (int[]){x, axes(t, -1)}, 2, 1, NULL, 0);
    x = fh_op(t, VITC_OP_Sub, x, m);
  }
  bool mul = variant == RMS_MUL_RCP;
  int q = mul ? fh_op(t, VITC_OP_Mul, x, x) : fh_op(t, VITC_OP_Pow, x, scalar(t, 2));
  int64_t axis = variant == MISS_AXIS ? 1 : mul ? 2 : -1;
  int v = tg_node(t, VITC_OP_ReduceMean, (int[]){q, axes(t, axis)}, 2, 1, NULL, 0), s;
  if (variant == MISS_EPS) s = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Sqrt, v, -1), scalar(t, 1e-6f));
  else s = fh_op(t, VITC_OP_Sqrt, mul ? fh_op(t, VITC_OP_Add, scalar(t, 1e-6f), v) : fh_op(t, VITC_OP_Add, v, scalar(t, 1e-6f)), -1);
  int n = mul ? fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Reciprocal, s, -1), x) : fh_op(t, VITC_OP_Div, x, s);
  if (mul) n = fh_op(t, VITC_OP_Mul, tg_const(t, VITC_F32, 3, w3, 5), n);
  else if (variant == RMS_ONE_WEIGHT) n = fh_op(t, VITC_OP_Mul, n, tg_const(t, VITC_F32, 1, one, 5));
  else if (!small) n = fh_op(t, VITC_OP_Mul, n, tg_const(t, VITC_F32, 1, w1, 5));
  tg_output(t, n);
}

static void test_fuses(void) {
  static const char *what[] = {"pow, div", "mul, reciprocal", "no weight", "one weight"};
  const fh_count want[] = {{VITC_OP_RMSNorm, 1}, {VITC_OP_ReduceMean, 0}, {VITC_OP_Sqrt, 0}, {VITC_OP_Mul, 0}};
  for (int variant = RMS_POW_DIV; variant <= RMS_ONE_WEIGHT; variant++) {
    vitc_graph *g = fh_check(what[variant], build, variant, vitc_recompose_rms_norm, want, 4);
    const vitc_node *n = fh_find_op(g, VITC_OP_RMSNorm);
    CHECK(n != NULL);
    if (n) {
      CHECK_NEAR(vitc_attr_float(n, "epsilon", 0), 1e-6, 1e-12);
      CHECK(n->nin == (variant == RMS_NO_WEIGHT ? 1 : 2));
    }
    vitc_graph_free(g);
  }
}

static void test_near_misses(void) {
  const fh_count untouched[] = {{VITC_OP_RMSNorm, 0}, {VITC_OP_ReduceMean, 1}, {VITC_OP_Sqrt, 1}};
  vitc_graph_free(fh_check("middle axis", build, MISS_AXIS, vitc_recompose_rms_norm, untouched, 3));
  vitc_graph_free(fh_check("eps after sqrt", build, MISS_EPS, vitc_recompose_rms_norm, untouched, 3));
}

/* The two passes in pipeline order. */
static vitc_status layer_norm_then_rms(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_recompose_layer_norm(g, err);
  return st == VITC_OK ? vitc_recompose_rms_norm(g, err) : st;
}

static void test_layer_norm_stays(void) {
  const fh_count want[] = {{VITC_OP_LayerNormalization, 1}, {VITC_OP_RMSNorm, 0}, {VITC_OP_ReduceMean, 0}};
  vitc_graph_free(fh_check("layer norm", build, LAYER_NORM, layer_norm_then_rms, want, 3));
}

/* The pass runs right after recompose_layer_norm in the pipeline. */
static void test_pipeline_order(void) {
  int count, ln = -1, rms = -1;
  const vitc_pass *p = vitc_pipeline(&count);
  for (int i = 0; i < count; i++) {
    if (p[i].run == vitc_recompose_layer_norm) ln = i;
    if (p[i].run == vitc_recompose_rms_norm) rms = i;
  }
  CHECK(ln >= 0 && rms == ln + 1);
}

int main(void) {
  test_fuses();
  test_near_misses();
  test_layer_norm_stays();
  test_pipeline_order();
  CHECK_DONE();
}
