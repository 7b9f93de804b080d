/* test_backend_reduce.c — the generated kernels of emit_reduce.c and emit_norm.c against the evaluator:
 * each case builds a one-node graph (x a graph input, the other inputs constants), compiles it through
 * passes, codegen and the ORC JIT, runs it on random data and compares every output with
 * vitc_eval_graph at rtol 1e-4. Sizes include odd rows (13, 197), rows of 1, non-last axes, keepdims=0,
 * other dtypes (scalar path) and tensors large enough for the parallel row loop. */
#include <stdlib.h>

#include "backend/backend.h"
#include "check.h"
#include "passes/passes.h"
#include "runtime/vitc_rt.h"

#define MAX_IN 5
#define MAX_OUT 3

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

/* Random values of v's type; integers in [-4, 4] so that ties occur. */
static void fill_random(vitc_value *v, double lo, double hi) {
  v->data = calloc(vitc_nbytes(v) + 1, 1);
  for (int64_t i = 0; i < vitc_numel(v); i++) {
    if (vitc_dtype_is_float(v->dtype)) vitc_store_f(v, i, uniform(lo, hi));
    else vitc_store_i(v, i, (int64_t)uniform(-4, 5));
  }
}

static bool close_enough(double got, double want) {
  if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= 1e-5 + 1e-4 * fabs(want);
}

static void check_case(const op_case *c) {
  vitc_error err = {0};
  vitc_graph *g = vitc_graph_new("test.onnx");
  g->opset = c->opset;
  vitc_value x = {.dtype = c->dtype, .rank = c->rank};
  for (int d = 0; d < c->rank; d++) x.dims[d] = c->dims[d];
  fill_random(&x, -3, 3);
  int in[MAX_IN], out[MAX_OUT];
  in[0] = vitc_graph_add_tensor(g, "x");
  g->tensors[in[0]].v = x;
  g->tensors[in[0]].v.data = NULL;
  g->tensors[in[0]].shape_known = true;
  for (int k = 0; k < c->nextra; k++) {
    const const_in *e = &c->extra[k];
    vitc_value v = {.dtype = e->dtype, .rank = e->rank};
    for (int d = 0; d < e->rank; d++) v.dims[d] = e->dims[d];
    if (e->ints) v.data = (void *)e->ints;
    else fill_random(&v, e->lo, e->hi);
    in[1 + k] = vitc_graph_add_constant(g, NULL, &v);
    if (!e->ints) free(v.data);
  }
  for (int k = 0; k < c->nout; k++) out[k] = vitc_graph_add_tensor(g, NULL);
  vitc_graph_add_node(g, c->op, c->label, in, 1 + c->nextra, out, c->nout, c->attrs, c->nattr);
  g->inputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->inputs[0] = in[0];
  g->ninputs = 1;
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * MAX_OUT);
  for (int k = 0; k < c->nout; k++) g->outputs[k] = out[k];
  g->noutputs = c->nout;

  vitc_pass_options po = {.opt_level = 1, .verify_each = true};
  vitc_value want[MAX_OUT] = {{0}};
  LLVMTargetMachineRef tm = NULL;
  vitc_module *m = NULL;
  vitc_jit *j = NULL;
  vitc_rt_ctx *ctx = NULL;
  void *got[MAX_OUT] = {NULL};
  vitc_status st = vitc_run_passes(g, &po, &err);
  if (!st) st = vitc_eval_graph(g, &x, want, &err);
  vitc_target_options to = {.opt_level = 2};
  if (!st) st = vitc_target_machine(&to, &tm, &err);
  if (!st) st = vitc_codegen(g, "t", tm, 2, false, &m, &err);
  if (!st) st = vitc_jit_compile(m, tm, &j, &err);
  else if (tm) LLVMDisposeTargetMachine(tm);
  if (st) {
    check_failed++;
    fprintf(stderr, "%s: %s\n", c->label, err.msg);
  } else {
    for (int k = 0; k < c->nout; k++) got[k] = calloc(vitc_nbytes(&g->tensors[out[k]].v) + 1, 1);
    for (int threads = 1; threads <= 3; threads += 2) { /* the serial loop and uneven task splits */
      ctx = vitc_rt_ctx_new(m->scratch_size, m->weights, threads);
      for (int k = 0; k < c->nout; k++) memset(got[k], 0, vitc_nbytes(&g->tensors[out[k]].v));
      void *inputs[1] = {x.data};
      CHECK(vitc_ffi_call_run(vitc_jit_lookup(j, "t_run"), ctx, inputs, 1, got, c->nout) == 0);
      vitc_rt_ctx_free(ctx);
      ctx = NULL;
      for (int k = 0; k < c->nout; k++) {
        vitc_value gv = want[k];
        gv.data = got[k];
        int64_t bad = 0, first = -1;
        for (int64_t i = 0; i < vitc_numel(&gv); i++)
          if (!close_enough(vitc_load_f(&gv, i), vitc_load_f(&want[k], i)) && !bad++) first = i;
        if (bad) {
          check_failed++;
          fprintf(stderr, "%s, %d threads: output %d: %lld of %lld differ, first [%lld] %.9g, expected %.9g\n",
                  c->label, threads, k, (long long)bad, (long long)vitc_numel(&gv), (long long)first,
                  vitc_load_f(&gv, first), vitc_load_f(&want[k], first));
        } else {
          check_passed++;
        }
      }
    }
  }
  for (int k = 0; k < MAX_OUT; k++) {
    free(got[k]);
    free(want[k].data);
  }
  vitc_rt_ctx_free(ctx);
  vitc_jit_free(j);
  vitc_module_free(m);
  vitc_graph_free(g);
  free(x.data);
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
    {"softmax_rows_37", VITC_OP_Softmax, 13, VITC_F32, 2, {2000, 37}, {{0}}, 0, {{0}}, 0, 1},
    {"log_softmax_rows_37", VITC_OP_LogSoftmax, 13, VITC_F32, 2, {2000, 37}, {{0}}, 0, {{0}}, 0, 1},
    {"mean_rows_37", VITC_OP_ReduceMean, 18, VITC_F32, 2, {2000, 37}, {INT_LIST(-1)}, 1, {INT("keepdims", 1)}, 1, 1},
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
    {"layernorm_rows_37", VITC_OP_LayerNormalization, 17, VITC_F32, 2, {2000, 37},
     {PARAM(0.5, 1.5, 37), PARAM(-1, 1, 37)}, 2, {{0}}, 0, 1}, /* vectors and a tail, rows across threads */
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
};

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
  CHECK_DONE();
}
