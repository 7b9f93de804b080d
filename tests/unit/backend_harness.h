/* backend_harness.h — builds small graphs in a test, compiles them through the LLVM backend (passes,
 * codegen, ORC JIT) and checks the generated code against the reference evaluator. Used by the backend
 * unit tests and by bench/jit_gemm.c. */
#ifndef VITC_TEST_BACKEND_HARNESS_H
#define VITC_TEST_BACKEND_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "check.h"
#include "passes/passes.h"
#include "runtime/vitc_rt.h"

#define TG_MAX_IO 8

typedef struct test_graph {
  vitc_graph *g;
  vitc_module *module;
  vitc_jit *jit;
  void *run;
  vitc_rt_ctx *ctx;
  vitc_value in[TG_MAX_IO]; /* random inputs, owned */
  int opt_level;            /* of the pass pipeline (vitc_pass_options); 2 unless a test sets it */
  int compile_threads;      /* > 0: compiled as the JIT compiles (vitc_jit_compile_parallel) on these threads;
                             * 0: as one module at O3 (vitc_codegen, vitc_jit_compile) */
  const char *cpu;          /* tg_compile's target: this machine (NULL), or this CPU with its own features */
} test_graph;

static inline test_graph tg_new(void) {
  test_graph t = {.g = vitc_graph_new("test.onnx"), .opt_level = 2};
  t.g->opset = 17;
  t.g->inputs = vitc_arena_alloc(t.g->arena, sizeof(int) * TG_MAX_IO);
  t.g->outputs = vitc_arena_alloc(t.g->arena, sizeof(int) * TG_MAX_IO);
  return t;
}

/* A graph input of the given type and shape. */
static inline int tg_input(test_graph *t, vitc_dtype dtype, int rank, const int64_t *dims) {
  int id = vitc_graph_add_tensor(t->g, NULL);
  vitc_tensor *tt = &t->g->tensors[id];
  tt->v.dtype = dtype;
  tt->v.rank = rank;
  if (rank) memcpy(tt->v.dims, dims, sizeof(int64_t) * (size_t)rank); /* a scalar may come with dims NULL */
  tt->shape_known = true;
  t->g->inputs[t->g->ninputs++] = id;
  return id;
}

/* Uniform values in [-1, 1) (integers in [-4, 4)) from a fixed LCG, so failures reproduce. */
static inline void tg_fill(vitc_value *v, unsigned *seed) {
  for (int64_t i = 0; i < vitc_numel(v); i++) {
    *seed = *seed * 1664525u + 1013904223u;
    double x = (double)(*seed >> 8) / (double)(1u << 24) * 2 - 1;
    if (vitc_dtype_is_float(v->dtype)) vitc_store_f(v, i, x);
    else vitc_store_i(v, i, (int64_t)floor(x * 4));
  }
}

/* perm[0..n) a permutation drawn from the same LCG (Fisher–Yates): token orders for row maps. */
static inline void tg_permutation(int64_t *perm, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    seed = seed * 1664525u + 1013904223u;
    int64_t j = (int64_t)(seed >> 8) % (i + 1), x = perm[i];
    perm[i] = perm[j];
    perm[j] = x;
  }
}

/* A constant of random values. */
static inline int tg_const(test_graph *t, vitc_dtype dtype, int rank, const int64_t *dims, unsigned seed) {
  vitc_value v = {.dtype = dtype, .rank = rank};
  if (rank) memcpy(v.dims, dims, sizeof(int64_t) * (size_t)rank);
  v.data = malloc(vitc_nbytes(&v) + 1);
  tg_fill(&v, &seed);
  int id = vitc_graph_add_constant(t->g, NULL, &v);
  free(v.data);
  return id;
}

/* A node with fresh output tensors; returns the first output's id. */
static inline int tg_node(test_graph *t, vitc_op op, const int *in, int nin, int nout, const vitc_attr *attrs,
                          int nattr) {
  int out[4];
  for (int k = 0; k < nout; k++) out[k] = vitc_graph_add_tensor(t->g, NULL);
  vitc_graph_add_node(t->g, op, NULL, in, nin, out, nout, attrs, nattr);
  return out[0];
}

static inline void tg_output(test_graph *t, int id) { t->g->outputs[t->g->noutputs++] = id; }

/* x's values unchanged (ReduceMax over a new leading axis of 1, keepdims 0) through an op that is neither
 * element-wise nor movement: a bf16 product beside it, which would keep float32 were it on a graph input or
 * computing an output (ir/precision.c), stays bf16, and reads the same bits in kernel and evaluator. */
static inline int tg_same_values(test_graph *t, int x) {
  vitc_value axis0 = {.dtype = VITC_I64, .rank = 1, .dims = {1}, .data = (int64_t[]){0}};
  int axis = vitc_graph_add_constant(t->g, NULL, &axis0);
  vitc_attr drop = {.name = "keepdims", .type = VITC_ATTR_INT, .i = 0};
  int wide = tg_node(t, VITC_OP_Unsqueeze, (int[]){x, axis}, 2, 1, NULL, 0);
  return tg_node(t, VITC_OP_ReduceMax, (int[]){wide, axis}, 2, 1, &drop, 1);
}

/* Shape inference and the pipeline at t->opt_level, codegen for the target `to` (the host's features unless
 * it names others), JIT, a context of nthreads. */
static inline vitc_status tg_compile_for(test_graph *t, const vitc_target_options *to, int nthreads, vitc_error *err) {
  vitc_pass_options po = {.opt_level = t->opt_level, .verify_each = true};
  vitc_status st = vitc_run_passes(t->g, &po, err);
  LLVMTargetMachineRef tm = NULL;
  if (!st) st = vitc_target_machine(to, &tm, err);
  vitc_target_options parallel = *to;
  parallel.compile_threads = t->compile_threads;
  if (!st && t->compile_threads) st = vitc_codegen_ir(t->g, "tg", tm, &parallel, false, &t->module, err);
  else if (!st) st = vitc_codegen(t->g, "tg", tm, 3, false, &t->module, err);
  if (!st && t->compile_threads) {
    vitc_objects objects = {0};
    st = vitc_jit_compile_parallel(t->module, &parallel, tm, &objects, &t->jit, err);
    vitc_objects_free(&objects);
  } else if (!st)
    st = vitc_jit_compile(t->module, tm, &t->jit, err);
  else if (tm) LLVMDisposeTargetMachine(tm);
  if (!st && !(t->run = vitc_jit_lookup(t->jit, "tg_run")))
    st = vitc_fail(err, VITC_ERR_INTERNAL, "no tg_run in the compiled module");
  if (!st && !(t->ctx = vitc_rt_ctx_new(t->module->scratch_size, t->module->weights, nthreads)))
    st = vitc_fail(err, VITC_ERR_NOMEM, "no context");
  unsigned seed = 12345;
  for (int i = 0; !st && i < t->g->ninputs; i++) {
    t->in[i] = t->g->tensors[t->g->inputs[i]].v;
    t->in[i].data = malloc(vitc_nbytes(&t->in[i]) + 1);
    tg_fill(&t->in[i], &seed);
  }
  return st;
}

/* tg_compile_for on this machine, as it is, or for t->cpu. */
static inline vitc_status tg_compile(test_graph *t, int nthreads, vitc_error *err) {
  vitc_target_options to = {.cpu = t->cpu, .opt_level = 3};
  return tg_compile_for(t, &to, nthreads, err);
}

/* Replaces the compiled graph's context by one of nthreads. */
static inline vitc_status tg_set_threads(test_graph *t, int nthreads, vitc_error *err) {
  vitc_rt_ctx_free(t->ctx);
  t->ctx = vitc_rt_ctx_new(t->module->scratch_size, t->module->weights, nthreads);
  return t->ctx ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "no context");
}

/* Runs the compiled graph on t->in into outs[k] (caller-allocated). */
static inline int tg_run(test_graph *t, void *const *outs) {
  void *ins[TG_MAX_IO];
  for (int i = 0; i < t->g->ninputs; i++) ins[i] = t->in[i].data;
  return vitc_ffi_call_run(t->run, t->ctx, ins, t->g->ninputs, outs, t->g->noutputs);
}

/* Compiled vs evaluated, element by element: |got - want| <= atol + rtol |want|. Returns the number of
 * mismatching elements (-1 when something failed to run) and prints the first few. */
static inline int64_t tg_compare(test_graph *t, const char *what, double rtol, double atol) {
  vitc_value ref[TG_MAX_IO];
  void *outs[TG_MAX_IO];
  vitc_error err = {0};
  if (vitc_eval_graph(t->g, t->in, ref, &err)) {
    fprintf(stderr, "%s: evaluator: %s\n", what, err.msg);
    return -1;
  }
  for (int k = 0; k < t->g->noutputs; k++) outs[k] = calloc(1, vitc_nbytes(&ref[k]) + 1);
  int64_t bad = tg_run(t, outs) ? -1 : 0;
  for (int k = 0; k < t->g->noutputs && bad >= 0; k++) {
    vitc_value got = ref[k];
    got.data = outs[k];
    for (int64_t i = 0; i < vitc_numel(&ref[k]); i++) {
      double a = vitc_load_f(&got, i), b = vitc_load_f(&ref[k], i);
      if (a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= atol + rtol * fabs(b)) continue; /* a == b: infinities */
      if (bad++ < 5) fprintf(stderr, "%s: output %d [%lld] = %.9g, expected %.9g\n", what, k, (long long)i, a, b);
    }
  }
  for (int k = 0; k < t->g->noutputs; k++) {
    free(ref[k].data);
    free(outs[k]);
  }
  return bad;
}

static inline void tg_free(test_graph *t) {
  for (int i = 0; i < t->g->ninputs; i++) free(t->in[i].data);
  vitc_rt_ctx_free(t->ctx);
  vitc_jit_free(t->jit);
  vitc_module_free(t->module);
  vitc_graph_free(t->g);
}

/* Compiles t with nthreads and checks it against the evaluator at rtol/atol (one CHECK each); whether it
 * compiled. */
static inline bool tg_compile_and_compare(test_graph *t, const char *what, int nthreads, double rtol, double atol) {
  vitc_error err = {0};
  vitc_status st = tg_compile(t, nthreads, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (st) return false;
  int64_t bad = tg_compare(t, what, rtol, atol);
  if (bad) fprintf(stderr, "%s: %lld mismatches\n", what, (long long)bad);
  CHECK(bad == 0);
  return true;
}

/* tg_compile_and_compare, then frees t. */
static inline void tg_check(test_graph *t, const char *what, int nthreads, double rtol, double atol) {
  tg_compile_and_compare(t, what, nthreads, rtol, atol);
  tg_free(t);
}

/* bfloat16 products (vitc_bf16_product): t compiled in BF16 precision matches the evaluator rounding the
 * same operands at rtol/atol, and does not match the float32 evaluator (the kernel really rounds; a kernel
 * or evaluator ignoring the precision fails one of the two). Frees t. */
static inline void tg_check_bf16(test_graph *t, const char *what, int nthreads, double rtol, double atol) {
  t->g->precision = VITC_PRECISION_BF16;
  if (tg_compile_and_compare(t, what, nthreads, rtol, atol)) {
    t->g->precision = VITC_PRECISION_FP32;
    fprintf(stderr, "%s: against float32 (mismatches expected):\n", what);
    CHECK(tg_compare(t, what, rtol, atol) > 0);
  }
  tg_free(t);
}

#endif
