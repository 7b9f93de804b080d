/* test_backend_misc.c — the generated Gather / Scatter kernels with run-time indices, OneHot, Einsum and
 * Resize against the evaluator. */
#include "backend_harness.h"
#include "check.h"
#include "op_harness.h"

#define RTOL 1e-4
#define ATOL 1e-5

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

/* Compiles t with nthreads and checks it (tg_check at this file's tolerances) against the evaluator; frees t. Integer inputs are random in
 * [-4, 4), so every indexed axis below has at least 4 entries (negative indices wrap). */
static void check_graph(test_graph *t, const char *what, int nthreads) { tg_check(t, what, nthreads, RTOL, ATOL); }

/* ---------------------------------------------------------------- gathers and scatters */

static void gather(const char *what, vitc_op op, int rx, const int64_t *dx, vitc_dtype it, int ri, const int64_t *di,
                   const vitc_attr *attrs, int nattr) {
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, VITC_F32, rx, dx), tg_input(&g, it, ri, di)};
  tg_output(&g, tg_node(&g, op, in, 2, 1, attrs, nattr));
  check_graph(&g, what, 2);
}

static void test_gathers(void) {
  vitc_attr axis1 = attr_int("axis", 1), axis_neg = attr_int("axis", -1), batch1 = attr_int("batch_dims", 1);
  gather("gather axis 0", VITC_OP_Gather, DIMS(6, 5), VITC_I64, DIMS(7), NULL, 0);
  gather("gather axis 1 i32", VITC_OP_Gather, DIMS(3, 5, 4), VITC_I32, DIMS(2, 3), &axis1, 1);
  gather("gather scalar index", VITC_OP_Gather, DIMS(4, 6), VITC_I64, DIMS(), &axis_neg, 1);
  gather("gather_elements axis 1", VITC_OP_GatherElements, DIMS(3, 5, 4), VITC_I64, DIMS(3, 7, 4), &axis1, 1);
  gather("gather_elements axis 0 smaller", VITC_OP_GatherElements, DIMS(5, 6), VITC_I32, DIMS(3, 2), NULL, 0);
  gather("gather_nd k=2", VITC_OP_GatherND, DIMS(4, 5, 3), VITC_I64, DIMS(6, 2), NULL, 0);
  gather("gather_nd batch_dims 1", VITC_OP_GatherND, DIMS(2, 4, 6), VITC_I64, DIMS(2, 3, 1), &batch1, 1);
}

/* Out-of-range indices: the evaluator fails, and so does the run, naming the first bad index (the kernel
 * reads a clamped index or drops the update meanwhile, so it stays inside its buffers: the sanitizer
 * build checks that). test_run_errors.c has every indexed op. */
static void test_out_of_range(void) {
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, VITC_F32, DIMS(4)), tg_input(&g, VITC_I64, DIMS(3))};
  tg_output(&g, tg_node(&g, VITC_OP_Gather, in, 2, 1, NULL, 0));
  vitc_error err = {0};
  CHECK(tg_compile(&g, 1, &err) == VITC_OK);
  float *x = g.in[0].data, got[3];
  int64_t *idx = g.in[1].data;
  idx[0] = 100, idx[1] = -100, idx[2] = -1;
  void *outs[1] = {got};
  CHECK(tg_run(&g, outs) != 0);
  CHECK_MSG(vitc_rt_error(g.ctx), "(Gather): index 100 is out of range for an axis of size 4");
  idx[0] = 3, idx[1] = -4;
  CHECK(tg_run(&g, outs) == 0);
  CHECK(got[0] == x[3] && got[1] == x[0] && got[2] == x[3]);
  tg_free(&g);

  g = tg_new();
  int sin[3] = {tg_input(&g, VITC_F32, DIMS(4)), tg_input(&g, VITC_I64, DIMS(2, 1)), tg_input(&g, VITC_F32, DIMS(2))};
  tg_output(&g, tg_node(&g, VITC_OP_ScatterND, sin, 3, 1, NULL, 0));
  CHECK(tg_compile(&g, 1, &err) == VITC_OK);
  float *data = g.in[0].data, *upd = g.in[2].data, out[4];
  idx = g.in[1].data;
  idx[0] = 4, idx[1] = -4;
  outs[0] = out;
  CHECK(tg_run(&g, outs) != 0);
  CHECK_MSG(vitc_rt_error(g.ctx), "(ScatterND): index 4 is out of range for an axis of size 4");
  idx[0] = 3;
  CHECK(tg_run(&g, outs) == 0);
  CHECK(out[0] == upd[1] && out[1] == data[1] && out[2] == data[2] && out[3] == upd[0]);
  tg_free(&g);
}

static void scatter(const char *what, vitc_op op, vitc_dtype t, int rx, const int64_t *dx, int ri, const int64_t *di,
                    int ru, const int64_t *du, const char *reduction, int64_t axis, bool const_indices) {
  test_graph g = tg_new();
  vitc_attr attrs[2] = {attr_str("reduction", reduction), attr_int("axis", axis)};
  int in[3] = {tg_input(&g, t, rx, dx), const_indices ? tg_const(&g, VITC_I64, ri, di, 7) : tg_input(&g, VITC_I64, ri, di),
               tg_input(&g, t, ru, du)};
  tg_output(&g, tg_node(&g, op, in, 3, 1, attrs, op == VITC_OP_ScatterElements ? 2 : 1));
  check_graph(&g, what, 1);
}

static void test_scatters(void) {
  static const char *const reductions[] = {"none", "add", "mul", "max", "min"};
  for (int r = 0; r < 5; r++) {
    char what[64];
    snprintf(what, sizeof what, "scatter_nd %s", reductions[r]);
    scatter(what, VITC_OP_ScatterND, VITC_F32, DIMS(4, 5, 3), DIMS(6, 2), DIMS(6, 3), reductions[r], 0, false);
    snprintf(what, sizeof what, "scatter_nd %s i32", reductions[r]);
    scatter(what, VITC_OP_ScatterND, VITC_I32, DIMS(5, 4), DIMS(3, 1), DIMS(3, 4), reductions[r], 0, false);
    snprintf(what, sizeof what, "scatter_elements %s", reductions[r]);
    scatter(what, VITC_OP_ScatterElements, VITC_F32, DIMS(3, 6), DIMS(3, 4), DIMS(3, 4), reductions[r], 1, false);
    snprintf(what, sizeof what, "scatter_elements %s const indices", reductions[r]);
    scatter(what, VITC_OP_ScatterElements, VITC_F64, DIMS(5, 2), DIMS(4, 2), DIMS(4, 2), reductions[r], 0, true);
  }
}

static void one_hot(const char *what, vitc_dtype it, int ri, const int64_t *di, int64_t axis, vitc_dtype vt) {
  test_graph g = tg_new();
  double depth_v = 5, values_v[2] = {-2, 3};
  vitc_value depth = {VITC_F64, 0, {0}, &depth_v}, values = {VITC_F64, 1, {2}, values_v};
  vitc_value values_t = values;
  int64_t typed[2];
  float typed_f[2];
  if (vt == VITC_I64) typed[0] = -2, typed[1] = 3, values_t.data = typed;
  if (vt == VITC_F32) typed_f[0] = -2, typed_f[1] = 3, values_t.data = typed_f;
  values_t.dtype = vt;
  vitc_attr a = attr_int("axis", axis);
  int in[3] = {tg_input(&g, it, ri, di), vitc_graph_add_constant(g.g, NULL, &depth), vitc_graph_add_constant(g.g, NULL, &values_t)};
  tg_output(&g, tg_node(&g, VITC_OP_OneHot, in, 3, 1, &a, 1));
  check_graph(&g, what, 1);
}

static void test_one_hot(void) {
  one_hot("one_hot i64 last axis", VITC_I64, DIMS(3, 4), -1, VITC_F32);
  one_hot("one_hot i32 axis 0", VITC_I32, DIMS(3, 4), 0, VITC_I64);
  one_hot("one_hot float indices axis 1", VITC_F32, DIMS(2, 3, 2), 1, VITC_F32);
}

/* ---------------------------------------------------------------- Einsum */

static void einsum(const char *what, const char *eq, int n, const int64_t *const *dims, const int *ranks, vitc_dtype t) {
  test_graph g = tg_new();
  int in[4];
  for (int k = 0; k < n; k++) in[k] = k == 1 ? tg_const(&g, t, ranks[k], dims[k], 5) : tg_input(&g, t, ranks[k], dims[k]);
  vitc_attr a = attr_str("equation", eq);
  tg_output(&g, tg_node(&g, VITC_OP_Einsum, in, n, 1, &a, 1));
  check_graph(&g, what, 2);
}

#define SHAPES(...) (const int64_t *const[]){__VA_ARGS__}
#define S(...) (const int64_t[]){__VA_ARGS__}

static void test_einsum(void) {
  einsum("einsum attention", "bhid,bhjd->bhij", 2, SHAPES(S(2, 3, 17, 8), S(2, 3, 19, 8)), (int[]){4, 4}, VITC_F32);
  einsum("einsum matmul implicit", "ij,jk", 2, SHAPES(S(64, 40), S(40, 72)), (int[]){2, 2}, VITC_F32);
  einsum("einsum ellipsis broadcast", "...ij,...jk->...ik", 2, SHAPES(S(3, 1, 4, 5), S(2, 5, 6)), (int[]){4, 3}, VITC_F64);
  einsum("einsum trace", "ii->", 1, SHAPES(S(7, 7)), (int[]){2}, VITC_F32);
  einsum("einsum diagonal batch", "bii->bi", 1, SHAPES(S(3, 5, 5)), (int[]){3}, VITC_F32);
  einsum("einsum transpose", "abc->cab", 1, SHAPES(S(2, 3, 4)), (int[]){3}, VITC_I64);
  einsum("einsum three operands", "ij,jk,k->i", 3, SHAPES(S(4, 5), S(5, 6), S(6)), (int[]){2, 2, 1}, VITC_F32);
  einsum("einsum outer", "i,j->ij", 2, SHAPES(S(5), S(3)), (int[]){1, 1}, VITC_I32);
  einsum("einsum size 0 sum", "ij,jk->ik", 2, SHAPES(S(3, 0), S(0, 4)), (int[]){2, 2}, VITC_F32);
}

/* ---------------------------------------------------------------- Resize */

typedef struct resize_case {
  const char *what, *mode, *coord, *nearest, *policy;
  int rank;
  int64_t dims[4];
  int nscales, nsizes, nroi, naxes;
  double scales[4], roi[8];
  int64_t sizes[4], axes[4];
  bool antialias, exclude_outside;
  double cubic_a, extrapolation;
  vitc_dtype dtype;
} resize_case;

static void resize(const resize_case *c) {
  test_graph g = tg_new();
  vitc_attr attrs[9] = {attr_str("mode", c->mode), attr_str("coordinate_transformation_mode", c->coord),
                        attr_str("nearest_mode", c->nearest ? c->nearest : "round_prefer_floor"),
                        attr_str("keep_aspect_ratio_policy", c->policy ? c->policy : "stretch"),
                        attr_int("antialias", c->antialias), attr_int("exclude_outside", c->exclude_outside),
                        attr_float("cubic_coeff_a", c->cubic_a ? c->cubic_a : -0.75),
                        attr_float("extrapolation_value", c->extrapolation),
                        attr_ints("axes", c->naxes, (int64_t *)c->axes)};
  vitc_value roi = {VITC_F32, 1, {c->nroi}, NULL}, scales = {VITC_F32, 1, {c->nscales}, NULL};
  vitc_value sizes = {VITC_I64, 1, {c->nsizes}, (void *)c->sizes};
  float roi_f[8], scales_f[4];
  for (int i = 0; i < c->nroi; i++) roi_f[i] = (float)c->roi[i];
  for (int i = 0; i < c->nscales; i++) scales_f[i] = (float)c->scales[i];
  roi.data = roi_f;
  scales.data = scales_f;
  int in[4] = {tg_input(&g, c->dtype ? c->dtype : VITC_F32, c->rank, c->dims),
               c->nroi ? vitc_graph_add_constant(g.g, NULL, &roi) : -1,
               c->nscales ? vitc_graph_add_constant(g.g, NULL, &scales) : -1,
               c->nsizes ? vitc_graph_add_constant(g.g, NULL, &sizes) : -1};
  tg_output(&g, tg_node(&g, VITC_OP_Resize, in, 4, 1, attrs, c->naxes ? 9 : 8));
  check_graph(&g, c->what, 2);
}

static void test_resize(void) {
  static const resize_case cases[] = {
      {"resize linear half_pixel up", "linear", "half_pixel", .rank = 4, .dims = {1, 3, 5, 7}, .nscales = 4,
       .scales = {1, 1, 2, 1.5}},
      {"resize linear align_corners down", "linear", "align_corners", .rank = 4, .dims = {2, 2, 9, 8}, .nscales = 4,
       .scales = {1, 1, 0.5, 0.6}},
      {"resize cubic pytorch sizes", "cubic", "pytorch_half_pixel", .rank = 4, .dims = {1, 2, 14, 14}, .nsizes = 4,
       .sizes = {1, 2, 16, 1}},
      {"resize cubic exclude_outside a=-0.5", "cubic", "half_pixel", .rank = 3, .dims = {2, 6, 5}, .nscales = 3,
       .scales = {1, 1.7, 0.8}, .exclude_outside = true, .cubic_a = -0.5},
      {"resize linear antialias down", "linear", "half_pixel", .rank = 4, .dims = {1, 2, 32, 20}, .nscales = 4,
       .scales = {1, 1, 0.25, 0.4}, .antialias = true},
      {"resize cubic antialias down", "cubic", "half_pixel_symmetric", .rank = 4, .dims = {1, 1, 30, 24},
       .nsizes = 4, .sizes = {1, 1, 7, 11}, .antialias = true},
      {"resize nearest ceil asymmetric u8", "nearest", "asymmetric", "ceil", .rank = 4, .dims = {1, 3, 4, 6},
       .nscales = 4, .scales = {1, 1, 2.5, 0.5}, .dtype = VITC_U8},
      {"resize nearest tf_half_pixel_for_nn", "nearest", "tf_half_pixel_for_nn", "round_prefer_ceil", .rank = 2,
       .dims = {5, 8}, .nscales = 2, .scales = {3, 0.7}},
      {"resize nearest keep aspect not_larger", "nearest", "half_pixel", .policy = "not_larger", .rank = 4,
       .dims = {1, 1, 4, 6}, .nsizes = 2, .sizes = {7, 8}, .naxes = 2, .axes = {2, 3}},
      {"resize linear keep aspect not_smaller", "linear", "align_corners", .policy = "not_smaller", .rank = 4,
       .dims = {1, 2, 6, 4}, .nsizes = 2, .sizes = {9, 9}, .naxes = 2, .axes = {-2, -1}},
      {"resize tf_crop_and_resize extrapolate", "linear", "tf_crop_and_resize", .rank = 4, .dims = {1, 1, 6, 6},
       .nroi = 8, .roi = {0, 0, -0.2, 0.4, 1, 1, 0.8, 1.3}, .nsizes = 4, .sizes = {1, 1, 5, 7}, .extrapolation = 10},
      {"resize tf_crop nearest axes", "nearest", "tf_crop_and_resize", .rank = 3, .dims = {2, 5, 4}, .nroi = 2,
       .roi = {0.3, 1.2}, .nscales = 1, .scales = {2}, .naxes = 1, .axes = {1}, .extrapolation = -1},
      {"resize identity scales", "linear", "half_pixel", .rank = 2, .dims = {3, 4}, .nscales = 2, .scales = {1, 1}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) resize(&cases[i]);
}

int main(void) {
  test_gathers();
  test_out_of_range();
  test_scatters();
  test_one_hot();
  test_einsum();
  test_resize();
  CHECK_DONE();
}
