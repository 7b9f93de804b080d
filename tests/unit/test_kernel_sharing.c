/* test_kernel_sharing.c — nodes whose kernels are the same code share one compiled function
 * (backend/codegen.c), each still with its own constants, and compilation stays linear in the graph's
 * size: a long chain compiles (ctest's timeout is the bound) and matches the evaluator. The JIT's
 * compilation on several threads gives the same results on any number of them.
 *
 * usage: test_kernel_sharing [CHAIN_LENGTH]   (default 20000; a larger one measures scaling) */
#include <time.h>

#include "backend_harness.h"
#include "check.h"

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Compiles t and compares it with the evaluator (at 1 and 3 threads); returns the kernel count. */
static int compile_and_compare(test_graph *t, const char *what, int nthreads) {
  vitc_error err = {0};
  vitc_status st = tg_compile(t, nthreads, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (st) return -1;
  int64_t bad = tg_compare(t, what, 1e-4, 1e-5);
  CHECK(bad == 0);
  return t->module->nkernels;
}

/* Four equal blocks x = relu(x W_i + b_i), each with other weights: one GEMM kernel serves all four,
 * and each block must still read its own W_i and b_i. A fifth block of another width is another kernel;
 * Add of constants of the same shape but other values must not be confused either. */
static void test_blocks_share_kernels(int nthreads) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(5, 24));
  for (int i = 0; i < 4; i++) {
    int mm[2] = {x, tg_const(&t, VITC_F32, DIMS(24, 24), 100 + (unsigned)i)};
    int add[2] = {tg_node(&t, VITC_OP_MatMul, mm, 2, 1, NULL, 0), tg_const(&t, VITC_F32, DIMS(24), 200 + (unsigned)i)};
    x = tg_node(&t, VITC_OP_Relu, (int[]){tg_node(&t, VITC_OP_Add, add, 2, 1, NULL, 0)}, 1, 1, NULL, 0);
  }
  int wide[2] = {x, tg_const(&t, VITC_F32, DIMS(24, 40), 300)};
  tg_output(&t, tg_node(&t, VITC_OP_MatMul, wide, 2, 1, NULL, 0));
  int nkernels = compile_and_compare(&t, "four equal blocks", nthreads);
  /* 4 blocks of MatMul+Add+Relu (fused or not) and one wider MatMul: at most 3 + 1 distinct kernels. */
  CHECK(nkernels >= 2 && nkernels <= 4);
  tg_free(&t);
}

/* The JIT's compilation (kernels in groups, each optimised and compiled on a thread of its own, the
 * movement and element-wise ones with a clean-up only) links into one program that computes the same bits
 * on 1, 2 and 5 compile threads, and the evaluator's values: MatMul (O3), Relu and Sigmoid (clean-up). */
static void test_compile_threads(void) {
  float *first = NULL;
  size_t bytes = 0;
  int threads[] = {1, 2, 5};
  for (int r = 0; r < 3; r++) {
    test_graph t = tg_new();
    t.compile_threads = threads[r];
    int x = tg_input(&t, VITC_F32, DIMS(7, 24));
    for (int i = 0; i < 6; i++) {
      int mm[2] = {x, tg_const(&t, VITC_F32, DIMS(24, 24), 400 + (unsigned)i)};
      x = tg_node(&t, VITC_OP_Relu, (int[]){tg_node(&t, VITC_OP_MatMul, mm, 2, 1, NULL, 0)}, 1, 1, NULL, 0);
      x = tg_node(&t, VITC_OP_Sigmoid, &x, 1, 1, NULL, 0);
    }
    tg_output(&t, x);
    char what[64];
    snprintf(what, sizeof what, "%d compile threads", threads[r]);
    compile_and_compare(&t, what, 2);
    vitc_value y = t.g->tensors[x].v;
    bytes = vitc_nbytes(&y);
    float *out = malloc(bytes);
    CHECK(out && t.module && !tg_run(&t, (void *[]){out}));
    if (first && out) CHECK(!memcmp(first, out, bytes));
    if (!first) first = out;
    else free(out);
    tg_free(&t);
  }
  free(first);
}

/* Relu and Neg alternating (so no pass may collapse them), n nodes: two kernels, linear compile time. */
static void test_long_chain(int n, int nthreads) {
  test_graph t = tg_new();
  t.compile_threads = 2; /* as the JIT compiles */
  int x = tg_input(&t, VITC_F32, DIMS(3, 17));
  for (int i = 0; i < n; i++) x = tg_node(&t, i % 2 ? VITC_OP_Neg : VITC_OP_Relu, &x, 1, 1, NULL, 0);
  tg_output(&t, x);
  double t0 = seconds();
  int nkernels = compile_and_compare(&t, "long chain", nthreads);
  fprintf(stderr, "chain of %d nodes: %d kernels, compiled, run and checked in %.1f s\n", n, nkernels, seconds() - t0);
  CHECK(nkernels >= 1 && nkernels <= 2);
  tg_free(&t);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  test_blocks_share_kernels(1);
  test_blocks_share_kernels(3);
  test_compile_threads();
  test_long_chain(n, 3);
  CHECK_DONE();
}
