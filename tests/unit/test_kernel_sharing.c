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

/* Compiles t and compares it with the evaluator (tg_compile_and_compare); returns the kernel count. */
static int compile_and_compare(test_graph *t, const char *what, int nthreads) {
  return tg_compile_and_compare(t, what, nthreads, 1e-4, 1e-5) ? t->module->nkernels : -1;
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

/* Attention over batch entries of the same rows, keys and head size, in other numbers (8 entries as
 * 2 × 4 heads, 12 as 4 × 3, each with a bias per head): the batch sizes, the bias's strides along them and
 * where its table of distinct slabs lies (4 slabs, 3: tables of other lengths) are read at run time
 * (cg_add_sizes), so both nodes share one kernel and each must still get its own heads right. A third with
 * other keys (9, not 7) is another kernel. */
static void test_attention_sizes_shared(int nthreads) {
  test_graph t = tg_new();
  const int64_t shapes[3][3] = {{2, 4, 7}, {4, 3, 7}, {2, 4, 9}}; /* groups, heads, keys */
  vitc_attr scale = {.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.37f};
  for (int a = 0; a < 3; a++) {
    int64_t g = shapes[a][0], h = shapes[a][1], nk = shapes[a][2];
    int q = tg_input(&t, VITC_F32, DIMS(g, h, 7, 8)), kv = tg_input(&t, VITC_F32, DIMS(g, h, nk, 8)); /* K = V */
    int in[4] = {q, kv, kv, tg_const(&t, VITC_F32, DIMS(1, h, 7, nk), 500 + (unsigned)a)};
    tg_output(&t, tg_node(&t, VITC_OP_Attention, in, 4, 1, &scale, 1));
  }
  CHECK(compile_and_compare(&t, "attention of other heads", nthreads) == 2);
  tg_free(&t);
}

/* Linear layers of other rows, K and N (a hierarchical model's stages: Swin-T's 3136 x 96 x 384 .. 49 x 768
 * x 3072) read those sizes at run time (emit_gemm.c), so that X·W of 57 x 13 x 96, 200 x 300 x 48 (rows
 * all in tiles of 8) and 49 x 40 x 144 (rows all in tiles of 7) share one kernel, each
 * reading its own W. Near misses, each another kernel: N ending in a part panel (40 columns), and a single
 * tile of rows (5), whose code has only the heights it needs. */
static void test_linear_sizes_shared(int nthreads) {
  test_graph t = tg_new();
  const int64_t shapes[5][3] = {{57, 13, 96}, {200, 300, 48}, {49, 40, 144}, {57, 13, 40}, {5, 13, 96}};
  for (int s = 0; s < 5; s++) {
    int mm[2] = {tg_input(&t, VITC_F32, DIMS(shapes[s][0], shapes[s][1])),
                 tg_const(&t, VITC_F32, DIMS(shapes[s][1], shapes[s][2]), 700 + (unsigned)s)};
    tg_output(&t, tg_node(&t, VITC_OP_MatMul, mm, 2, 1, NULL, 0));
  }
  CHECK(compile_and_compare(&t, "linear layers of other sizes", nthreads) == 3);
  tg_free(&t);
}

/* Which kernels LLVM compiles without O3 (VITC_OPT_LEVEL_ATTR "1": codegen.c): those of element-wise and
 * movement ops and of the VECTORISED ones (DepthwiseConvNHWC, GlobalAveragePoolNHWC, PatchMerging); a generic Conv,
 * whose direct loops LLVM vectorises, keeps the target's level. */
static void test_opt_levels(void) {
  test_graph t = tg_new();
  t.opt_level = 0; /* the nodes as built */
  int x = tg_input(&t, VITC_F32, DIMS(1, 6, 6, 5));
  int relu = tg_node(&t, VITC_OP_Relu, &x, 1, 1, NULL, 0);
  int64_t pads[4] = {1, 1, 1, 1};
  vitc_attr pad = {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads};
  int dw[3] = {relu, tg_const(&t, VITC_F32, DIMS(3, 3, 5), 601), tg_const(&t, VITC_F32, DIMS(5), 602)};
  int y = tg_node(&t, VITC_OP_DepthwiseConvNHWC, dw, 3, 1, &pad, 1);
  tg_output(&t, tg_node(&t, VITC_OP_GlobalAveragePoolNHWC, &y, 1, 1, NULL, 0));
  int merge[2] = {y, tg_const(&t, VITC_F32, DIMS(20, 7), 604)}; /* [1, 6, 6, 5] → [1, 3, 3, 7] */
  tg_output(&t, tg_node(&t, VITC_OP_PatchMerging, merge, 2, 1, NULL, 0));
  int conv[2] = {x, tg_const(&t, VITC_F32, DIMS(4, 6, 3, 3), 603)}; /* x as NCHW: 6 channels of 6 × 5 */
  tg_output(&t, tg_node(&t, VITC_OP_Conv, conv, 2, 1, NULL, 0));
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 0};
  vitc_target_options to = {.opt_level = 3};
  LLVMTargetMachineRef tm = NULL;
  vitc_module *m = NULL;
  CHECK(!vitc_run_passes(t.g, &po, &err) && !vitc_target_machine(&to, &tm, &err) &&
        !vitc_codegen_ir(t.g, "tg", tm, &to, false, &m, &err));
  if (!m) fprintf(stderr, "opt levels: %s\n", err.msg);
  const vitc_op expect_clean_up[] = {VITC_OP_Relu, VITC_OP_DepthwiseConvNHWC, VITC_OP_GlobalAveragePoolNHWC,
                                     VITC_OP_PatchMerging};
  int seen = 0;
  for (int i = 0; m && i < t.g->nnodes; i++) {
    char name[32];
    snprintf(name, sizeof name, "tg.n%d", i);
    LLVMValueRef fn = LLVMGetNamedFunction(m->mod, name);
    if (!fn) continue;
    LLVMAttributeRef a = LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, VITC_OPT_LEVEL_ATTR,
                                                       (unsigned)strlen(VITC_OPT_LEVEL_ATTR));
    unsigned len = 0;
    const char *level = a ? LLVMGetStringAttributeValue(a, &len) : "";
    bool clean_up = false;
    for (int k = 0; k < 4; k++) clean_up |= t.g->nodes[i].op == expect_clean_up[k];
    if (clean_up != (len == 1 && level[0] == '1'))
      fprintf(stderr, "%s: optimisation level '%.*s'\n", vitc_ops[t.g->nodes[i].op].name, (int)len, level);
    CHECK(clean_up == (len == 1 && level[0] == '1'));
    seen++;
  }
  CHECK(seen == 5);
  vitc_module_free(m);
  if (tm) LLVMDisposeTargetMachine(tm);
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
  test_attention_sizes_shared(1);
  test_attention_sizes_shared(3);
  test_linear_sizes_shared(1);
  test_linear_sizes_shared(3);
  test_opt_levels();
  test_compile_threads();
  test_long_chain(n, 3);
  CHECK_DONE();
}
