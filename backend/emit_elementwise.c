/* emit_elementwise.c — kernels for elementwise ops: a loop nest over the output, inputs read through
 * broadcast strides, and per op a builder that says what one element is:
 *
 *   for each row (the output's dims but the last, merged where every operand is contiguous):
 *     for i over the last dim, a vector of vec_width at a time (the tail masked):   (rows across threads)
 *       out[o + i] = f(in0[a0 + i], in1[a1], …)       (a stride-0 operand is one value, splatted)
 *
 * A contiguous tensor is one long dim, cut into rows of ROW_CHUNK elements so that threads share it.
 * The builders take scalars or vectors alike (vec.h) and the transcendentals are vmath.h's, so no
 * element calls libm (vmath.h names the rare lanes that do). The vector form runs when every operand is
 * float32, or every one float64; other dtypes take a scalar loop nest, inputs converted to their compute
 * type (cg_load). */
#include <math.h>
#include <string.h>

#include "emit_rows.h"
#include "emitters.h"
#include "vmath.h"

#define ROW_CHUNK 4096 /* elements per row of a contiguous tensor: parallel work units of 16 KiB */

typedef LLVMValueRef (*scalar_fn)(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x);

/* Strides (in elements) of operand v seen at the output's shape; 0 along broadcast dims. */
static void operand_strides(const vitc_value *v, const vitc_value *out, int64_t *s) {
  int64_t own = 1;
  for (int d = out->rank - 1; d >= 0; d--) {
    int dv = d - (out->rank - v->rank);
    if (dv < 0) {
      s[d] = 0;
      continue;
    }
    s[d] = v->dims[dv] == 1 && out->dims[d] != 1 ? 0 : own;
    own *= v->dims[dv];
  }
}

#define MAX_OPERANDS 66

/* The loop nest of one node: operands 0..nin-1 are the inputs (absent ones have ptr NULL), nin the output. */
typedef struct map_nest {
  const vitc_node *n;
  scalar_fn f;
  const vitc_chain *chain; /* an ElementwiseChain's program, which stands for f; NULL for one op */
  int nin, rank;
  int64_t dims[VITC_MAX_RANK + 1];
  int64_t strides[MAX_OPERANDS][VITC_MAX_RANK + 1];
  LLVMValueRef ptr[MAX_OPERANDS];
  LLVMValueRef base[MAX_OPERANDS];  /* offset of the current row, per operand */
  LLVMValueRef splat[MAX_OPERANDS]; /* the row's value of a stride-0 operand, as a vector */
  LLVMTypeRef elem;                 /* the vector rows' element: float or double */
  int width;                        /* elements per vector: a register's */
} map_nest;

/* dims and strides of the output and inputs, dim d merged into d+1 where every operand steps through
 * both as one. */
static vitc_status map_nest_init(vitc_cg *cg, const vitc_node *n, scalar_fn f, const vitc_chain *chain, map_nest *m,
                                 vitc_error *err) {
  const vitc_value *out = cg_out_value(cg, 0);
  m->n = n;
  m->f = f;
  m->chain = chain;
  m->nin = n->nin;
  if (m->nin + 1 > MAX_OPERANDS) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "too many inputs (%d)", m->nin);
  m->rank = out->rank;
  memcpy(m->dims, out->dims, sizeof out->dims);
  for (int k = 0; k < m->nin; k++) {
    m->ptr[k] = cg_in(cg, k);
    if (m->ptr[k]) operand_strides(cg_in_value(cg, k), out, m->strides[k]);
  }
  m->ptr[m->nin] = cg_out(cg, 0);
  operand_strides(out, out, m->strides[m->nin]);
  for (int d = m->rank - 2; d >= 0; d--) {
    bool mergeable = true;
    for (int k = 0; k <= m->nin; k++)
      if (m->ptr[k] && m->strides[k][d] != m->strides[k][d + 1] * m->dims[d + 1]) mergeable = false;
    if (!mergeable) continue;
    m->dims[d] *= m->dims[d + 1];
    for (int k = 0; k <= m->nin; k++) {
      m->strides[k][d] = m->strides[k][d + 1];
      memmove(&m->strides[k][d + 1], &m->strides[k][d + 2], sizeof(int64_t) * (size_t)(m->rank - d - 2));
    }
    memmove(&m->dims[d + 1], &m->dims[d + 2], sizeof(int64_t) * (size_t)(m->rank - d - 2));
    m->rank--;
  }
  return VITC_OK;
}

static LLVMValueRef chain_element(vitc_cg *cg, const vitc_node *n, const vitc_chain *c, LLVMValueRef *x);

/* One element (a scalar or a vector of them) of the output from the operands' x. */
static LLVMValueRef map_element(vitc_cg *cg, const map_nest *m, LLVMValueRef *x) {
  return m->chain ? chain_element(cg, m->n, m->chain, x) : m->f(cg, m->n, x);
}

/* ---------------------------------------------------------------- scalar loop nest */

static void emit_scalar_map(vitc_cg *cg, map_nest *m) {
  cg_loop loops[VITC_MAX_RANK];
  LLVMValueRef index[MAX_OPERANDS];
  for (int k = 0; k <= m->nin; k++) index[k] = cg_i64(cg, 0);
  for (int d = 0; d < m->rank; d++) {
    loops[d] = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, m->dims[d]), 1);
    for (int k = 0; k <= m->nin; k++)
      if (m->ptr[k] && m->strides[k][d]) index[k] = ix_add(cg, index[k], ix_mulk(cg, loops[d].iv, m->strides[k][d]));
  }
  LLVMValueRef x[MAX_OPERANDS];
  for (int k = 0; k < m->nin; k++) x[k] = m->ptr[k] ? cg_load(cg, m->ptr[k], index[k], cg_in_value(cg, k)->dtype) : NULL;
  cg_store(cg, m->ptr[m->nin], index[m->nin], cg_out_value(cg, 0)->dtype, map_element(cg, m, x));
  for (int d = m->rank - 1; d >= 0; d--) cg_loop_end(cg, &loops[d]);
}

/* ---------------------------------------------------------------- float32 and float64 vector rows */

/* Every operand float32, or every one float64, and the last dim contiguous (stride 1) or broadcast
 * (stride 0) in each; sets the rows' element type and vector width. */
static bool vectorisable(vitc_cg *cg, map_nest *m) {
  if (m->rank == 0) return false;
  for (int d = 0; d < m->rank; d++)
    if (m->dims[d] == 0) return false;
  vitc_dtype t = cg_out_value(cg, 0)->dtype;
  if (t != VITC_F32 && t != VITC_F64) return false;
  for (int k = 0; k <= m->nin; k++) {
    const vitc_value *v = k < m->nin ? cg_in_value(cg, k) : cg_out_value(cg, 0);
    if (v && (v->dtype != t || m->strides[k][m->rank - 1] > 1)) return false;
  }
  m->elem = t == VITC_F32 ? cg->f32 : cg->f64;
  m->width = t == VITC_F32 ? vec_width(cg) : vec_width(cg) / 2;
  return true;
}

static void map_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  map_nest *m = state;
  LLVMTypeRef vt = vec_of(cg, m->elem, m->width);
  LLVMValueRef x[MAX_OPERANDS];
  for (int k = 0; k < m->nin; k++)
    x[k] = !m->ptr[k]    ? NULL
           : m->splat[k] ? m->splat[k]
                         : vec_load(cg, vt, vec_gep(cg, m->elem, m->ptr[k], ix_add(cg, m->base[k], i)), lanes);
  vec_store(cg, map_element(cg, m, x), vec_gep(cg, m->elem, m->ptr[m->nin], ix_add(cg, m->base[m->nin], i)), lanes);
}

/* One row of len elements at the offsets m->base. */
static void map_row(vitc_cg *cg, map_nest *m, int64_t len) {
  int last = m->rank - 1;
  for (int k = 0; k < m->nin; k++)
    m->splat[k] = m->ptr[k] && !m->strides[k][last]
                      ? vec_splat(cg, vec_load1(cg, m->elem, vec_gep(cg, m->elem, m->ptr[k], m->base[k])),
                                  vec_of(cg, m->elem, m->width))
                      : NULL;
  vec_for(cg, cg_i64(cg, 0), len, m->width, map_vector, m);
}

/* Rows r of the dims but the last, across the runtime pool when large; a contiguous tensor (one dim)
 * first becomes rows of ROW_CHUNK and a shorter last row. */
static void emit_vector_map(vitc_cg *cg, map_nest *m) {
  int64_t total = 1;
  for (int d = 0; d < m->rank; d++) total *= m->dims[d];
  if (m->rank == 1 && m->dims[0] > ROW_CHUNK) {
    m->dims[1] = ROW_CHUNK;
    m->dims[0] /= ROW_CHUNK;
    for (int k = 0; k <= m->nin; k++) m->strides[k][1] = m->strides[k][0], m->strides[k][0] *= ROW_CHUNK;
    m->rank = 2;
  }
  int64_t rows = 1, len = m->dims[m->rank - 1];
  for (int d = 0; d < m->rank - 1; d++) rows *= m->dims[d];
  LLVMValueRef *ptrs = m->ptr, outer[MAX_OPERANDS];
  memcpy(outer, m->ptr, sizeof(LLVMValueRef) * (size_t)(m->nin + 1));
  row_loop l;
  LLVMValueRef r = rows_begin(cg, &l, rows, total, ptrs, m->nin + 1);
  for (int k = 0; k <= m->nin; k++) m->base[k] = cg_i64(cg, 0);
  LLVMValueRef rest = r;
  for (int d = m->rank - 2; d >= 0; d--) {
    LLVMValueRef digit = d ? ix_remk(cg, rest, m->dims[d]) : rest;
    if (d) rest = ix_divk(cg, rest, m->dims[d]);
    for (int k = 0; k <= m->nin; k++)
      if (m->ptr[k] && m->strides[k][d]) m->base[k] = ix_add(cg, m->base[k], ix_mulk(cg, digit, m->strides[k][d]));
  }
  map_row(cg, m, len);
  rows_end(cg, &l);
  memcpy(m->ptr, outer, sizeof(LLVMValueRef) * (size_t)(m->nin + 1));
  int64_t done = rows * len;
  if (done < total) { /* the contiguous tensor's last, shorter row */
    for (int k = 0; k <= m->nin; k++) m->base[k] = cg_i64(cg, m->strides[k][1] ? done : 0);
    map_row(cg, m, total - done);
  }
}

/* Everything elementwise is emitted here: nin inputs (absent ones skipped), one output, each element f of
 * the inputs' or (f NULL) chain's steps on them. */
static vitc_status emit_nest(vitc_cg *cg, const vitc_node *n, scalar_fn f, const vitc_chain *chain, vitc_error *err) {
  map_nest m;
  vitc_status st = map_nest_init(cg, n, f, chain, &m, err);
  if (st) return st;
  if (vectorisable(cg, &m)) emit_vector_map(cg, &m);
  else emit_scalar_map(cg, &m);
  return VITC_OK;
}

static vitc_status emit_map(vitc_cg *cg, const vitc_node *n, scalar_fn f, vitc_error *err) {
  return emit_nest(cg, n, f, NULL, err);
}

/* ---------------------------------------------------------------- helpers */


static bool input_unsigned(vitc_cg *cg, int k) {
  vitc_dtype t = cg_in_value(cg, k)->dtype;
  return !vitc_dtype_is_float(t) && !vitc_dtype_is_signed(t);
}



static LLVMValueRef flt(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return vec_cmp(cg, LLVMRealOLT, a, b); }
static LLVMValueRef fgt(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return vec_cmp(cg, LLVMRealOGT, a, b); }

/* NaN-propagating min and max, as numpy's minimum/maximum. */
static LLVMValueRef min2(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, bool is_unsigned) {
  if (!vec_is_float(a)) return vec_select(cg, vec_icmp(cg, is_unsigned ? LLVMIntULT : LLVMIntSLT, a, b), a, b);
  LLVMValueRef a_nan = vec_cmp(cg, LLVMRealUNO, a, a);
  return vec_select(cg, a_nan, a, vec_select(cg, vec_cmp(cg, LLVMRealULT, a, b), a, b));
}

static LLVMValueRef max2(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, bool is_unsigned) {
  if (!vec_is_float(a)) return vec_select(cg, vec_icmp(cg, is_unsigned ? LLVMIntUGT : LLVMIntSGT, a, b), a, b);
  LLVMValueRef a_nan = vec_cmp(cg, LLVMRealUNO, a, a);
  return vec_select(cg, a_nan, a, vec_select(cg, vec_cmp(cg, LLVMRealUGT, a, b), a, b));
}

static LLVMValueRef attr_const(vitc_cg *cg, const vitc_node *n, LLVMValueRef like, const char *name, double dflt) {
  return vec_k(cg, like, vitc_attr_float(n, name, dflt));
}

/* ---------------------------------------------------------------- unary math */

static LLVMValueRef s_Abs(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (vec_is_float(x[0])) return vec_call1(cg, "llvm.fabs", x[0]);
  if (input_unsigned(cg, 0)) return x[0];
  return vec_select(cg, vec_icmp(cg, LLVMIntSLT, x[0], vec_k(cg, x[0], 0)), vec_ineg(cg, x[0]), x[0]);
}
static LLVMValueRef s_Neg(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_is_float(x[0]) ? vec_neg(cg, x[0]) : vec_ineg(cg, x[0]);
}
static LLVMValueRef s_Sqrt(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_call1(cg, "llvm.sqrt", x[0]); }
static LLVMValueRef s_Reciprocal(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_div(cg, vec_k(cg, x[0], 1), x[0]); }
static LLVMValueRef s_Exp(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_exp(cg, x[0]); }
static LLVMValueRef s_Log(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_log(cg, x[0]); }
static LLVMValueRef s_Erf(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_erf(cg, x[0]); }
static LLVMValueRef s_Tanh(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_tanh(cg, x[0]); }
static LLVMValueRef s_Sigmoid(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_sigmoid(cg, x[0]); }
static LLVMValueRef s_Floor(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_call1(cg, "llvm.floor", x[0]); }
static LLVMValueRef s_Ceil(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_call1(cg, "llvm.ceil", x[0]); }
static LLVMValueRef s_Round(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_call1(cg, "llvm.roundeven", x[0]); }
static LLVMValueRef s_Sign(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (vec_is_float(x[0]))
    return vec_select(cg, fgt(cg, x[0], vec_k(cg, x[0], 0)), vec_k(cg, x[0], 1),
               vec_select(cg, flt(cg, x[0], vec_k(cg, x[0], 0)), vec_k(cg, x[0], -1), vec_mul(cg, x[0], vec_k(cg, x[0], 0))));
  LLVMValueRef pos = vec_icmp(cg, input_unsigned(cg, 0) ? LLVMIntUGT : LLVMIntSGT, x[0], vec_k(cg, x[0], 0));
  LLVMValueRef neg = vec_icmp(cg, LLVMIntSLT, x[0], vec_k(cg, x[0], 0));
  if (input_unsigned(cg, 0)) neg = LLVMConstInt(cg->i1, 0, false);
  return vec_select(cg, pos, vec_k(cg, x[0], 1), vec_select(cg, neg, vec_k(cg, x[0], -1), vec_k(cg, x[0], 0)));
}
#define VMATH_OP(Op, fn) \
  static LLVMValueRef s_##Op(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return fn(cg, x[0]); }
VMATH_OP(Sin, vm_sin)
VMATH_OP(Cos, vm_cos)
VMATH_OP(Tan, vm_tan)
VMATH_OP(Asin, vm_asin)
VMATH_OP(Acos, vm_acos)
VMATH_OP(Atan, vm_atan)
VMATH_OP(Sinh, vm_sinh)
VMATH_OP(Cosh, vm_cosh)
VMATH_OP(Asinh, vm_asinh)
VMATH_OP(Acosh, vm_acosh)
VMATH_OP(Atanh, vm_atanh)
static LLVMValueRef s_IsNaN(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_cmp(cg, LLVMRealUNO, x[0], x[0]);
}
static LLVMValueRef s_IsInf(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef pos = vec_cmp(cg, LLVMRealOEQ, x[0], vec_k(cg, x[0], INFINITY));
  LLVMValueRef neg = vec_cmp(cg, LLVMRealOEQ, x[0], vec_k(cg, x[0], -INFINITY));
  LLVMValueRef no = LLVMConstInt(cg->i1, 0, false);
  if (!vitc_attr_int(n, "detect_positive", 1)) pos = no;
  if (!vitc_attr_int(n, "detect_negative", 1)) neg = no;
  return vec_or(cg, pos, neg);
}
static LLVMValueRef s_Not(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_not(cg, x[0]); }

/* ---------------------------------------------------------------- activations */

static LLVMValueRef s_Relu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (!vec_is_float(x[0])) return max2(cg, x[0], vec_k(cg, x[0], 0), input_unsigned(cg, 0));
  return vec_select(cg, flt(cg, x[0], vec_k(cg, x[0], 0)), vec_k(cg, x[0], 0), x[0]);
}
static LLVMValueRef s_LeakyRelu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_select(cg, flt(cg, x[0], vec_k(cg, x[0], 0)), vec_mul(cg, x[0], attr_const(cg, n, x[0], "alpha", 0.01)), x[0]);
}
static LLVMValueRef s_PRelu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (!vec_is_float(x[0]))
    return vec_select(cg, vec_icmp(cg, LLVMIntSLT, x[0], vec_k(cg, x[0], 0)), vec_imul(cg, x[0], x[1]), x[0]);
  return vec_select(cg, flt(cg, x[0], vec_k(cg, x[0], 0)), vec_mul(cg, x[0], x[1]), x[0]);
}
static LLVMValueRef expm1_scaled(vitc_cg *cg, LLVMValueRef x, LLVMValueRef alpha) {
  return vec_mul(cg, alpha, vec_sub(cg, vm_exp(cg, x), vec_k(cg, x, 1)));
}
static LLVMValueRef s_Elu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_select(cg, flt(cg, x[0], vec_k(cg, x[0], 0)), expm1_scaled(cg, x[0], attr_const(cg, n, x[0], "alpha", 1)), x[0]);
}
static LLVMValueRef s_Selu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef alpha = attr_const(cg, n, x[0], "alpha", 1.67326319217681884765625);
  LLVMValueRef gamma = attr_const(cg, n, x[0], "gamma", 1.05070102214813232421875);
  return vec_mul(cg, gamma, vec_select(cg, fgt(cg, x[0], vec_k(cg, x[0], 0)), x[0], expm1_scaled(cg, x[0], alpha)));
}
static LLVMValueRef s_Celu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef alpha = attr_const(cg, n, x[0], "alpha", 1);
  LLVMValueRef neg = expm1_scaled(cg, vec_div(cg, x[0], alpha), alpha);
  return vec_add(cg, max2(cg, x[0], vec_k(cg, x[0], 0), false), min2(cg, neg, vec_k(cg, x[0], 0), false));
}
static LLVMValueRef s_ThresholdedRelu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_select(cg, fgt(cg, x[0], attr_const(cg, n, x[0], "alpha", 1)), x[0], vec_k(cg, x[0], 0));
}
static LLVMValueRef clamp01(vitc_cg *cg, LLVMValueRef v) {
  return max2(cg, vec_k(cg, v, 0), min2(cg, vec_k(cg, v, 1), v, false), false);
}
static LLVMValueRef s_HardSigmoid(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = vec_add(cg, vec_mul(cg, x[0], attr_const(cg, n, x[0], "alpha", 0.2)), attr_const(cg, n, x[0], "beta", 0.5));
  return clamp01(cg, v);
}
static LLVMValueRef s_HardSwish(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_mul(cg, x[0], clamp01(cg, vec_add(cg, vec_mul(cg, x[0], vec_k(cg, x[0], 1.0 / 6)), vec_k(cg, x[0], 0.5))));
}
/* log(1 + e^x) as max(x, 0) + log(1 + e^-|x|): e^x cannot overflow. */
static LLVMValueRef softplus(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef e = vm_exp(cg, vec_neg(cg, vec_call1(cg, "llvm.fabs", x)));
  return vec_add(cg, max2(cg, x, vec_k(cg, x, 0), false), vm_log(cg, vec_add(cg, e, vec_k(cg, x, 1))));
}
static LLVMValueRef s_Softplus(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return softplus(cg, x[0]); }
static LLVMValueRef s_Softsign(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_div(cg, x[0], vec_add(cg, vec_k(cg, x[0], 1), vec_call1(cg, "llvm.fabs", x[0])));
}
static LLVMValueRef s_Mish(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_mul(cg, x[0], vm_tanh(cg, softplus(cg, x[0])));
}
static LLVMValueRef s_Gelu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  bool tanh_form = !strcmp(vitc_attr_str(n, "approximate", "none"), "tanh");
  return tanh_form ? vm_gelu_tanh(cg, x[0]) : vm_gelu_erf(cg, x[0]);
}
static LLVMValueRef s_QuickGelu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vm_quick_gelu(cg, x[0], vitc_attr_float(n, "alpha", 1.702));
}
static LLVMValueRef s_Silu(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vm_silu(cg, x[0]); }
static LLVMValueRef s_Shrink(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = vec_is_float(x[0]) ? x[0] : vec_sitofp(cg, x[0], cg->f64);
  double lambd = vitc_attr_float(n, "lambd", 0.5), bias = vitc_attr_float(n, "bias", 0);
  LLVMValueRef r = vec_select(cg, flt(cg, v, vec_k(cg, v, -lambd)), vec_add(cg, v, vec_k(cg, v, bias)),
                       vec_select(cg, fgt(cg, v, vec_k(cg, v, lambd)), vec_sub(cg, v, vec_k(cg, v, bias)), vec_k(cg, v, 0)));
  return vec_is_float(x[0]) ? r : vec_fptosi(cg, r, LLVMTypeOf(x[0]));
}
static LLVMValueRef s_Clip(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  bool u = input_unsigned(cg, 0);
  LLVMValueRef v = x[0];
  if (n->nin > 1 && x[1]) v = max2(cg, v, x[1], u);
  if (n->nin > 2 && x[2]) v = min2(cg, v, x[2], u);
  return v;
}

/* ---------------------------------------------------------------- binary and variadic */

static LLVMValueRef s_Add(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_is_float(x[0]) ? vec_add(cg, x[0], x[1]) : vec_iadd(cg, x[0], x[1]);
}
static LLVMValueRef s_Sub(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_is_float(x[0]) ? vec_sub(cg, x[0], x[1]) : vec_isub(cg, x[0], x[1]);
}
static LLVMValueRef s_Mul(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return vec_is_float(x[0]) ? vec_mul(cg, x[0], x[1]) : vec_imul(cg, x[0], x[1]);
}
/* Integer division by zero (and INT64_MIN / -1) would trap: the divisor is made safe and such lanes
 * give 0, as the evaluator does. */
static LLVMValueRef s_Div(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (vec_is_float(x[0])) return vec_div(cg, x[0], x[1]);
  bool u = input_unsigned(cg, 0);
  LLVMValueRef zero = vec_icmp(cg, LLVMIntEQ, x[1], vec_k(cg, x[1], 0));
  LLVMValueRef minus1 = vec_icmp(cg, LLVMIntEQ, x[1], vec_k(cg, x[1], -1));
  LLVMValueRef safe = vec_select(cg, vec_or(cg, zero, minus1), vec_k(cg, x[1], 1), x[1]);
  LLVMValueRef q = u ? ix_div(cg, x[0], safe) : vec_sdiv(cg, x[0], safe);
  if (!u) q = vec_select(cg, minus1, vec_ineg(cg, x[0]), q);
  return vec_select(cg, zero, vec_k(cg, x[0], 0), q);
}
/* Integers by squaring in int64 (the evaluator's arithmetic, wrapping to the base's dtype); with a float
 * operand in float, or double when either is double or the base an integer. A scalar constant exponent
 * (of the node, or of a chain's step: its in[] names the tensors) may take vm_pow_known's cheaper form. */
static LLVMValueRef s_Pow(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  vitc_dtype tb = cg_in_value(cg, 0)->dtype, te = cg_in_value(cg, 1)->dtype;
  if (!vitc_dtype_is_float(tb) && !vitc_dtype_is_float(te))
    return cg_convert(cg, vm_ipow(cg, cg_convert(cg, x[0], tb, VITC_I64), cg_convert(cg, x[1], te, VITC_I64)), VITC_I64,
                      tb);
  vitc_dtype work = tb == VITC_F64 || te == VITC_F64 || !vitc_dtype_is_float(tb) ? VITC_F64 : VITC_F32;
  LLVMValueRef b = cg_convert(cg, x[0], tb, work), e = cg_convert(cg, x[1], te, work), known = NULL;
  const vitc_value *ev = n->in[1] >= 0 ? &cg->g->tensors[n->in[1]].v : NULL;
  if (ev && ev->data && vitc_numel(ev) == 1) known = vm_pow_known(cg, b, vitc_load_f(ev, 0));
  return cg_convert(cg, known ? known : vm_pow(cg, b, e), work, tb);
}
static LLVMValueRef s_Mod(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  if (vec_is_float(x[0])) {
    LLVMValueRef r = vm_fmod(cg, x[0], x[1]);
    if (vitc_attr_int(n, "fmod", 0)) return r;
    LLVMValueRef fix = vec_and(cg, vec_cmp(cg, LLVMRealONE, r, vec_k(cg, r, 0)), vec_xor(cg, flt(cg, r, vec_k(cg, r, 0)), flt(cg, x[1], vec_k(cg, r, 0))));
    return vec_select(cg, fix, vec_add(cg, r, x[1]), r);
  }
  bool u = input_unsigned(cg, 0);
  LLVMValueRef zero = vec_icmp(cg, LLVMIntEQ, x[1], vec_k(cg, x[1], 0));
  LLVMValueRef safe = vec_select(cg, zero, vec_k(cg, x[1], 1), x[1]);
  LLVMValueRef r = u ? ix_rem(cg, x[0], safe) : vec_srem(cg, x[0], safe);
  if (!u && !vitc_attr_int(n, "fmod", 0)) {
    LLVMValueRef rneg = vec_icmp(cg, LLVMIntSLT, r, vec_k(cg, r, 0));
    LLVMValueRef yneg = vec_icmp(cg, LLVMIntSLT, x[1], vec_k(cg, r, 0));
    LLVMValueRef fix = vec_and(cg, vec_icmp(cg, LLVMIntNE, r, vec_k(cg, r, 0)), vec_xor(cg, rneg, yneg));
    r = vec_select(cg, fix, vec_iadd(cg, r, x[1]), r);
  }
  return vec_select(cg, zero, vec_k(cg, x[0], 0), r);
}
static LLVMValueRef s_BitShift(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  int bits = (int)vitc_dtype_size(cg_in_value(cg, 0)->dtype) * 8;
  LLVMValueRef too_far = vec_icmp(cg, LLVMIntUGE, x[1], vec_k(cg, x[1], bits));
  LLVMValueRef amount = vec_select(cg, too_far, vec_k(cg, x[1], 0), x[1]);
  bool left = !strcmp(vitc_attr_str(n, "direction", "LEFT"), "LEFT");
  LLVMValueRef r = left ? vec_shl(cg, x[0], amount) : vec_lshr(cg, x[0], amount);
  return vec_select(cg, too_far, vec_k(cg, x[0], 0), r);
}
static LLVMValueRef s_Min(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = x[0];
  for (int k = 1; k < n->nin; k++) v = min2(cg, v, x[k], input_unsigned(cg, 0));
  return v;
}
static LLVMValueRef s_Max(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = x[0];
  for (int k = 1; k < n->nin; k++) v = max2(cg, v, x[k], input_unsigned(cg, 0));
  return v;
}
static LLVMValueRef s_Sum(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = x[0];
  for (int k = 1; k < n->nin; k++) v = vec_is_float(v) ? vec_add(cg, v, x[k]) : vec_iadd(cg, v, x[k]);
  return v;
}
static LLVMValueRef s_Mean(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef v = s_Sum(cg, n, x);
  return vec_is_float(v) ? vec_div(cg, v, vec_k(cg, v, n->nin)) : vec_sdiv(cg, v, vec_k(cg, v, n->nin));
}

static LLVMValueRef compare(vitc_cg *cg, LLVMValueRef *x, LLVMRealPredicate fp, LLVMIntPredicate si, LLVMIntPredicate ui) {
  if (vec_is_float(x[0])) return vec_cmp(cg, fp, x[0], x[1]);
  return vec_icmp(cg, input_unsigned(cg, 0) ? ui : si, x[0], x[1]);
}
static LLVMValueRef s_Equal(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return compare(cg, x, LLVMRealOEQ, LLVMIntEQ, LLVMIntEQ); }
static LLVMValueRef s_Less(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return compare(cg, x, LLVMRealOLT, LLVMIntSLT, LLVMIntULT); }
static LLVMValueRef s_LessOrEqual(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return compare(cg, x, LLVMRealOLE, LLVMIntSLE, LLVMIntULE); }
static LLVMValueRef s_Greater(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return compare(cg, x, LLVMRealOGT, LLVMIntSGT, LLVMIntUGT); }
static LLVMValueRef s_GreaterOrEqual(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return compare(cg, x, LLVMRealOGE, LLVMIntSGE, LLVMIntUGE); }
static LLVMValueRef s_And(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_and(cg, x[0], x[1]); }
static LLVMValueRef s_Or(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_or(cg, x[0], x[1]); }
static LLVMValueRef s_Xor(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_xor(cg, x[0], x[1]); }
static LLVMValueRef s_Where(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) { return vec_select(cg, x[0], x[1], x[2]); }
static LLVMValueRef s_Cast(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  return cg_convert(cg, x[0], cg_in_value(cg, 0)->dtype, cg_out_value(cg, 0)->dtype);
}

/* ---------------------------------------------------------------- quantisation (ir/ops/quant.c's arithmetic) */

/* saturate(roundeven(x / scale) + zero_point): the division, not a multiply by 1/scale, as ORT and the
 * evaluator divide. */
static LLVMValueRef s_QuantizeLinear(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  vitc_dtype t = cg_out_value(cg, 0)->dtype;
  int64_t lo, hi;
  vitc_quant_range(t, &lo, &hi);
  LLVMValueRef q = vec_call1(cg, "llvm.roundeven", vec_div(cg, x[0], x[1]));
  if (n->nin > 2 && x[2]) q = vec_add(cg, q, cg_convert(cg, x[2], cg_in_value(cg, 2)->dtype, VITC_F32));
  return cg_convert(cg, vec_clamp(cg, q, (double)lo, (double)hi), VITC_F32, t);
}
/* (x - zero_point) · scale, the difference taken in integers. */
static LLVMValueRef s_DequantizeLinear(vitc_cg *cg, const vitc_node *n, LLVMValueRef *x) {
  LLVMValueRef d = n->nin > 2 && x[2] ? vec_isub(cg, x[0], x[2]) : x[0];
  return vec_mul(cg, cg_convert(cg, d, cg_in_value(cg, 0)->dtype, VITC_F32), x[1]);
}

/* A per-axis scale broadcasts as numpy's rules do only along the last axis; elsewhere (weights) the
 * node's value is known at compile time and folded before the backend sees it. */
static vitc_status check_quant_axis(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *scale = cg_in_value(cg, 1);
  int64_t axis = vitc_attr_int(n, "axis", 1);
  if (vitc_numel(scale) != 1 && axis != x->rank - 1 && axis != -1)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED,
                     "%s along axis %lld of a run-time tensor (rank %d): the backend takes per-tensor scales or "
                     "scales along the last axis", vitc_ops[n->op].name, (long long)axis, x->rank);
  return VITC_OK;
}
/* Per-tensor quantisation between float32 and 8-bit integers, the activations of a QDQ model: the tensor as
 * one run of elements, in vectors (the loop nest above vectorises float32 only), cut into rows of
 * ROW_CHUNK for the pool. The same arithmetic as s_QuantizeLinear / s_DequantizeLinear:
 *   Quantize:    y = bytes(clamp(roundeven(x / scale) + zp, lo, hi))
 *   Dequantize:  y = (float(x) - float(zp)) · scale      (the integer difference, exact in float) */
typedef struct byte_run {
  bool quantise, is_unsigned; /* direction; the 8-bit side's signedness */
  double lo, hi;
  LLVMValueRef ptr[4];         /* x, scale, zero point (NULL: 0), y */
  LLVMValueRef scale, zp;      /* splatted float vectors */
} byte_run;

/* Integral q within the byte type's range as bytes: float to signed bytes is exact for int8; uint8 goes
 * through q - 128 and gets its top bit back. */
static LLVMValueRef to_bytes(vitc_cg *cg, LLVMValueRef q, bool is_unsigned) {
  LLVMTypeRef bt = vec_with_elem(LLVMTypeOf(q), cg->i8);
  if (!is_unsigned) return vec_fptosi(cg, q, bt);
  LLVMValueRef b = vec_fptosi(cg, vec_sub(cg, q, vec_k(cg, q, 128)), bt);
  return vec_xor(cg, b, vec_k(cg, b, -128));
}

static void byte_run_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  byte_run *r = state;
  LLVMTypeRef ft = vec_f32(cg), bt = vec_with_elem(ft, cg->i8);
  if (r->quantise) {
    LLVMValueRef x = vec_load(cg, ft, gep_f32(cg, r->ptr[0], i), lanes);
    LLVMValueRef q = vec_add(cg, vec_call1(cg, "llvm.roundeven", vec_div(cg, x, r->scale)), r->zp);
    vec_store(cg, to_bytes(cg, vec_clamp(cg, q, r->lo, r->hi), r->is_unsigned), vec_gep(cg, cg->i8, r->ptr[3], i), lanes);
  } else {
    LLVMValueRef b = vec_load(cg, bt, vec_gep(cg, cg->i8, r->ptr[0], i), lanes);
    LLVMValueRef x = r->is_unsigned ? vec_uitofp(cg, b, ft) : vec_sitofp(cg, b, ft);
    vec_store(cg, vec_mul(cg, vec_sub(cg, x, r->zp), r->scale), gep_f32(cg, r->ptr[3], i), lanes);
  }
}

/* Elements [lo, lo + len) with the pointers r->ptr (the function's, or a task's). */
static void byte_run_span(vitc_cg *cg, byte_run *r, LLVMValueRef lo, int64_t len, vitc_dtype zp_type) {
  LLVMValueRef zero = cg_i64(cg, 0);
  r->scale = vec_splat(cg, vec_load1(cg, cg->f32, r->ptr[1]), vec_f32(cg));
  r->zp = vec_const(cg, vec_f32(cg), 0);
  if (r->ptr[2]) r->zp = vec_splat(cg, cg_convert(cg, cg_load(cg, r->ptr[2], zero, zp_type), zp_type, VITC_F32), vec_f32(cg));
  vec_for(cg, lo, len, vec_width(cg), byte_run_vector, r);
}

/* The run's form applies: float32 and int8/uint8 on the two sides, a float32 scale and zero point of one
 * element each. */
static bool emit_byte_run(vitc_cg *cg, const vitc_node *n, bool quantise) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0), *scale = cg_in_value(cg, 1);
  const vitc_value *zp = n->nin > 2 ? cg_in_value(cg, 2) : NULL, *bytes = quantise ? y : x;
  int64_t lo, hi, total = vitc_numel(y);
  if ((quantise ? x : y)->dtype != VITC_F32 || (bytes->dtype != VITC_U8 && bytes->dtype != VITC_I8) ||
      scale->dtype != VITC_F32 || vitc_numel(scale) != 1 || (zp && vitc_numel(zp) != 1) || total == 0)
    return false;
  vitc_quant_range(bytes->dtype, &lo, &hi);
  byte_run r = {.quantise = quantise, .is_unsigned = bytes->dtype == VITC_U8, .lo = (double)lo, .hi = (double)hi,
                .ptr = {cg_in(cg, 0), cg_in(cg, 1), zp ? cg_in(cg, 2) : NULL, cg_out(cg, 0)}};
  LLVMValueRef outer[4];
  memcpy(outer, r.ptr, sizeof outer);
  int64_t rows = total / ROW_CHUNK;
  row_loop l;
  LLVMValueRef row = rows_begin(cg, &l, rows, total, r.ptr, 4);
  byte_run_span(cg, &r, ix_mulk(cg, row, ROW_CHUNK), ROW_CHUNK, zp ? zp->dtype : VITC_U8);
  rows_end(cg, &l);
  memcpy(r.ptr, outer, sizeof outer);
  if (total > rows * ROW_CHUNK) byte_run_span(cg, &r, cg_i64(cg, rows * ROW_CHUNK), total - rows * ROW_CHUNK, zp ? zp->dtype : VITC_U8);
  return true;
}

vitc_status emit_QuantizeLinear(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  vitc_status st = check_quant_axis(cg, n, err);
  return st || emit_byte_run(cg, n, true) ? st : emit_map(cg, n, s_QuantizeLinear, err);
}
vitc_status emit_DequantizeLinear(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  vitc_status st = check_quant_axis(cg, n, err);
  return st || emit_byte_run(cg, n, false) ? st : emit_map(cg, n, s_DequantizeLinear, err);
}

/* Ops built here from a scalar builder each: the emit_Op that ops.def names for them. */
#define VITC_ELEMENTWISE_EMITTERS(X)                                                                    \
  X(Abs) X(Neg) X(Sqrt) X(Reciprocal) X(Exp) X(Log) X(Erf) X(Tanh) X(Sigmoid) X(Floor) X(Ceil) X(Round)   \
  X(Sign) X(Sin) X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh)        \
  X(IsNaN) X(IsInf) X(Not) X(Relu) X(LeakyRelu) X(PRelu) X(Elu) X(Selu) X(Celu) X(ThresholdedRelu)       \
  X(HardSigmoid) X(HardSwish) X(Softplus) X(Softsign) X(Mish) X(Gelu) X(QuickGelu) X(Silu) X(Shrink)     \
  X(Clip) X(Add) X(Sub)                                                                                 \
  X(Mul) X(Div) X(Pow) X(Mod) X(BitShift) X(Min) X(Max) X(Sum) X(Mean) X(Equal) X(Less) X(LessOrEqual)   \
  X(Greater) X(GreaterOrEqual) X(And) X(Or) X(Xor) X(Where) X(Cast)

/* Ops whose inputs and output share a dtype compute in it; comparisons, Cast and Pow convert
 * explicitly above. Float16 and bfloat16 compute in float (cg_load), as the evaluator does. */
#define ELEMENTWISE(Op) \
  vitc_status emit_##Op(vitc_cg *cg, const vitc_node *n, vitc_error *err) { return emit_map(cg, n, s_##Op, err); }
VITC_ELEMENTWISE_EMITTERS(ELEMENTWISE)

/* ---------------------------------------------------------------- chains (ir/ops/elementwise_chain.c) */

/* Each op's builder, for the steps of a chain. */
#define BUILDER(Op) [VITC_OP_##Op] = s_##Op,
static const scalar_fn builders[VITC_OP_COUNT] = {VITC_ELEMENTWISE_EMITTERS(BUILDER)};
#undef BUILDER

/* One vector of the output: each step's builder on the inputs' vectors and the earlier steps' results, as
 * the member node it stands for (no attributes: passes/fuse_elementwise_chains takes none that have; its
 * inputs the chain's tensors, so that a builder sees which are constants). */
static LLVMValueRef chain_element(vitc_cg *cg, const vitc_node *n, const vitc_chain *c, LLVMValueRef *x) {
  LLVMValueRef step[VITC_CHAIN_MAX_STEPS];
  for (int s = 0; s < c->nsteps; s++) {
    int tensors[2]; /* the chain's input tensor an operand is, -1 for an earlier step's result */
    vitc_node member = {.op = c->ops[s], .name = n->name, .nin = vitc_ops[c->ops[s]].max_in, .nout = 1, .in = tensors};
    LLVMValueRef operands[2];
    for (int j = 0; j < 2; j++) {
      bool input = c->arg[s][j] < c->nin;
      operands[j] = input ? x[c->arg[s][j]] : step[c->arg[s][j] - c->nin];
      tensors[j] = input ? n->in[c->arg[s][j]] : -1;
    }
    step[s] = builders[c->ops[s]](cg, &member, operands);
  }
  return step[c->nsteps - 1];
}

/* The shape rule has checked the operands' dtypes: all float32. */
vitc_status emit_ElementwiseChain(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  vitc_chain c;
  vitc_status st = vitc_chain_decode(n, &c, err);
  for (int s = 0; !st && s < c.nsteps; s++)
    if (!builders[c.ops[s]])
      st = vitc_fail(err, VITC_ERR_UNSUPPORTED, "ElementwiseChain step %d: no vector builder for %s", s, vitc_ops[c.ops[s]].name);
  return st ? st : emit_nest(cg, n, NULL, &c, err);
}
