/* test_fusion_factorized_context.c — fuse_factorized_context on tiny graphs shaped as CoaT's factorized
 * attention is when the pass runs (softmax of k over the tokens, transposed, times v), the near misses
 * that must stay; then vitc.FactorizedContext's kernel against the evaluator on awkward sizes at 1 and 3
 * threads. */
#include "fusion_harness.h"

enum { HEADS = 3, TOKENS = 11, DK = 5, DV = 4 };

enum {
  FC_COAT,          /* Softmax {axis = 2}, Transpose {perm = [0, 1, 3, 2]}, MatMul(·, v) */
  FC_NEGATIVE_AXIS, /* Softmax {axis = -2} */
  FC_MISS_AXIS,     /* softmax over the channels (the last axis) */
  FC_MISS_PERM,     /* the Transpose swaps the heads and the tokens instead */
  FC_MISS_READER,   /* the softmax is read twice */
  FC_MISS_BROADCAST, /* v [T, DV] shared by the heads (MatMul broadcasts) */
};

static int transpose(test_graph *t, int x, const int64_t *perm) {
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
}

static void build(test_graph *t, int variant) {
  static const int64_t last_two[] = {0, 1, 3, 2}, heads_tokens[] = {0, 2, 1, 3};
  const int64_t kd[] = {1, HEADS, TOKENS, DK}, vd[] = {1, HEADS, TOKENS, DV}, vshared[] = {TOKENS, DV},
                vtokens[] = {1, TOKENS, DK, DV}; /* [1, T, H, DK] · [1, T, DK, DV] when the heads and tokens swap */
  int k = tg_input(t, VITC_F32, 4, kd);
  int v = variant == FC_MISS_BROADCAST ? tg_input(t, VITC_F32, 2, vshared)
          : variant == FC_MISS_PERM    ? tg_input(t, VITC_F32, 4, vtokens)
                                       : tg_input(t, VITC_F32, 4, vd);
  int axis = variant == FC_NEGATIVE_AXIS ? -2 : variant == FC_MISS_AXIS ? 3 : 2;
  vitc_attr sa = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  int p = tg_node(t, VITC_OP_Softmax, &k, 1, 1, &sa, 1);
  int y = fh_op(t, VITC_OP_MatMul, transpose(t, p, variant == FC_MISS_PERM ? heads_tokens : last_two), v);
  tg_output(t, y);
  if (variant == FC_MISS_READER) tg_output(t, p);
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_FactorizedContext, 1}, {VITC_OP_Softmax, 0}, {VITC_OP_Transpose, 0},
                            {VITC_OP_MatMul, 0}};
  vitc_graph_free(fh_check("CoaT's softmax of k, transposed, times v", build, FC_COAT, vitc_fuse_factorized_context, fused, 4));
  vitc_graph_free(fh_check("softmax axis -2", build, FC_NEGATIVE_AXIS, vitc_fuse_factorized_context, fused, 4));
  const fh_count kept[] = {{VITC_OP_FactorizedContext, 0}, {VITC_OP_Softmax, 1}, {VITC_OP_MatMul, 1}};
  vitc_graph_free(fh_check("softmax over the channels", build, FC_MISS_AXIS, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("heads and tokens swapped", build, FC_MISS_PERM, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("softmax read twice", build, FC_MISS_READER, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("v broadcast over the heads", build, FC_MISS_BROADCAST, vitc_fuse_factorized_context, kept, 3));
}

static void check_kernel(int64_t batch, int64_t tokens, int64_t dk, int64_t dv, int nthreads) {
  test_graph t = tg_new();
  const int64_t kd[] = {batch, tokens, dk}, vd[] = {batch, tokens, dv};
  int in[2] = {tg_input(&t, VITC_F32, 3, kd), tg_input(&t, VITC_F32, 3, vd)};
  tg_output(&t, tg_node(&t, VITC_OP_FactorizedContext, in, 2, 1, NULL, 0));
  char what[96];
  snprintf(what, sizeof what, "FactorizedContext B %lld N %lld D %lld E %lld, %d threads", (long long)batch,
           (long long)tokens, (long long)dk, (long long)dv, nthreads);
  tg_check(&t, what, nthreads, 1e-5, 1e-6);
}

static void test_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel(2, 13, 3, 5, threads);
    check_kernel(1, 1, 1, 1, threads);    /* one token: every weight 1 */
    check_kernel(3, 197, 7, 9, threads);  /* across the pool */
    check_kernel(5, 4, 6, 2, threads);    /* more channels than tokens */
    check_kernel(2, 37, 4, 20, threads);  /* E: a whole vector and a masked tail */
  }
}

int main(void) {
  test_pass();
  test_kernel();
  CHECK_DONE();
}
