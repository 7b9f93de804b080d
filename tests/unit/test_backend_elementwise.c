/* test_backend_elementwise.c — the generated elementwise kernels against the evaluator: the ops whose
 * math is inline (vmath.h) and a few plain ones, on float32 tensors that take the vector rows (contiguous
 * lengths around the vector width and ROW_CHUNK, with tails; broadcasts whose last dim is a run or a
 * splatted value) and on float16 and float64 ones that take the scalar loop nest, at 1 and 3 threads. */
#include "backend_harness.h"
#include "check.h"

#define RTOL 1e-5
#define ATOL 2e-6

typedef struct unary_case {
  const char *name;
  vitc_op op;
  const char *approximate; /* Gelu's attribute, or NULL */
} unary_case;

static const unary_case unary[] = {
    {"Gelu", VITC_OP_Gelu, "none"}, {"Gelu(tanh)", VITC_OP_Gelu, "tanh"}, {"Erf", VITC_OP_Erf, NULL},
    {"Tanh", VITC_OP_Tanh, NULL},   {"Exp", VITC_OP_Exp, NULL},           {"Log", VITC_OP_Log, NULL},
    {"Sigmoid", VITC_OP_Sigmoid, NULL}, {"Silu", VITC_OP_Silu, NULL},     {"QuickGelu", VITC_OP_QuickGelu, NULL},
    {"Softplus", VITC_OP_Softplus, NULL}, {"Mish", VITC_OP_Mish, NULL},   {"Elu", VITC_OP_Elu, NULL},
    {"Selu", VITC_OP_Selu, NULL},   {"Celu", VITC_OP_Celu, NULL},         {"HardSwish", VITC_OP_HardSwish, NULL},
    {"Relu", VITC_OP_Relu, NULL},   {"Tan", VITC_OP_Tan, NULL},
};

/* Inputs in [-1, 1) scaled by 6 (through a Mul by a constant) reach the saturating ranges of the
 * activations; the scaled tensor is what the op sees. */
static void check_unary(const unary_case *c, vitc_dtype t, int64_t len, int nthreads) {
  char what[96];
  snprintf(what, sizeof what, "%s %s [%lld] %d threads", c->name, vitc_dtype_name(t), (long long)len, nthreads);
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, t, 1, &len), 0};
  vitc_value six = {.dtype = t, .rank = 0};
  six.data = calloc(1, 8);
  vitc_store_f(&six, 0, 6);
  in[1] = vitc_graph_add_constant(g.g, NULL, &six);
  free(six.data);
  int x = tg_node(&g, VITC_OP_Mul, in, 2, 1, NULL, 0);
  vitc_attr approx = {.name = "approximate", .type = VITC_ATTR_STRING, .s = c->approximate};
  tg_output(&g, tg_node(&g, c->op, &x, 1, 1, &approx, c->approximate ? 1 : 0));
  double rtol = t == VITC_F16 ? 2e-3 : RTOL;
  tg_check(&g, what, nthreads, rtol, ATOL);
}

/* a + b and a · b (Mul, then PRelu for a second input read per element) with broadcasting. */
static void check_binary(vitc_op op, int ra, const int64_t *da, int rb, const int64_t *db, int nthreads) {
  char what[96];
  snprintf(what, sizeof what, "%s rank %d by rank %d (last dims %lld, %lld) %d threads", vitc_ops[op].name, ra, rb,
           (long long)da[ra - 1], (long long)db[rb - 1], nthreads);
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, VITC_F32, ra, da), tg_input(&g, VITC_F32, rb, db)};
  tg_output(&g, tg_node(&g, op, in, 2, 1, NULL, 0));
  tg_check(&g, what, nthreads, RTOL, ATOL);
}

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

int main(void) {
  /* 1 and 7: one masked vector; 33: vectors and a tail; 4096·17 + 5: rows of ROW_CHUNK, parallel, and
   * a shorter last row with a tail. */
  const int64_t lens[] = {1, 7, 33, 4096 * 17 + 5};
  for (size_t c = 0; c < sizeof unary / sizeof *unary; c++)
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
      for (int threads = 1; threads <= 3; threads += 2) check_unary(&unary[c], VITC_F32, lens[l], threads);
  for (size_t c = 0; c < sizeof unary / sizeof *unary; c++) {
    check_unary(&unary[c], VITC_F64, 33, 1);
    check_unary(&unary[c], VITC_F16, 33, 3);
  }
  for (int threads = 1; threads <= 3; threads += 2) {
    check_binary(VITC_OP_Add, DIMS(3, 5, 17), DIMS(17), threads);        /* a run broadcast over rows */
    check_binary(VITC_OP_Add, DIMS(3, 5, 17), DIMS(5, 1), threads);      /* a value splatted per row */
    check_binary(VITC_OP_Mul, DIMS(2, 1, 40), DIMS(3, 1), threads);      /* both broadcast */
    check_binary(VITC_OP_PRelu, DIMS(64, 33, 37), DIMS(33, 1), threads); /* parallel rows, splat */
    check_binary(VITC_OP_Mul, DIMS(1), DIMS(70001), threads);            /* a scalar times a long tensor */
  }
  CHECK_DONE();
}
