/* test_probe.c — vitc_probe_origins (ir/probe.c): where each element of a movement chain's result comes
 * from, against index formulas; constants concatenated in and Pad's default zeros give -1; a computing node ends the chain. */
#include "backend_harness.h"
#include "check.h"
#include "passes/passes.h"

static vitc_attr ints_attr(const char *name, int64_t *v, int n) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_INTS, .n = n, .ints = v};
}

static int i64_const(test_graph *t, int n, const int64_t *values) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)values};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int64_t *origins_of(test_graph *t, int base, int x) {
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(t->g, &err) == VITC_OK);
  int64_t *o = NULL;
  CHECK(vitc_probe_origins(t->g, base, x, &o, &err) == VITC_OK);
  return o;
}

/* x [2, 3, 4] → Transpose {2, 0, 1} → [4, 2, 3] → Slice axis 0 [1, 3) → [2, 2, 3]. */
static void test_transpose_slice(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 3, (int64_t[]){2, 3, 4});
  int64_t perm[] = {2, 0, 1}, starts[] = {1}, ends[] = {3}, axes[] = {0};
  vitc_attr a = ints_attr("perm", perm, 3);
  int tr = tg_node(&t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
  int sl = tg_node(&t, VITC_OP_Slice, (int[]){tr, i64_const(&t, 1, starts), i64_const(&t, 1, ends), i64_const(&t, 1, axes)},
                   4, 1, NULL, 0);
  tg_output(&t, sl);
  int64_t *o = origins_of(&t, x, sl);
  CHECK(o != NULL);
  for (int c = 0; o && c < 2; c++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++) CHECK(o[(c * 2 + i) * 3 + j] == i * 12 + j * 4 + (c + 1));
  free(o);
  tg_free(&t);
}

/* Concat(constant [1, 4], Reshape(x [2, 2] → [1, 4])) along 0: the constant's elements are -1. */
static void test_concat_constant(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 2, (int64_t[]){2, 2});
  int64_t shape[] = {1, 4};
  int r = tg_node(&t, VITC_OP_Reshape, (int[]){x, i64_const(&t, 2, shape)}, 2, 1, NULL, 0);
  int c = tg_const(&t, VITC_F32, 2, (int64_t[]){1, 4}, 7);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int cat = tg_node(&t, VITC_OP_Concat, (int[]){c, r}, 2, 1, &axis, 1);
  tg_output(&t, cat);
  int64_t *o = origins_of(&t, x, cat);
  CHECK(o != NULL);
  for (int i = 0; o && i < 8; i++) CHECK(o[i] == (i < 4 ? -1 : i - 4));
  free(o);
  tg_free(&t);
}

/* Pad x [2, 3] by one row after and one column before, with no constant_value input (the default 0) and
 * with a given one: the padding's elements are -1 both ways, not element 0 of x. */
static void test_pad_default_value(void) {
  for (int given = 0; given < 2; given++) {
    test_graph t = tg_new();
    int x = tg_input(&t, VITC_F32, 2, (int64_t[]){2, 3});
    int64_t pads[] = {0, 1, 1, 0};
    int in[3] = {x, i64_const(&t, 4, pads), given ? tg_const(&t, VITC_F32, 0, NULL, 3) : -1};
    int p = tg_node(&t, VITC_OP_Pad, in, given ? 3 : 2, 1, NULL, 0);
    tg_output(&t, p);
    int64_t *o = origins_of(&t, x, p);
    CHECK(o != NULL);
    for (int i = 0; o && i < 3; i++)
      for (int j = 0; j < 4; j++) CHECK(o[i * 4 + j] == (i < 2 && j > 0 ? i * 3 + j - 1 : -1));
    free(o);
    tg_free(&t);
  }
}

/* A Relu in the chain, or a tensor not derived from the base: no origins. */
static void test_not_movement(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 2, (int64_t[]){2, 2}), y = tg_input(&t, VITC_F32, 2, (int64_t[]){2, 2});
  int relu = tg_node(&t, VITC_OP_Relu, &x, 1, 1, NULL, 0);
  int64_t perm[] = {1, 0};
  vitc_attr a = ints_attr("perm", perm, 2);
  int tr = tg_node(&t, VITC_OP_Transpose, &relu, 1, 1, &a, 1);
  int ty = tg_node(&t, VITC_OP_Transpose, &y, 1, 1, &a, 1);
  tg_output(&t, tr);
  tg_output(&t, ty);
  CHECK(origins_of(&t, x, tr) == NULL);
  int64_t *o = origins_of(&t, relu, tr);
  CHECK(o && o[1] == 2 && o[2] == 1);
  free(o);
  o = origins_of(&t, x, ty); /* y's elements are not x's: all -1 would mislead, so none */
  CHECK(o == NULL);
  free(o);
  tg_free(&t);
}

static bool same_origins(const int64_t *a, const int64_t *b, int64_t count) {
  for (int64_t i = 0; a && b && i < count; i++)
    if (a[i] != b[i]) return false;
  return a && b;
}

/* Every element's origin from the per-image form (NULL when there is none). */
static int64_t *whole_of(vitc_origins *o) {
  int64_t *w = NULL;
  vitc_error err = {0};
  if (o->first) CHECK(vitc_origins_whole(o, &w, &err) == VITC_OK);
  vitc_origins_free(o);
  return w;
}

static vitc_origins images_of(test_graph *t, int base, int x) {
  vitc_origins o;
  vitc_error err = {0};
  CHECK(vitc_probe_images(t->g, base, x, &o, &err) == VITC_OK);
  return o;
}

/* Whether vitc_probe_images_via(base → mid → x) with the parts given gives the origins `whole`. */
static bool via_gives(test_graph *t, int base, int mid, int x, const vitc_origins *above, const vitc_origins *below,
                      const int64_t *whole) {
  vitc_origins o;
  vitc_error err = {0};
  bool ok = vitc_probe_images_via(t->g, base, mid, x, above, below, &o, &err) == VITC_OK;
  int64_t *w = whole_of(&o);
  ok = ok && same_origins(w, whole, vitc_numel(&t->g->tensors[x].v));
  free(w);
  return ok;
}

/* vitc_probe_images_via composes a known part of x → Transpose → Slice with the probed other part (or
 * only composes both parts given), and gives what the whole probe gives; a Concat that also reads x by
 * another path is no movement function of the Reshape on its own, so it falls back to probing from x
 * whole. */
static void test_via(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 3, (int64_t[]){2, 3, 4});
  int64_t perm[] = {2, 0, 1}, starts[] = {1}, ends[] = {3}, axes[] = {0}, shape[] = {4, 6};
  vitc_attr a = ints_attr("perm", perm, 3);
  int tr = tg_node(&t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
  int sl = tg_node(&t, VITC_OP_Slice, (int[]){tr, i64_const(&t, 1, starts), i64_const(&t, 1, ends), i64_const(&t, 1, axes)},
                   4, 1, NULL, 0);
  int r = tg_node(&t, VITC_OP_Reshape, (int[]){tr, i64_const(&t, 2, shape)}, 2, 1, NULL, 0);
  int rx = tg_node(&t, VITC_OP_Reshape, (int[]){x, i64_const(&t, 2, shape)}, 2, 1, NULL, 0);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int cat = tg_node(&t, VITC_OP_Concat, (int[]){r, rx}, 2, 1, &axis, 1);
  tg_output(&t, sl);
  tg_output(&t, cat);
  int64_t *whole = origins_of(&t, x, sl);
  vitc_origins above = images_of(&t, x, tr), below = images_of(&t, tr, sl);
  CHECK(via_gives(&t, x, tr, sl, &above, NULL, whole));
  CHECK(via_gives(&t, x, tr, sl, NULL, &below, whole));
  CHECK(via_gives(&t, x, tr, sl, NULL, NULL, whole));
  CHECK(via_gives(&t, x, tr, sl, &above, &below, whole));
  free(whole);
  vitc_origins_free(&above);
  vitc_origins_free(&below);
  whole = origins_of(&t, x, cat);
  CHECK(origins_of(&t, r, cat) == NULL); /* the Concat's other input is x's, not the Reshape's */
  CHECK(via_gives(&t, x, r, cat, NULL, NULL, whole));
  vitc_origins r_in_x = images_of(&t, x, r);
  CHECK(via_gives(&t, x, r, cat, &r_in_x, NULL, whole));
  vitc_origins_free(&r_in_x);
  free(whole);
  tg_free(&t);
}

/* The per-image probe (ir/probe.c) gives at batch 1, 2, 3 and 5 exactly what probing every element gives,
 * on chains whose images repeat (Swin's window partition and a row gather within each image; ViT's
 * sequence-first rows [N·B] and a gather of them) and on near misses whose images do not (a row gather
 * that mixes images, a Gather and a reversing Slice across the batch axis, a Concat along it, a Transpose
 * that takes the batch into a view's merged axis); from ViT's rows too, whose batch is innermost. */
static void test_per_image(void) {
  static const int64_t batches[] = {1, 2, 3, 5};
  for (int bi = 0; bi < 4; bi++) {
    int64_t b = batches[bi], rows = 4 * b, idx[2][20], mixed[20], reversed[5], shape[4][4] = {{b, 2, 2, 6}, {rows, 6}, {rows, 6}, {4, b * 6}};
    int64_t perm_win[] = {0, 2, 1, 3}, perm_seq[] = {1, 0, 2}, start[] = {-1}, end[] = {INT64_MIN}, axes[] = {0}, step[] = {-1};
    for (int64_t r = 0; r < rows; r++) {
      idx[0][r] = r / 4 * 4 + (r % 4 + 1) % 4; /* within image r / 4 of batch-first rows */
      idx[1][r] = (3 - r / b) * b + r % b;     /* token n of each image in sequence-first rows [N·B] */
      mixed[r] = rows - 1 - r;
    }
    for (int64_t i = 0; i < b; i++) reversed[i] = b - 1 - i;
    test_graph t = tg_new();
    int x = tg_input(&t, VITC_F32, 3, (int64_t[]){b, 4, 6});
    vitc_attr win = ints_attr("perm", perm_win, 4), seq = ints_attr("perm", perm_seq, 3);
    vitc_attr axis0 = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
    int w = tg_node(&t, VITC_OP_Reshape, (int[]){x, i64_const(&t, 4, shape[0])}, 2, 1, NULL, 0);
    w = tg_node(&t, VITC_OP_Transpose, &w, 1, 1, &win, 1);
    w = tg_node(&t, VITC_OP_Reshape, (int[]){w, i64_const(&t, 2, shape[1])}, 2, 1, NULL, 0);
    int s = tg_node(&t, VITC_OP_Transpose, &x, 1, 1, &seq, 1);
    int sr = tg_node(&t, VITC_OP_Reshape, (int[]){s, i64_const(&t, 2, shape[2])}, 2, 1, NULL, 0);
    int ends[] = {
        tg_node(&t, VITC_OP_Gather, (int[]){w, i64_const(&t, (int)rows, idx[0])}, 2, 1, &axis0, 1),
        tg_node(&t, VITC_OP_Gather, (int[]){sr, i64_const(&t, (int)rows, idx[1])}, 2, 1, &axis0, 1),
        tg_node(&t, VITC_OP_Gather, (int[]){w, i64_const(&t, (int)rows, mixed)}, 2, 1, &axis0, 1),
        tg_node(&t, VITC_OP_Gather, (int[]){x, i64_const(&t, (int)b, reversed)}, 2, 1, &axis0, 1),
        tg_node(&t, VITC_OP_Slice, (int[]){x, i64_const(&t, 1, start), i64_const(&t, 1, end), i64_const(&t, 1, axes),
                                           i64_const(&t, 1, step)}, 5, 1, NULL, 0),
        tg_node(&t, VITC_OP_Concat, (int[]){x, x}, 2, 1, &axis0, 1),
        tg_node(&t, VITC_OP_Reshape, (int[]){s, i64_const(&t, 2, shape[3])}, 2, 1, NULL, 0),
    };
    for (int e = 0; e < 7; e++) tg_output(&t, ends[e]);
    for (int e = 0; e < 7; e++) {
      int64_t *o = origins_of(&t, x, ends[e]), *whole = NULL;
      vitc_error err = {0};
      CHECK(vitc_probe_origins_whole(t.g, x, ends[e], &whole, &err) == VITC_OK);
      CHECK(same_origins(o, whole, vitc_numel(&t.g->tensors[ends[e]].v)));
      free(o);
      free(whole);
    }
    /* told per image above batch 2 (one image's origins), composed per image along x → w → gather, and
     * whole for the gather that mixes images */
    vitc_origins told = images_of(&t, x, ends[0]), above = images_of(&t, x, w), below = images_of(&t, w, ends[0]);
    CHECK(told.batch == (b > 2 ? b : 1) && told.outer * told.block * told.batch == rows * 6);
    int64_t *whole0 = whole_of(&told);
    CHECK(via_gives(&t, x, w, ends[0], &above, &below, whole0));
    CHECK(via_gives(&t, x, w, ends[0], NULL, &below, whole0));
    free(whole0);
    vitc_origins_free(&above);
    vitc_origins_free(&below);
    told = images_of(&t, x, ends[2]);
    CHECK(told.first && told.batch == 1);
    vitc_origins_free(&told);
    int64_t *o = origins_of(&t, sr, ends[1]), *whole = NULL; /* the batch innermost in the base's rows */
    vitc_error err = {0};
    CHECK(vitc_probe_origins_whole(t.g, sr, ends[1], &whole, &err) == VITC_OK && same_origins(o, whole, rows * 6));
    free(o);
    free(whole);
    tg_free(&t);
  }
}

/* A Concat of nine inputs (more than the per-image walk once took) is told per image at batch 3 when it
 * joins each image's rows (axis 2), and whole when it joins along the batch (axis 0, the near miss); both
 * as the whole probe says. */
static void test_wide_concat(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 3, (int64_t[]){3, 4, 6}), parts[9];
  for (int k = 0; k < 9; k++) parts[k] = x;
  vitc_attr along[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = 2}, {.name = "axis", .type = VITC_ATTR_INT, .i = 0}};
  int cat[2] = {tg_node(&t, VITC_OP_Concat, parts, 9, 1, &along[0], 1), tg_node(&t, VITC_OP_Concat, parts, 9, 1, &along[1], 1)};
  tg_output(&t, cat[0]);
  tg_output(&t, cat[1]);
  for (int c = 0; c < 2; c++) {
    int64_t *o = origins_of(&t, x, cat[c]), *whole = NULL;
    vitc_error err = {0};
    CHECK(vitc_probe_origins_whole(t.g, x, cat[c], &whole, &err) == VITC_OK);
    CHECK(same_origins(o, whole, 9 * 72));
    for (int i = 0; o && c == 0 && i < 9 * 72; i++) CHECK(o[i] == i / 54 * 6 + i % 6);
    vitc_origins told = images_of(&t, x, cat[c]);
    CHECK(told.first && told.batch == (c == 0 ? 3 : 1));
    vitc_origins_free(&told);
    free(o);
    free(whole);
  }
  tg_free(&t);
}

/* Views take their input's probe under new dims (ir/probe.c), the next node reading it as any probe:
 * x [2, 3, 4] → Reshape [6, 4] → Transpose {1, 0} → [4, 6] → Unsqueeze → [1, 4, 6] → Slice axis 2 [1, 5). */
static void test_views(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, 3, (int64_t[]){2, 3, 4});
  int64_t shape[] = {6, 4}, perm[] = {1, 0}, axes0[] = {0}, starts[] = {1}, ends[] = {5}, axes[] = {2};
  vitc_attr a = ints_attr("perm", perm, 2);
  int r = tg_node(&t, VITC_OP_Reshape, (int[]){x, i64_const(&t, 2, shape)}, 2, 1, NULL, 0);
  int tr = tg_node(&t, VITC_OP_Transpose, &r, 1, 1, &a, 1);
  int u = tg_node(&t, VITC_OP_Unsqueeze, (int[]){tr, i64_const(&t, 1, axes0)}, 2, 1, NULL, 0);
  int sl = tg_node(&t, VITC_OP_Slice, (int[]){u, i64_const(&t, 1, starts), i64_const(&t, 1, ends), i64_const(&t, 1, axes)},
                   4, 1, NULL, 0);
  tg_output(&t, sl);
  int64_t *o = origins_of(&t, x, sl), *ro = origins_of(&t, x, r), *uo = origins_of(&t, r, u);
  CHECK(o && ro && uo);
  for (int c = 0; o && c < 4; c++)
    for (int i = 0; i < 4; i++) CHECK(o[c * 4 + i] == (i + 1) * 4 + c);
  for (int i = 0; ro && i < 24; i++) CHECK(ro[i] == i);
  for (int c = 0; uo && c < 4; c++)
    for (int i = 0; i < 6; i++) CHECK(uo[c * 6 + i] == i * 4 + c);
  free(o);
  free(ro);
  free(uo);
  tg_free(&t);
}

int main(void) {
  test_views();
  test_per_image();
  test_wide_concat();
  test_pad_default_value();
  test_via();
  test_transpose_slice();
  test_concat_constant();
  test_not_movement();
  CHECK_DONE();
}
