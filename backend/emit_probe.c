/* emit_probe.c — emit_movement, the kernel of every data-movement op (MOVE in ops.def: Transpose,
 * Reshape, Slice, Concat, Split, Pad, Gather with constant indices, Tile, Expand, DepthToSpace, Trilu, …)
 * derived from the evaluator itself.
 *
 * Shapes and index inputs are compile-time constants, so where every output element comes from is a
 * compile-time fact. The op is evaluated once on "probe" inputs whose elements are their own
 * addresses — code(k, i) = (k + 1) << 40 | i for element i of data input k — and the output then says,
 * element by element, which input element lands there (0: a zero the op wrote). That map is cut into
 * boxes where it is affine,
 *
 *   out[o + Σ j_d·ostride_d] = in_k[b + Σ j_d·s_d]      for j in the box
 *
 * and each box becomes a loop nest; a map with too many boxes (a Gather with scattered indices) becomes
 * a table lookup. One emitter thus serves every movement op with exactly the evaluator's semantics. */
#include <stdlib.h>
#include <string.h>

#include "emit_rows.h"
#include "emitters.h"
#include "vec.h"

#define CODE_SHIFT 40
#define MAX_PIECES 256
#define PIECE_CHUNK 4096 /* elements per task of a piece that is one loop */

typedef struct piece {
  int input;                   /* -1: zero fill */
  int64_t src_base;            /* element offset in the input */
  int64_t src_stride[VITC_MAX_RANK];
  int64_t lo[VITC_MAX_RANK];   /* box in output coordinates */
  int64_t ext[VITC_MAX_RANK];
} piece;

typedef struct probe_map {
  const int64_t *codes; /* one per output element */
  int rank;
  int64_t dims[VITC_MAX_RANK], strides[VITC_MAX_RANK];
  piece *pieces;
  int npieces;
  bool overflow; /* more than MAX_PIECES: use a table */
} probe_map;

static int code_input(int64_t c) { return c ? (int)((c >> CODE_SHIFT) - 1) : -1; }
static int64_t code_elem(int64_t c) { return c & (((int64_t)1 << CODE_SHIFT) - 1); }

static int64_t offset_of(const probe_map *m, const int64_t *idx) {
  int64_t o = 0;
  for (int d = 0; d < m->rank; d++) o += idx[d] * m->strides[d];
  return o;
}

/* Fits the box to one affine piece; false if it is not one. */
static bool fit_affine(const probe_map *m, const int64_t *lo, const int64_t *ext, piece *p) {
  int64_t origin = m->codes[offset_of(m, lo)];
  p->input = code_input(origin);
  p->src_base = code_elem(origin);
  memcpy(p->lo, lo, sizeof p->lo);
  memcpy(p->ext, ext, sizeof p->ext);
  for (int d = 0; d < m->rank; d++) {
    p->src_stride[d] = 0;
    if (ext[d] < 2) continue;
    int64_t idx[VITC_MAX_RANK];
    memcpy(idx, lo, sizeof idx);
    idx[d]++;
    int64_t c = m->codes[offset_of(m, idx)];
    if (code_input(c) != p->input) return false;
    if (p->input >= 0) p->src_stride[d] = code_elem(c) - p->src_base;
  }
  /* Verify every element of the box (odometer over ext). */
  int64_t j[VITC_MAX_RANK] = {0};
  for (;;) {
    int64_t idx[VITC_MAX_RANK], expect = p->src_base;
    for (int d = 0; d < m->rank; d++) {
      idx[d] = lo[d] + j[d];
      expect += j[d] * p->src_stride[d];
    }
    int64_t c = m->codes[offset_of(m, idx)];
    if (code_input(c) != p->input || (p->input >= 0 && code_elem(c) != expect)) return false;
    int d = m->rank - 1;
    while (d >= 0 && ++j[d] == ext[d]) j[d--] = 0;
    if (d < 0) return true;
  }
}

static void add_piece(probe_map *m, const piece *p) {
  if (m->npieces == MAX_PIECES) {
    m->overflow = true;
    return;
  }
  m->pieces[m->npieces++] = *p;
}

/* Covers the box with pieces: affine as a whole, or split along its outermost non-trivial dim into
 * slices, consecutive slices merging while they continue one another. */
static void cover(probe_map *m, const int64_t *lo, const int64_t *ext) {
  piece p;
  if (m->overflow) return;
  if (fit_affine(m, lo, ext, &p)) {
    add_piece(m, &p);
    return;
  }
  int d = 0;
  while (ext[d] < 2) d++;
  int64_t slo[VITC_MAX_RANK], sext[VITC_MAX_RANK];
  memcpy(slo, lo, sizeof slo);
  memcpy(sext, ext, sizeof sext);
  sext[d] = 1;
  for (int64_t j = 0; j < ext[d] && !m->overflow; j++) {
    slo[d] = lo[d] + j;
    int before = m->npieces;
    cover(m, slo, sext);
    if (m->npieces != before + 1 || before == 0) continue;
    /* Merge a single-piece slice into the previous piece when it extends it along d. */
    piece *prev = &m->pieces[before - 1], *cur = &m->pieces[before];
    bool same = prev->input == cur->input && prev->lo[d] + prev->ext[d] == cur->lo[d];
    for (int e = 0; e < m->rank && same; e++)
      if (e != d) same = prev->lo[e] == cur->lo[e] && prev->ext[e] == cur->ext[e] && prev->src_stride[e] == cur->src_stride[e];
    if (!same) continue;
    int64_t step = cur->src_base - prev->src_base;
    if (prev->ext[d] > 1) same = step == prev->src_stride[d] * prev->ext[d];
    if (!same) continue;
    if (prev->ext[d] == 1) prev->src_stride[d] = step;
    prev->ext[d]++;
    m->npieces--;
  }
}

/* Copies one element of `bytes` bytes as an integer of that width. */
static LLVMTypeRef elem_type(vitc_cg *cg, size_t bytes) {
  return bytes == 8 ? cg->i64 : bytes == 4 ? cg->i32 : bytes == 2 ? cg->i16 : cg->i8;
}

/* One piece as a loop nest; dims where both sides are contiguous merge so inner loops stay long. */
static void emit_piece(vitc_cg *cg, const probe_map *m, const piece *p, LLVMValueRef dst, LLVMValueRef const *srcs,
                       LLVMTypeRef et) {
  int64_t ext[VITC_MAX_RANK], os[VITC_MAX_RANK], ss[VITC_MAX_RANK];
  int r = 0;
  for (int d = 0; d < m->rank; d++)
    if (p->ext[d] > 1) {
      ext[r] = p->ext[d];
      os[r] = m->strides[d];
      ss[r] = p->src_stride[d];
      r++;
    }
  for (int d = r - 2; d >= 0; d--)
    if (os[d] == os[d + 1] * ext[d + 1] && ss[d] == ss[d + 1] * ext[d + 1]) {
      ext[d] *= ext[d + 1];
      os[d] = os[d + 1];
      ss[d] = ss[d + 1];
      memmove(&ext[d + 1], &ext[d + 2], sizeof(int64_t) * (size_t)(r - d - 2));
      memmove(&os[d + 1], &os[d + 2], sizeof(int64_t) * (size_t)(r - d - 2));
      memmove(&ss[d + 1], &ss[d + 2], sizeof(int64_t) * (size_t)(r - d - 2));
      r--;
    }
  /* The outer loop's iterations (or a single loop's chunks of PIECE_CHUNK) across the pool when the piece is
   * large: a movement left between parallel kernels ran on one thread while the other idled (CoaT's Slice and
   * Concat of 3137 x 152 tokens, 0.1 ms each; MaxViT-T's input to channels-last) */
  int64_t total = 1, step = r == 1 ? PIECE_CHUNK : 1;
  for (int d = 0; d < r; d++) total *= ext[d];
  LLVMValueRef ptrs[2] = {dst, p->input < 0 ? NULL : srcs[p->input]};
  row_loop rl;
  LLVMValueRef row = rows_begin(cg, &rl, r ? (ext[0] + step - 1) / step : 1, total, ptrs, 2);
  LLVMValueRef o = cg_i64(cg, offset_of(m, p->lo)), s = cg_i64(cg, p->src_base);
  cg_loop loops[VITC_MAX_RANK];
  if (r) { /* the outer dim: the row itself, or a single loop's elements [row·step, min(ext, row·step + step)) */
    LLVMValueRef i = row;
    if (step > 1) {
      LLVMValueRef first = ix_mulk(cg, row, step);
      loops[0] = cg_loop_begin(cg, first, ix_min(cg, ix_addk(cg, first, step), cg_i64(cg, ext[0])), 1);
      i = loops[0].iv;
    }
    o = ix_add(cg, o, ix_mulk(cg, i, os[0]));
    s = ix_add(cg, s, ix_mulk(cg, i, ss[0]));
  }
  for (int d = 1; d < r; d++) {
    loops[d] = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ext[d]), 1);
    o = ix_add(cg, o, ix_mul(cg, loops[d].iv, cg_i64(cg, os[d])));
    s = ix_add(cg, s, ix_mul(cg, loops[d].iv, cg_i64(cg, ss[d])));
  }
  LLVMValueRef v = p->input < 0 ? LLVMConstNull(et) : vec_load1(cg, et, cg_gep(cg, et, ptrs[1], s));
  vec_store1(cg, v, cg_gep(cg, et, ptrs[0], o));
  for (int d = r - 1; d >= 1; d--) cg_loop_end(cg, &loops[d]);
  if (step > 1) cg_loop_end(cg, &loops[0]);
  rows_end(cg, &rl);
}

/* The table form: out[i] = in_k[e] with (k, e) decoded from a constant table of codes. */
/* srcs[i] is NULL for inputs that carry no data. */
static vitc_status emit_table(vitc_cg *cg, const probe_map *m, int64_t numel, LLVMValueRef dst, LLVMValueRef const *srcs,
                              int nsrc, LLVMTypeRef et, vitc_error *err) {
  int64_t offset;
  vitc_status st = cg_add_blob(cg, m->codes, sizeof(int64_t) * (size_t)numel, &offset, err);
  if (st) return st;
  LLVMValueRef table = cg_blob_ptr(cg, offset);
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, numel), 1);
  LLVMValueRef code = vec_load1(cg, cg->i64, cg_gep(cg, cg->i64, table, l.iv));
  LLVMValueRef k = vec_ashr(cg, code, cg_i64(cg, CODE_SHIFT));
  LLVMValueRef e = vec_and(cg, code, cg_i64(cg, ((int64_t)1 << CODE_SHIFT) - 1));
  /* A zero code reads element 0 of some input and is then replaced by 0. */
  LLVMValueRef src = NULL;
  for (int i = 0; i < nsrc; i++)
    if (srcs[i])
      src = !src ? srcs[i] : vec_select(cg, vec_icmp(cg, LLVMIntEQ, k, cg_i64(cg, i + 1)), srcs[i], src);
  LLVMValueRef v = vec_load1(cg, et, cg_gep(cg, et, src, e));
  v = vec_select(cg, vec_icmp(cg, LLVMIntEQ, code, cg_i64(cg, 0)), LLVMConstNull(et), v);
  vec_store1(cg, v, cg_gep(cg, et, dst, l.iv));
  cg_loop_end(cg, &l);
  return VITC_OK;
}

/* data_inputs: bit k set when input k carries data (moved elements); the others are index inputs,
 * which must be compile-time constants. */
static vitc_status emit_probe(vitc_cg *cg, const vitc_node *n, unsigned data_inputs, vitc_error *err) {
  vitc_value *probe_in = calloc((size_t)n->nin + 1, sizeof *probe_in);
  const vitc_value **in = calloc((size_t)n->nin + 1, sizeof *in);
  vitc_value *out = calloc((size_t)n->nout + 1, sizeof *out);
  LLVMValueRef *srcs = calloc((size_t)n->nin + 1, sizeof *srcs);
  piece *pieces = malloc(sizeof *pieces * MAX_PIECES);
  vitc_status st = VITC_OK;
  if (!probe_in || !in || !out || !srcs || !pieces) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int k = 0; k < n->nin; k++) {
    const vitc_value *v = cg_in_value(cg, k);
    if (!v) continue;
    if (!(data_inputs >> k & 1)) {
      if (!v->data) {
        st = vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "input %d must be known at compile time for code generation", k);
        goto done;
      }
      in[k] = v;
      continue;
    }
    srcs[k] = cg_in(cg, k);
    probe_in[k] = *v;
    probe_in[k].dtype = VITC_I64;
    int64_t count = vitc_numel(v);
    if (!(probe_in[k].data = malloc(sizeof(int64_t) * (size_t)(count ? count : 1)))) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (int64_t i = 0; i < count; i++) ((int64_t *)probe_in[k].data)[i] = (int64_t)(k + 1) << CODE_SHIFT | i;
    in[k] = &probe_in[k];
  }
  if ((st = vitc_eval_node(cg->g, n, in, out, err))) goto done;
  for (int j = 0; j < n->nout && !st; j++) {
    const vitc_value *ov = cg_out_value(cg, j);
    if (!ov) continue;
    LLVMValueRef dst = cg_out(cg, j);
    int64_t numel = vitc_numel(ov);
    if (out[j].dtype != VITC_I64) { /* not moved data (Dropout's mask): a constant */
      int64_t offset;
      if (!(st = cg_add_blob(cg, out[j].data, vitc_nbytes(ov), &offset, err)))
        cg_memcpy(cg, dst, cg_blob_ptr(cg, offset), cg_i64(cg, (int64_t)vitc_nbytes(ov)));
      continue;
    }
    if (!numel) continue;
    probe_map m = {out[j].data, ov->rank, {0}, {0}, pieces, 0, false};
    memcpy(m.dims, ov->dims, sizeof m.dims);
    for (int d = m.rank - 1; d >= 0; d--) m.strides[d] = d == m.rank - 1 ? 1 : m.strides[d + 1] * m.dims[d + 1];
    int64_t lo[VITC_MAX_RANK] = {0};
    cover(&m, lo, m.dims);
    LLVMTypeRef et = elem_type(cg, vitc_dtype_size(ov->dtype));
    if (m.overflow) {
      st = emit_table(cg, &m, numel, dst, srcs, n->nin, et, err);
    } else {
      for (int i = 0; i < m.npieces; i++) emit_piece(cg, &m, &m.pieces[i], dst, srcs, et);
    }
  }
done:
  for (int k = 0; probe_in && k < n->nin; k++) free(probe_in[k].data);
  for (int j = 0; out && j < n->nout; j++) free(out[j].data);
  free(probe_in);
  free(in);
  free(out);
  free(srcs);
  free(pieces);
  return st;
}

/* Every MOVE op of ops.def. The moved inputs are vitc_moved_inputs'; none (runtime indices, a reducing
 * scatter, which combines elements rather than moving them) means a kernel that indexes at run time
 * (emit_gather.c). */
vitc_status emit_movement(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  unsigned moved = vitc_moved_inputs(cg->g, n);
  return moved ? emit_probe(cg, n, moved, err) : emit_indexed(cg, n, err);
}
