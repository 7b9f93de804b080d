/* test_fusion_norm_residual.c — fuse_norm_residual on post-norm residual joins (r + LayerNorm(x)), the
 * near misses it must leave alone, and the vitc.LayerNormResidual kernel against the evaluator on
 * awkward sizes (rows not a multiple of the vector width, two normalised axes, broadcast scale, float64).
 * The pass cases check the histogram, the evaluator on the rewritten graph against the graph left alone,
 * and the JIT-compiled pipeline against the evaluator (fusion_harness.h). */
#include "fusion_harness.h"

enum { ROWS = 7, C = 19 };

enum {
  FUSE,           /* Add(r, LayerNorm(x)) */
  FUSE_SWAPPED,   /* Add(LayerNorm(x), r) */
  MISS_TWICE,     /* the LayerNorm's output also read by a Relu */
  MISS_BROADCAST, /* r [C] broadcast over the rows */
  MISS_MEAN,      /* the LayerNorm's Mean output read */
  MISS_NO_BIAS,   /* LayerNorm without bias */
  FUSE_REPEATED,  /* x [3, ROWS, C], r [1, ROWS, C]: one image's residual repeated (a position embedding) */
  MISS_MIDDLE,    /* x [3, ROWS, C], r [3, 1, C]: broadcast along a middle dim */
  MISS_PART_ROW,  /* LayerNorm over the last two axes of [3, ROWS, C], r [1, 1, C]: repeats within a row */
};

static int layer_norm(test_graph *t, int x, int nin, int nout, int64_t axis, const int64_t *pdims, int prank) {
  vitc_attr a[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = axis},
                    {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-3}};
  int in[3] = {x, tg_const(t, VITC_F32, prank, pdims, 5), tg_const(t, VITC_F32, prank, pdims, 6)};
  return tg_node(t, VITC_OP_LayerNormalization, in, nin, nout, a, 2);
}

static void build(test_graph *t, int variant) {
  const int64_t dims[] = {1, ROWS, C}, batch[] = {3, ROWS, C}, middle[] = {3, 1, C}, lead[] = {1, 1, C},
                plane[] = {ROWS, C}, c = C;
  bool batched = variant >= FUSE_REPEATED;
  int x = tg_input(t, VITC_F32, 3, batched ? batch : dims);
  int r = variant == MISS_BROADCAST  ? tg_const(t, VITC_F32, 1, &c, 7)
          : variant == MISS_MIDDLE   ? tg_input(t, VITC_F32, 3, middle)
          : variant == MISS_PART_ROW ? tg_input(t, VITC_F32, 3, lead)
                                     : tg_input(t, VITC_F32, 3, dims);
  int nin = variant == MISS_NO_BIAS ? 2 : 3, nout = variant == MISS_MEAN ? 2 : 1;
  int n = variant == MISS_PART_ROW ? layer_norm(t, x, 3, 1, -2, plane, 2) : layer_norm(t, x, nin, nout, -1, &c, 1);
  tg_output(t, variant == FUSE_SWAPPED ? fh_op(t, VITC_OP_Add, n, r) : fh_op(t, VITC_OP_Add, r, n));
  if (variant == MISS_TWICE) tg_output(t, fh_op(t, VITC_OP_Relu, n, -1));
  if (variant == MISS_MEAN) tg_output(t, t->g->nodes[t->g->tensors[n].producer].out[1]);
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_LayerNormResidual, 1}, {VITC_OP_LayerNormalization, 0}, {VITC_OP_Add, 0}};
  vitc_graph *g = fh_check("r + LayerNorm(x)", build, FUSE, vitc_fuse_norm_residual, fused, 3);
  const vitc_node *n = fh_find_op(g, VITC_OP_LayerNormResidual);
  CHECK(n && n->in[0] == g->inputs[0] && n->in[3] == g->inputs[1]);
  CHECK(n && fabs(vitc_attr_float(n, "epsilon", 0) - 1e-3) < 1e-9);
  vitc_graph_free(g);
  vitc_graph_free(fh_check("LayerNorm(x) + r", build, FUSE_SWAPPED, vitc_fuse_norm_residual, fused, 3));
  vitc_graph_free(fh_check("r repeated per image", build, FUSE_REPEATED, vitc_fuse_norm_residual, fused, 3));

  const fh_count kept[] = {{VITC_OP_LayerNormResidual, 0}, {VITC_OP_LayerNormalization, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("LayerNorm read twice", build, MISS_TWICE, vitc_fuse_norm_residual, kept, 3));
  vitc_graph_free(fh_check("broadcast residual", build, MISS_BROADCAST, vitc_fuse_norm_residual, kept, 3));
  vitc_graph_free(fh_check("Mean read", build, MISS_MEAN, vitc_fuse_norm_residual, kept, 3));
  vitc_graph_free(fh_check("no bias", build, MISS_NO_BIAS, vitc_fuse_norm_residual, kept, 3));
  vitc_graph_free(fh_check("r broadcast along a middle dim", build, MISS_MIDDLE, vitc_fuse_norm_residual, kept, 3));
  vitc_graph_free(fh_check("r repeated within a row", build, MISS_PART_ROW, vitc_fuse_norm_residual, kept, 3));
}

/* vitc.LayerNormResidual over x[dims] from `axis`, scale and bias [pdims], residual [rdims] (NULL: x's), in
 * dtype t. */
static void check_kernel(const char *what, vitc_dtype t, int rank, const int64_t *dims, int64_t axis, int prank,
                         const int64_t *pdims, const int64_t *rdims) {
  for (int threads = 1; threads <= 2; threads++) {
    test_graph g = tg_new();
    vitc_attr a[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = axis},
                      {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-5}};
    int in[4] = {tg_input(&g, t, rank, dims), tg_const(&g, t, prank, pdims, 3), tg_const(&g, t, prank, pdims, 4),
                 tg_input(&g, t, rank, rdims ? rdims : dims)};
    tg_output(&g, tg_node(&g, VITC_OP_LayerNormResidual, in, 4, 1, a, 2));
    tg_check(&g, what, threads, 1e-5, 1e-6);
  }
}

static void test_kernel(void) {
  check_kernel("rows of 37", VITC_F32, 3, (int64_t[]){2, 9, 37}, -1, 1, (int64_t[]){37}, NULL);
  check_kernel("rows of 1", VITC_F32, 2, (int64_t[]){5, 1}, 1, 1, (int64_t[]){1}, NULL);
  check_kernel("two axes, scale broadcast", VITC_F32, 3, (int64_t[]){3, 4, 6}, 1, 1, (int64_t[]){6}, NULL);
  check_kernel("float64", VITC_F64, 2, (int64_t[]){13, 21}, -1, 1, (int64_t[]){21}, NULL);
  check_kernel("residual repeated per image", VITC_F32, 3, (int64_t[]){3, 9, 37}, -1, 1, (int64_t[]){37},
               (int64_t[]){1, 9, 37});
  check_kernel("residual repeated, two axes", VITC_F32, 4, (int64_t[]){5, 2, 3, 6}, 2, 1, (int64_t[]){6},
               (int64_t[]){1, 2, 3, 6});
  check_kernel("residual repeated, float64", VITC_F64, 3, (int64_t[]){3, 13, 21}, -1, 1, (int64_t[]){21},
               (int64_t[]){1, 13, 21});
}

int main(void) {
  test_pass();
  test_kernel();
  CHECK_DONE();
}
