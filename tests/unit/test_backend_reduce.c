/* test_backend_reduce.c — the generated kernels of emit_reduce.c and emit_norm.c against the evaluator:
 * each case builds a one-node graph (x a graph input, the other inputs constants), compiles it through
 * passes, codegen and the ORC JIT (backend_harness.h), runs it on random data at 1 and 3 threads and
 * compares every output with vitc_eval_graph at rtol 1e-4. Sizes include odd rows (13, 197), rows of 1,
 * non-last axes, keepdims=0, other dtypes (scalar path) and tensors large enough for the parallel row
 * loop. */
#include <stdlib.h>

#include "backend_harness.h"
#include "check.h"

#define MAX_IN 5

/* A constant input: ints (axes) when ints is set; otherwise random floats in [lo, hi). */
typedef struct const_in {
  vitc_dtype dtype;
  int rank;
  int64_t dims[4];
  const int64_t *ints;
  double lo, hi;
} const_in;

typedef struct op_case {
  const char *label;
  vitc_op op;
  int opset;
  vitc_dtype dtype;
  int rank;
  int64_t dims[4];
  const_in extra[MAX_IN - 1];
  int nextra;
  vitc_attr attrs[4];
  int nattr;
  int nout;
} op_case;

static uint64_t rng = 0x9E3779B97F4A7C15u;
static double uniform(double lo, double hi) {
  rng = rng * 6364136223846793005u + 1442695040888963407u;
  return lo + (hi - lo) * (double)(rng >> 11) / 9007199254740992.0;
}

/* v's elements: random in [lo, hi), integers in [-4, 4] so that ties occur. */
static void fill(vitc_value *v, double lo, double hi) {
  for (int64_t i = 0; i < vitc_numel(v); i++) {
    if (vitc_dtype_is_float(v->dtype)) vitc_store_f(v, i, uniform(lo, hi));
    else vitc_store_i(v, i, (int64_t)uniform(-4, 5));
  }
}

static void check_case(const op_case *c) {
  test_graph t = tg_new();
  t.g->opset = c->opset;
  t.opt_level = 1;
  int in[MAX_IN];
  in[0] = tg_input(&t, c->dtype, c->rank, c->dims);
  for (int k = 0; k < c->nextra; k++) {
    const const_in *e = &c->extra[k];
    vitc_value v = {.dtype = e->dtype, .rank = e->rank, .data = (void *)e->ints};
    for (int d = 0; d < e->rank; d++) v.dims[d] = e->dims[d];
    if (!e->ints) {
      v.data = calloc(vitc_nbytes(&v) + 1, 1);
      fill(&v, e->lo, e->hi);
    }
    in[1 + k] = vitc_graph_add_constant(t.g, NULL, &v);
    if (!e->ints) free(v.data);
  }
  int out = tg_node(&t, c->op, in, 1 + c->nextra, c->nout, c->attrs, c->nattr);
  for (int k = 0; k < c->nout; k++) tg_output(&t, out + k);
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 1, &err);
  if (st) fprintf(stderr, "%s: %s\n", c->label, err.msg);
  CHECK(st == VITC_OK);
  if (!st) fill(&t.in[0], -3, 3);
  for (int threads = 1; !st && threads <= 3; threads += 2) {
    char what[96];
    snprintf(what, sizeof what, "%s at %d threads", c->label, threads);
    if (threads > 1) st = tg_set_threads(&t, threads, &err);
    CHECK(!st && tg_compare(&t, what, 1e-4, 1e-5) == 0);
  }
  tg_free(&t);
}

#define INT_LIST(...) \
  {VITC_I64, 1, {sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)}, (const int64_t[]){__VA_ARGS__}, 0, 0}
#define PARAM(lo, hi, ...) \
  {VITC_F32, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}, NULL, lo, hi}
#define INT(key, v) {.name = key, .type = VITC_ATTR_INT, .i = v}
#define FLOAT(key, v) {.name = key, .type = VITC_ATTR_FLOAT, .f = v}
#define INTS(key, ...) \
  {.name = key, .type = VITC_ATTR_INTS, .n = sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), \
   .ints = (int64_t[]){__VA_ARGS__}}

static const op_case cases[] = {
    /* Reduce*: the decomposed-LayerNorm mean (vector path, parallel), strided and scattered axes. */
    {"mean_last", VITC_OP_ReduceMean, 18, VITC_F32, 2, {197, 768}, {INT_LIST(-1)}, 1, {INT("keepdims", 1)}, 1, 1},
    {"mean_last_13", VITC_OP_ReduceMean, 18, VITC_F32, 3, {2, 5, 13}, {INT_LIST(2)}, 1, {INT("keepdims", 0)}, 1, 1},
    {"mean_channels", VITC_OP_ReduceMean, 18, VITC_F32, 4, {1, 24, 7, 7}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"sum_middle", VITC_OP_ReduceSum, 18, VITC_F32, 3, {3, 13, 5}, {INT_LIST(1)}, 1, {INT("keepdims", 0)}, 1, 1},
    {"max_scattered", VITC_OP_ReduceMax, 18, VITC_F32, 3, {4, 7, 9}, {INT_LIST(0, 2)}, 1, {{0}}, 0, 1},
    {"min_last", VITC_OP_ReduceMin, 18, VITC_F32, 2, {13, 37}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"prod", VITC_OP_ReduceProd, 18, VITC_F32, 2, {5, 6}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"l1", VITC_OP_ReduceL1, 18, VITC_F32, 3, {4, 1, 33}, {INT_LIST(0, 2)}, 1, {{0}}, 0, 1},
    {"l2", VITC_OP_ReduceL2, 18, VITC_F32, 2, {3, 50}, {INT_LIST(-1)}, 1, {{0}}, 0, 1},
    {"sum_square", VITC_OP_ReduceSumSquare, 18, VITC_F32, 2, {17, 3}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"log_sum", VITC_OP_ReduceLogSum, 18, VITC_F32, 2, {6, 20}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"log_sum_exp_all", VITC_OP_ReduceLogSumExp, 18, VITC_F32, 2, {7, 19}, {{0}}, 0, {INT("keepdims", 0)}, 1, 1},
    {"noop_empty_axes", VITC_OP_ReduceSum, 18, VITC_F32, 2, {3, 4}, {{0}}, 0, {INT("noop_with_empty_axes", 1)}, 1, 1},
    {"sum_i32", VITC_OP_ReduceSum, 18, VITC_I32, 2, {6, 5}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"max_i64", VITC_OP_ReduceMax, 18, VITC_I64, 2, {6, 5}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"mean_f16", VITC_OP_ReduceMean, 18, VITC_F16, 2, {4, 21}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    {"sum_f64", VITC_OP_ReduceSum, 18, VITC_F64, 2, {4, 21}, {INT_LIST(1)}, 1, {{0}}, 0, 1},
    /* ArgMax / ArgMin */
    {"argmax_mid", VITC_OP_ArgMax, 13, VITC_F32, 3, {5, 13, 3}, {{0}}, 0, {INT("axis", 1), INT("keepdims", 0)}, 2, 1},
    {"argmin_last_ties", VITC_OP_ArgMin, 13, VITC_I32, 2, {8, 9}, {{0}}, 0, {INT("axis", -1), INT("select_last_index", 1)}, 2, 1},
    {"argmax_ties", VITC_OP_ArgMax, 13, VITC_I64, 2, {8, 9}, {{0}}, 0, {INT("axis", 0)}, 1, 1},
    /* Softmax family: attention scores (vector path, parallel), strided axis, opset 11's 2-D view. */
    {"softmax_attention", VITC_OP_Softmax, 13, VITC_F32, 3, {12, 197, 197}, {{0}}, 0, {{0}}, 0, 1},
    {"softmax_13", VITC_OP_Softmax, 13, VITC_F32, 2, {3, 13}, {{0}}, 0, {{0}}, 0, 1},
    {"softmax_row_of_1", VITC_OP_Softmax, 13, VITC_F32, 2, {4, 1}, {{0}}, 0, {{0}}, 0, 1},
    {"softmax_axis1", VITC_OP_Softmax, 13, VITC_F32, 3, {3, 13, 4}, {{0}}, 0, {INT("axis", 1)}, 1, 1},
    /* columns as vector lanes: CaiT's heads last (4 rows a step), 3 rows of 5, 1 of 16; 17 columns and
     * LogSoftmax step over them one element at a time */
    {"softmax_heads_last", VITC_OP_Softmax, 13, VITC_F32, 4, {2, 64, 64, 4}, {{0}}, 0, {INT("axis", 2)}, 1, 1},
    {"softmax_columns_5", VITC_OP_Softmax, 13, VITC_F32, 3, {3, 6, 5}, {{0}}, 0, {INT("axis", 1)}, 1, 1},
    {"softmax_columns_16", VITC_OP_Softmax, 13, VITC_F32, 3, {2, 9, 16}, {{0}}, 0, {INT("axis", 1)}, 1, 1},
    {"softmax_columns_17", VITC_OP_Softmax, 13, VITC_F32, 3, {2, 9, 17}, {{0}}, 0, {INT("axis", 1)}, 1, 1},
    {"log_softmax_axis1", VITC_OP_LogSoftmax, 13, VITC_F32, 3, {3, 10, 4}, {{0}}, 0, {INT("axis", 1)}, 1, 1},
    {"softmax_opset11", VITC_OP_Softmax, 11, VITC_F32, 3, {2, 3, 5}, {{0}}, 0, {{0}}, 0, 1},
    {"softmax_f64", VITC_OP_Softmax, 13, VITC_F64, 2, {3, 7}, {{0}}, 0, {{0}}, 0, 1},
    {"log_softmax", VITC_OP_LogSoftmax, 13, VITC_F32, 2, {5, 197}, {{0}}, 0, {{0}}, 0, 1},
    {"log_softmax_axis0", VITC_OP_LogSoftmax, 13, VITC_F32, 2, {6, 5}, {{0}}, 0, {INT("axis", 0)}, 1, 1},
    {"hardmax", VITC_OP_Hardmax, 13, VITC_F32, 2, {5, 13}, {{0}}, 0, {{0}}, 0, 1},
    /* TopK: k of 13 along the last axis and along a middle one; integer ties keep index order. */
    {"topk_last", VITC_OP_TopK, 11, VITC_F32, 2, {6, 13}, {INT_LIST(4)}, 1, {{0}}, 0, 2},
    {"topk_mid_smallest", VITC_OP_TopK, 11, VITC_F32, 3, {2, 9, 3}, {INT_LIST(9)}, 1,
     {INT("axis", 1), INT("largest", 0)}, 2, 2},
    {"topk_i32_ties", VITC_OP_TopK, 11, VITC_I32, 2, {5, 20}, {INT_LIST(7)}, 1, {{0}}, 0, 2},
    {"topk_k0", VITC_OP_TopK, 11, VITC_F32, 2, {3, 5}, {INT_LIST(0)}, 1, {{0}}, 0, 2},
    /* CumSum */
    {"cumsum_rev_excl", VITC_OP_CumSum, 14, VITC_F32, 2, {4, 13}, {INT_LIST(1)}, 1,
     {INT("exclusive", 1), INT("reverse", 1)}, 2, 1},
    {"cumsum_i64_axis0", VITC_OP_CumSum, 14, VITC_I64, 2, {5, 3}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    /* Normalisations */
    {"layernorm_vit", VITC_OP_LayerNormalization, 17, VITC_F32, 2, {197, 768},
     {PARAM(0.5, 1.5, 768), PARAM(-1, 1, 768)}, 2, {FLOAT("epsilon", 1e-6)}, 1, 3},
    {"layernorm_axis1", VITC_OP_LayerNormalization, 17, VITC_F32, 3, {3, 4, 5}, {PARAM(0.5, 1.5, 4, 5)}, 1,
     {INT("axis", 1)}, 1, 1},
    {"layernorm_bcast", VITC_OP_LayerNormalization, 17, VITC_F32, 3, {2, 4, 5}, {PARAM(0.5, 1.5, 5), PARAM(-1, 1, 1)},
     2, {INT("axis", 1)}, 1, 2},
    {"layernorm_f64", VITC_OP_LayerNormalization, 17, VITC_F64, 2, {3, 13},
     {{VITC_F64, 1, {13}, NULL, 0.5, 1.5}}, 1, {{0}}, 0, 1},
    {"batchnorm", VITC_OP_BatchNormalization, 15, VITC_F32, 4, {2, 3, 7, 5},
     {PARAM(0.5, 1.5, 3), PARAM(-1, 1, 3), PARAM(-1, 1, 3), PARAM(0.5, 2, 3)}, 4, {{0}}, 0, 1},
    {"batchnorm_2d", VITC_OP_BatchNormalization, 15, VITC_F32, 2, {4, 3},
     {PARAM(0.5, 1.5, 3), PARAM(-1, 1, 3), PARAM(-1, 1, 3), PARAM(0.5, 2, 3)}, 4, {{0}}, 0, 1},
    {"instancenorm", VITC_OP_InstanceNormalization, 17, VITC_F32, 3, {2, 3, 13},
     {PARAM(0.5, 1.5, 3), PARAM(-1, 1, 3)}, 2, {{0}}, 0, 1},
    {"groupnorm_18", VITC_OP_GroupNormalization, 18, VITC_F32, 4, {2, 4, 3, 3},
     {PARAM(0.5, 1.5, 2), PARAM(-1, 1, 2)}, 2, {INT("num_groups", 2)}, 1, 1},
    {"groupnorm_21", VITC_OP_GroupNormalization, 21, VITC_F32, 4, {2, 4, 3, 3},
     {PARAM(0.5, 1.5, 4), PARAM(-1, 1, 4)}, 2, {INT("num_groups", 2)}, 1, 1},
    {"lpnorm_1_axis0", VITC_OP_LpNormalization, 17, VITC_F32, 2, {5, 7}, {{0}}, 0, {INT("p", 1), INT("axis", 0)}, 2, 1},
    {"lpnorm_2", VITC_OP_LpNormalization, 17, VITC_F32, 2, {3, 197}, {{0}}, 0, {{0}}, 0, 1},
    {"mvn_default", VITC_OP_MeanVarianceNormalization, 13, VITC_F32, 4, {2, 3, 4, 5}, {{0}}, 0, {{0}}, 0, 1},
    {"mvn_axis1", VITC_OP_MeanVarianceNormalization, 13, VITC_F32, 3, {2, 3, 4}, {{0}}, 0, {INTS("axes", 1)}, 1, 1},
    {"softmax_rows_37", VITC_OP_Softmax, 13, VITC_F32, 2, {2000, 37}, {{0}}, 0, {{0}}, 0, 1},
    {"log_softmax_rows_37", VITC_OP_LogSoftmax, 13, VITC_F32, 2, {2000, 37}, {{0}}, 0, {{0}}, 0, 1},
    /* the innermost axis kept: rows side by side as vector lanes, runs of 37 and 40 with a masked tail */
    {"mean_nhwc_hw", VITC_OP_ReduceMean, 18, VITC_F32, 4, {2, 7, 9, 37}, {INT_LIST(1, 2)}, 1, {INT("keepdims", 1)}, 1, 1},
    {"mean_nhwc_large", VITC_OP_ReduceMean, 18, VITC_F32, 4, {1, 56, 56, 40}, {INT_LIST(1, 2)}, 1, {{0}}, 0, 1},
    {"max_axis0", VITC_OP_ReduceMax, 18, VITC_F32, 2, {13, 50}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"l2_middle", VITC_OP_ReduceL2, 18, VITC_F32, 3, {3, 11, 20}, {INT_LIST(1)}, 1, {INT("keepdims", 0)}, 1, 1},
    {"l1_outer", VITC_OP_ReduceL1, 18, VITC_F32, 3, {5, 4, 32}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"logsum_outer", VITC_OP_ReduceLogSum, 18, VITC_F32, 2, {6, 19}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"prod_outer", VITC_OP_ReduceProd, 18, VITC_F32, 2, {4, 17}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"lse_outer", VITC_OP_ReduceLogSumExp, 18, VITC_F32, 2, {4, 17}, {INT_LIST(0)}, 1, {{0}}, 0, 1},
    {"mean_rows_37", VITC_OP_ReduceMean, 18, VITC_F32, 2, {2000, 37}, {INT_LIST(-1)}, 1, {INT("keepdims", 1)}, 1, 1},
    {"layernorm_rows_37", VITC_OP_LayerNormalization, 17, VITC_F32, 2, {2000, 37},
     {PARAM(0.5, 1.5, 37), PARAM(-1, 1, 37)}, 2, {{0}}, 0, 1}, /* vectors and a tail, rows across threads */
    /* rows normalised two at a time (emit_layer_norm_group: 150 floats, 2 per group), 9 vectors and a tail */
    {"layernorm_pairs_150", VITC_OP_LayerNormalization, 17, VITC_F32, 2, {1002, 150},
     {PARAM(0.5, 1.5, 150), PARAM(-1, 1, 150)}, 2, {FLOAT("epsilon", 1e-6)}, 1, 1},
};

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
  CHECK_DONE();
}
