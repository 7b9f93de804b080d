/* fused_attention.c — vitc.Attention, scaled dot-product attention, built by passes/fuse_attention:
 *
 *   inputs  0 Q [.., Nq, D], 1 K [.., Nk, D] (or Kᵀ [.., D, Nk] when k_transposed = 1), 2 V [.., Nk, Dv],
 *           3 bias (optional) broadcasting to the scores [.., Nq, Nk]: relative-position bias, Swin's
 *             window mask
 *           4 S (optional) broadcasting to [.., Nq, 1], one factor per query row: Swin V2's per-head
 *             logit scale [H, 1, 1]
 *           5 Qmap, 6 Kmap, 7 Vmap, 8 Ymap (optional, int64, known): row maps, below
 *           9 P (optional, float32): the rows negative Q, K, V map entries read, below
 *   attrs   scale (float, default 1), k_transposed (int, default 0),
 *           normalize_qk (int, default 0): Q and K rows are divided by max(‖row‖₂, 1e-12) before the
 *             product (F.normalize; Swin V2's cosine attention)
 *           bf16 (int, set by ir/eval.c in BF16 precision, ops.def's BF16_ACTS): Q, K (after normalize_qk)
 *             and V are rounded to bfloat16, and so are the probabilities before P·V, unnormalised, as
 *             exp(s - max): the sum and the division by it stay float32, after the product, as the kernel
 *             computes them (backend/emit_attention.c)
 *           q_quant, k_quant, v_quant, s_quant, p_quant (floats [scale, zero_point, lo, hi], each optional):
 *             the quantisation grids (vitc_qgrid) a QDQ model rounds Q, K, V, the scores and the
 *             probabilities to, with a QuantizeLinear-DequantizeLinear pair on each (passes/fuse_attention)
 *
 *   Y [.., Nq, Dv] = softmax(scale · S · Q·Kᵀ + bias, over the last axis) · V
 *
 * With grids, each operand, the scores (after S and the bias) and the probabilities are rounded to theirs
 * (an absent grid leaves its tensor as it is), and the scale moves into Q's grid when it has one: the QDQ
 * model's query is scaled before its QuantizeLinear, so Q becomes grid(scale · Q) and the product is not
 * scaled again:
 *
 *   Y = p_grid(softmax(s_grid(S · q_grid(scale · Q)·k_grid(K)ᵀ + bias))) · v_grid(V)
 *
 * Without maps, Q, K and V share their batch dims ([B, H] for multi-head attention, any number of them),
 * which Y keeps.
 *
 * Row maps let the op read its operands where an export's head split, window partition and cyclic shift
 * left them, and write Y where the head merge and window reverse put it, with no copies between. With
 * any map given the attention runs over a logical batch [G, H] (attribute heads = H), and a mapped
 * operand X is the base tensor holding it (any shape, float32): element (g, h, n, c) of the logical
 * X [G, H, N, C] sits at flat offset
 *
 *     Xmap[g, n] + h · head_strides[x] + c          Xmap int64 [G, N], x = 0 (Q), 1 (K), 2 (V), 3 (Y)
 *
 * inside it. Attributes head_dim (D) and value_dim (Dv) give the row lengths the bases cannot tell;
 * head_strides has four entries (those of unmapped operands unused). Unmapped Q, K, V are dense with
 * [.., N, C] dims whose batch dims multiply to G·H. With Ymap, Y has the shape y_shape (ints) and Ymap
 * sends every element of the logical [G, H, Nq, Dv] to a distinct element of it, covering it whole;
 * without, Y is [G, H, Nq, Dv]. bias and S broadcast against [G, H, Nq, Nk] and [G, H, Nq, 1]. A
 * mapped K is read by rows: k_transposed must be 0.
 *
 * Rows an export padded (Swin's windows over a map they do not tile, padded before the qkv projection)
 * need no padded copy: a negative Q, K or V map entry e reads its row from P instead, at flat offset
 * -1 - e + h · head_strides[x] + c (P holds the projection of a zero row: its bias), and a Ymap entry -1
 * drops the row (the crop after the window reverse); the kept rows then cover Y whole.
 *
 * The reference gathers one batch index's operands, materialises its scores and scatters its rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "ops.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, IN_KMAP, IN_VMAP, IN_YMAP, IN_PAD };
enum { MAP_Q, MAP_K, MAP_V, MAP_Y };

typedef struct attn_dims {
  int batch_rank; /* of the logical batch: Q's batch dims, or [G, H] with maps */
  int64_t batch_dims[VITC_MAX_RANK];
  int64_t batch, nq, nk, d, dv;
  bool mapped;
  int64_t heads;
  const int64_t *head_strides; /* [4] with maps */
} attn_dims;

static const vitc_value *input(const vitc_node *n, const vitc_value *const *in, int i) {
  return i < n->nin ? in[i] : NULL;
}
static const vitc_value *map_of(const vitc_node *n, const vitc_value *const *in, int x) {
  return input(n, in, IN_QMAP + x);
}

/* Checks map x against [G, rows] and, when its values are known, that every row it names, with every
 * head and `len` elements, stays inside the base (for Y: the output of numel `base_numel`), or inside P
 * (pad_numel elements, -1 without P) for a negative Q, K or V entry; a negative Y entry is -1. */
static vitc_status check_map(const vitc_value *map, int x, int64_t groups, int64_t rows, int64_t len,
                             const attn_dims *a, int64_t base_numel, int64_t pad_numel, vitc_error *err) {
  static const char *const names[] = {"Qmap", "Kmap", "Vmap", "Ymap"};
  if (map->dtype != VITC_I64 || map->rank != 2 || map->dims[0] != groups || map->dims[1] != rows)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention %s must be int64 [%lld, %lld]", names[x], (long long)groups,
                     (long long)rows);
  if (!map->data) return VITC_OK;
  int64_t span = (a->heads - 1) * a->head_strides[x] + len;
  for (int64_t i = 0; i < groups * rows; i++) {
    int64_t off = ((const int64_t *)map->data)[i];
    if (x == MAP_Y && off == -1) continue;
    if (off < 0 && x != MAP_Y && a->head_strides[x] >= 0 && -1 - off + span <= pad_numel) continue;
    if (off < 0 || a->head_strides[x] < 0 || off + span > base_numel)
      return vitc_fail(err, VITC_ERR_INVALID, "Attention %s entry %lld (%lld) reads outside its tensor of %lld elements",
                       names[x], (long long)i, (long long)off, (long long)base_numel);
  }
  return VITC_OK;
}

/* With maps: the logical sizes from the maps, the attributes and the dense operands. */
static vitc_status analyse_mapped(const vitc_node *n, const vitc_value *const *in, attn_dims *a, vitc_error *err) {
  int len;
  a->mapped = true;
  a->heads = vitc_attr_int(n, "heads", 0);
  a->head_strides = vitc_attr_ints(n, "head_strides", &len);
  if (a->heads < 1 || !a->head_strides || len != 4)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention with row maps needs heads >= 1 and four head_strides");
  if (vitc_attr_int(n, "k_transposed", 0)) return vitc_fail(err, VITC_ERR_INVALID, "Attention Kmap needs k_transposed = 0");
  int64_t groups = -1;
  for (int x = MAP_Q; x <= MAP_Y && groups < 0; x++)
    if (map_of(n, in, x) && map_of(n, in, x)->rank == 2) groups = map_of(n, in, x)->dims[0];
  if (groups < 0) return vitc_fail(err, VITC_ERR_INVALID, "Attention row maps must be [G, N]");
  a->batch_rank = 2;
  a->batch_dims[0] = groups;
  a->batch_dims[1] = a->heads;
  a->batch = groups * a->heads;
  /* Row count and row length of Q, K, V: from the map and attribute, or from the dense operand. */
  int64_t rows[3], cols[3];
  static const char *const col_attr[3] = {"head_dim", "head_dim", "value_dim"};
  for (int x = MAP_Q; x <= MAP_V; x++) {
    const vitc_value *map = map_of(n, in, x), *v = in[x];
    if (map) {
      rows[x] = map->rank == 2 ? map->dims[1] : -1;
      cols[x] = vitc_attr_int(n, col_attr[x], 0);
      if (cols[x] < 1) return vitc_fail(err, VITC_ERR_INVALID, "Attention with a mapped %c needs %s >= 1", "QKV"[x], col_attr[x]);
      const vitc_value *pad = input(n, in, IN_PAD);
      vitc_status st = check_map(map, x, groups, rows[x], cols[x], a, vitc_numel(v), pad ? vitc_numel(pad) : -1, err);
      if (st != VITC_OK) return st;
      continue;
    }
    int64_t batch = 1;
    for (int i = 0; i < v->rank - 2; i++) batch *= v->dims[i];
    if (v->rank < 2 || batch != a->batch)
      return vitc_fail(err, VITC_ERR_INVALID, "Attention's unmapped %c must be [.., N, C] with %lld batch entries", "QKV"[x],
                       (long long)a->batch);
    rows[x] = v->dims[v->rank - 2];
    cols[x] = v->dims[v->rank - 1];
  }
  a->nq = rows[MAP_Q];
  a->d = cols[MAP_Q];
  a->nk = rows[MAP_K];
  a->dv = cols[MAP_V];
  if (cols[MAP_K] != a->d || rows[MAP_V] != a->nk)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention K or V does not match Q [.., %lld, %lld]", (long long)a->nq,
                     (long long)a->d);
  const vitc_value *ymap = map_of(n, in, MAP_Y);
  if (!ymap) return VITC_OK;
  int rank;
  const int64_t *shape = vitc_attr_ints(n, "y_shape", &rank);
  int64_t numel = 1, kept = groups * a->nq; /* rows Ymap writes (-1 drops one) */
  for (int i = 0; i < rank; i++) numel *= shape[i] < 0 ? -1 : shape[i];
  for (int64_t i = 0; ymap->data && i < vitc_numel(ymap); i++) kept -= ((const int64_t *)ymap->data)[i] == -1;
  if (!shape || rank > VITC_MAX_RANK || numel != kept * a->heads * a->dv)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention with Ymap needs a y_shape of %lld elements",
                     (long long)(kept * a->heads * a->dv));
  return check_map(ymap, MAP_Y, groups, a->nq, a->dv, a, numel, -1, err);
}

const char *const vitc_attention_grids[VITC_NGRIDS] = {"q_quant", "k_quant", "v_quant", "s_quant", "p_quant"};

void vitc_attention_grids_of(const vitc_node *n, vitc_qgrid g[VITC_NGRIDS]) {
  for (int x = 0; x < VITC_NGRIDS; x++) {
    int len;
    const double *v = vitc_attr_floats(n, vitc_attention_grids[x], &len);
    g[x] = v && len == 4 ? (vitc_qgrid){.on = true, .scale = (float)v[0], .zp = v[1], .lo = v[2], .hi = v[3]} : (vitc_qgrid){0};
  }
}

static vitc_status attn_analyse(const vitc_node *n, const vitc_value *const *in, attn_dims *a, vitc_error *err) {
  *a = (attn_dims){0};
  for (int x = 0; x < VITC_NGRIDS; x++) {
    int len;
    const double *g = vitc_attr_floats(n, vitc_attention_grids[x], &len);
    if (g && (len != 4 || !(g[0] > 0) || !isfinite(g[0]) || !(g[2] <= g[1] && g[1] <= g[3])))
      return vitc_fail(err, VITC_ERR_INVALID, "Attention %s must be [scale > 0, zero_point, lo, hi] with lo <= zero_point <= hi",
                       vitc_attention_grids[x]);
  }
  for (int i = 0; i < n->nin; i++)
    if (in[i] && (i < IN_QMAP || i == IN_PAD) && in[i]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Attention runs on float32 only (input %d)", i);
  for (int x = MAP_Q; x <= MAP_Y; x++)
    if (map_of(n, in, x)) return analyse_mapped(n, in, a, err);
  const vitc_value *q = in[IN_Q], *k = in[IN_K], *v = in[IN_V];
  int r = q->rank;
  if (r < 2 || k->rank != r || v->rank != r)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention needs Q, K, V of one rank >= 2; got %d, %d, %d", q->rank,
                     k->rank, v->rank);
  a->batch_rank = r - 2;
  a->batch = 1;
  for (int i = 0; i < r - 2; i++) {
    if (k->dims[i] != q->dims[i] || v->dims[i] != q->dims[i])
      return vitc_fail(err, VITC_ERR_INVALID, "Attention Q, K and V differ in batch dim %d", i);
    a->batch_dims[i] = q->dims[i];
    a->batch *= q->dims[i];
  }
  bool kt = vitc_attr_int(n, "k_transposed", 0) != 0;
  a->nq = q->dims[r - 2];
  a->d = q->dims[r - 1];
  a->nk = k->dims[kt ? r - 1 : r - 2];
  a->dv = v->dims[r - 1];
  if (k->dims[kt ? r - 2 : r - 1] != a->d || v->dims[r - 2] != a->nk)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention K or V does not match Q [.., %lld, %lld]", (long long)a->nq,
                     (long long)a->d);
  return VITC_OK;
}

/* The broadcast strides of input `which` (the bias or S) against the scores' shape [.., Nq, Nk], or
 * [.., Nq, 1] for S. */
static vitc_status operand_strides(const vitc_value *x, int which, const attn_dims *a, int64_t *strides,
                                   vitc_error *err) {
  const char *what = which == IN_BIAS ? "bias" : "scale input";
  int r = a->batch_rank + 2;
  int64_t dims[VITC_MAX_RANK];
  memcpy(dims, a->batch_dims, sizeof(int64_t) * (size_t)a->batch_rank);
  dims[r - 2] = a->nq;
  dims[r - 1] = which == IN_BIAS ? a->nk : 1;
  if (x->rank > r) return vitc_fail(err, VITC_ERR_INVALID, "Attention %s has a higher rank than the scores", what);
  for (int i = 0; i < x->rank; i++) {
    int64_t want = dims[r - x->rank + i];
    if (x->dims[i] != 1 && x->dims[i] != want)
      return vitc_fail(err, VITC_ERR_INVALID, "Attention %s dim %d is %lld, not 1 or %lld", what, i,
                       (long long)x->dims[i], (long long)want);
  }
  vitc_broadcast_strides(x, r, dims, strides);
  return VITC_OK;
}

/* The offset of batch index b (row-major over the logical batch dims) under broadcast strides. */
static int64_t batch_offset(const attn_dims *a, const int64_t *strides, int64_t b) {
  int64_t off = 0;
  for (int i = a->batch_rank - 1; i >= 0; i--) {
    off += b % a->batch_dims[i] * strides[i];
    b /= a->batch_dims[i];
  }
  return off;
}

static vitc_status analyse_all(const vitc_node *n, const vitc_value *const *in, attn_dims *a, int64_t *bias_strides,
                               int64_t *scale_strides, vitc_error *err) {
  vitc_status st = attn_analyse(n, in, a, err);
  if (st == VITC_OK && input(n, in, IN_BIAS)) st = operand_strides(in[IN_BIAS], IN_BIAS, a, bias_strides, err);
  if (st == VITC_OK && input(n, in, IN_SCALE)) st = operand_strides(in[IN_SCALE], IN_SCALE, a, scale_strides, err);
  return st;
}

vitc_status shape_attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  attn_dims a;
  int64_t bs[VITC_MAX_RANK], ss[VITC_MAX_RANK];
  vitc_status st = analyse_all(n, in, &a, bs, ss, err);
  if (st != VITC_OK) return st;
  out->dtype = VITC_F32;
  if (map_of(n, in, MAP_Y)) {
    const int64_t *shape = vitc_attr_ints(n, "y_shape", &out->rank);
    memcpy(out->dims, shape, sizeof(int64_t) * (size_t)out->rank);
    return VITC_OK;
  }
  out->rank = a.batch_rank + 2;
  memcpy(out->dims, a.batch_dims, sizeof(int64_t) * (size_t)a.batch_rank);
  out->dims[a.batch_rank] = a.nq;
  out->dims[a.batch_rank + 1] = a.dv;
  return VITC_OK;
}

/* Copies rows x rows of operand x at batch index b into dst (rows × len), or returns the dense operand's
 * own rows. */
static const float *operand_rows(const vitc_node *n, const vitc_value *const *in, int x, const attn_dims *a, int64_t b,
                                 int64_t rows, int64_t len, float *dst) {
  const float *base = (const float *)in[x]->data;
  const vitc_value *map = map_of(n, in, x);
  if (!map) return base + b * rows * len;
  const int64_t *m = (const int64_t *)map->data + b / a->heads * rows;
  int64_t head = b % a->heads * a->head_strides[x];
  for (int64_t i = 0; i < rows; i++) {
    const float *src = m[i] < 0 ? (const float *)in[IN_PAD]->data - 1 - m[i] : base + m[i];
    memcpy(dst + i * len, src + head, sizeof(float) * (size_t)len);
  }
  return dst;
}

/* The n values src[i] · f on grid g (DequantizeLinear(QuantizeLinear(..))), into dst (which may be src),
 * or src when g is off. */
static const float *grid_values(const float *src, int64_t n, float f, const vitc_qgrid *g, float *dst) {
  if (!g->on) return src;
  for (int64_t i = 0; i < n; i++) dst[i] = vitc_qgrid_level(g, src[i] * f) * g->scale;
  return dst;
}

/* Divides each of the rows of length len by max(its L2 norm, 1e-12), into dst. */
static const float *normalized_rows(const float *src, int64_t rows, int64_t len, float *dst) {
  for (int64_t i = 0; i < rows; i++) {
    double ss = 0;
    for (int64_t c = 0; c < len; c++) ss += (double)src[i * len + c] * src[i * len + c];
    float inv = (float)(1 / fmax(sqrt(ss), 1e-12));
    for (int64_t c = 0; c < len; c++) dst[i * len + c] = src[i * len + c] * inv;
  }
  return dst;
}

/* The count floats at src rounded to bfloat16, into dst (which may be src). */
static const float *bf16_rounded(const float *src, size_t count, float *dst) {
  for (size_t e = 0; e < count; e++) dst[e] = vitc_bf16_round(src[e]);
  return dst;
}

vitc_status eval_Attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  attn_dims a;
  int64_t bs[VITC_MAX_RANK] = {0}, ss[VITC_MAX_RANK] = {0};
  const vitc_value *bias = input(n, in, IN_BIAS), *rs = input(n, in, IN_SCALE), *ymap = map_of(n, in, MAP_Y);
  vitc_status st = analyse_all(n, in, &a, bs, ss, err);
  if (st != VITC_OK) return st;
  bool kt = vitc_attr_int(n, "k_transposed", 0) != 0, unit = vitc_attr_int(n, "normalize_qk", 0) != 0,
       bf16 = vitc_attr_int(n, "bf16", 0) != 0;
  if (unit && kt) return vitc_fail(err, VITC_ERR_INVALID, "Attention normalize_qk needs k_transposed = 0");
  float scale = (float)vitc_attr_float(n, "scale", 1.0);
  vitc_qgrid grid[VITC_NGRIDS];
  vitc_attention_grids_of(n, grid);
  size_t qn = (size_t)(a.nq * a.d), kn = (size_t)(a.nk * a.d), vn = (size_t)(a.nk * a.dv), yn = (size_t)(a.nq * a.dv);
  float *s = malloc(sizeof(float) * ((size_t)(a.nq * a.nk) + 2 * (qn + kn + vn) + yn + (size_t)a.nq + 1));
  if (!s) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for attention scores");
  float *qbuf = s + a.nq * a.nk, *kbuf = qbuf + qn, *vbuf = kbuf + kn, *ybuf = vbuf + vn, *qunit = ybuf + yn,
        *kunit = qunit + qn, *vgrid = kunit + kn, *inv_sum = vgrid + vn; /* bf16: each row's 1/Σ, applied after P·V */
  int r = a.batch_rank + 2;
  for (int64_t b = 0; b < a.batch && st == VITC_OK; b++) {
    const float *q = operand_rows(n, in, IN_Q, &a, b, a.nq, a.d, qbuf);
    const float *k = operand_rows(n, in, IN_K, &a, b, a.nk, a.d, kbuf);
    const float *v = operand_rows(n, in, IN_V, &a, b, a.nk, a.dv, vbuf);
    if (unit) {
      q = normalized_rows(q, a.nq, a.d, qunit);
      k = normalized_rows(k, a.nk, a.d, kunit);
    }
    q = grid_values(q, a.nq * a.d, scale, &grid[VITC_GRID_Q], qunit);
    k = grid_values(k, a.nk * a.d, 1, &grid[VITC_GRID_K], kunit);
    v = grid_values(v, a.nk * a.dv, 1, &grid[VITC_GRID_V], vgrid);
    if (bf16) {
      q = bf16_rounded(q, qn, unit ? qunit : qbuf);
      k = bf16_rounded(k, kn, unit ? kunit : kbuf);
      v = bf16_rounded(v, vn, vbuf);
    }
    float *y = ymap ? ybuf : (float *)out->data + b * a.nq * a.dv;
    vitc_fmat kmat = kt ? vitc_fmat_rows(k, a.nk) : vitc_fmat_cols(k, a.d);
    if (!vitc_sgemm(a.nq, a.nk, a.d, grid[VITC_GRID_Q].on ? 1.0f : scale, vitc_fmat_rows(q, a.d), kmat, 0.0f, s, a.nk)) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
      break;
    }
    int64_t bias_off = batch_offset(&a, bs, b), scale_off = batch_offset(&a, ss, b);
    for (int64_t i = 0; i < a.nq; i++) {
      float *row = s + i * a.nk;
      if (rs)
        for (int64_t j = 0; j < a.nk; j++) row[j] *= ((const float *)rs->data)[scale_off + i * ss[r - 2]];
      if (bias)
        for (int64_t j = 0; j < a.nk; j++)
          row[j] += ((const float *)bias->data)[bias_off + i * bs[r - 2] + j * bs[r - 1]];
      grid_values(row, a.nk, 1, &grid[VITC_GRID_S], row);
      float m = -INFINITY;
      for (int64_t j = 0; j < a.nk; j++) m = row[j] > m ? row[j] : m;
      double sum = 0;
      for (int64_t j = 0; j < a.nk; j++) sum += row[j] = expf(row[j] - m);
      inv_sum[i] = (float)(1 / sum); /* a float reciprocal, as the Softmax evaluator scales (the grid's ties) */
      for (int64_t j = 0; j < a.nk; j++) row[j] = bf16 ? vitc_bf16_round(row[j]) : row[j] * inv_sum[i];
      grid_values(row, a.nk, 1, &grid[VITC_GRID_P], row);
    }
    if (!vitc_sgemm(a.nq, a.dv, a.nk, 1.0f, vitc_fmat_rows(s, a.nk), vitc_fmat_rows(v, a.dv), 0.0f, y, a.dv)) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
      break;
    }
    for (int64_t i = 0; bf16 && i < a.nq; i++)
      for (int64_t c = 0; c < a.dv; c++) y[i * a.dv + c] *= inv_sum[i];
    if (ymap) {
      const int64_t *m = (const int64_t *)ymap->data + b / a.heads * a.nq;
      int64_t head = b % a.heads * a.head_strides[MAP_Y];
      for (int64_t i = 0; i < a.nq; i++)
        if (m[i] >= 0) memcpy((float *)out->data + m[i] + head, y + i * a.dv, sizeof(float) * (size_t)a.dv);
    }
  }
  free(s);
  return st;
}

/* Q·Kᵀ and P·V, plus scale, bias, max, exp, sum and divide over the scores (and the norms of Q and K
 * rows with normalize_qk). */
double flops_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  attn_dims a;
  vitc_error err;
  if (attn_analyse(n, in, &a, &err) != VITC_OK) return 0;
  (void)out;
  double f = (double)a.batch * (double)a.nq * (double)a.nk * (double)(2 * a.d + 2 * a.dv + 6);
  if (vitc_attr_int(n, "normalize_qk", 0)) f += (double)a.batch * (double)(a.nq + a.nk) * (double)(3 * a.d);
  return f;
}
