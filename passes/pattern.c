/* pattern.c — matching and rewriting helpers of the pattern passes (passes/pattern.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

vitc_status vitc_rewriter_begin(vitc_rewriter *rw, vitc_graph *g, const char *pass, vitc_error *err) {
  *rw = (vitc_rewriter){.g = g, .uses = malloc(sizeof(int) * ((size_t)g->ntensors + 1)), .counted = g->ntensors};
  if (!rw->uses) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in %s", g->path, pass);
  vitc_graph_use_counts(g, rw->uses);
  return VITC_OK;
}

vitc_status vitc_rewriter_end(vitc_rewriter *rw, vitc_error *err) {
  free(rw->uses);
  rw->uses = NULL;
  if (!rw->changed) return VITC_OK;
  vitc_graph_compact(rw->g);
  return vitc_graph_toposort(rw->g, err);
}

vitc_status vitc_rewriter_sweep(vitc_rewriter *rw, bool backwards, vitc_node_visitor visit, void *ctx,
                                vitc_error *err) {
  vitc_status st = VITC_OK;
  int nn = rw->g->nnodes;
  for (int k = 0; st == VITC_OK && k < nn; k++) {
    int i = backwards ? nn - 1 - k : k;
    if (!rw->g->nodes[i].dead) st = visit(rw, i, ctx, err);
  }
  return st;
}

vitc_status vitc_rewrite_each_node(vitc_graph *g, const char *pass, bool backwards, vitc_node_visitor visit,
                                   void *ctx, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, pass, err);
  if (st != VITC_OK) return st;
  st = vitc_rewriter_sweep(&rw, backwards, visit, ctx, err);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}

int *vitc_last_readers(const vitc_graph *g) {
  int *reader = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  for (int t = 0; reader && t < g->ntensors; t++) reader[t] = -1;
  for (int i = 0; reader && i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] >= 0) reader[g->nodes[i].in[k]] = i;
  return reader;
}

vitc_node *vitc_match_op(const vitc_rewriter *rw, int t, vitc_op op) {
  if (t < 0 || rw->g->tensors[t].producer < 0) return NULL;
  vitc_node *n = &rw->g->nodes[rw->g->tensors[t].producer];
  return !n->dead && n->op == op ? n : NULL;
}

vitc_node *vitc_match_inner(const vitc_rewriter *rw, int t, vitc_op op, int uses) {
  return t >= 0 && t < rw->counted && rw->uses[t] == uses ? vitc_match_op(rw, t, op) : NULL;
}

static bool known_scalar(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].v.data && vitc_numel(&g->tensors[t].v) == 1;
}

bool vitc_match_fake_quant(const vitc_rewriter *rw, int t, int uses, int *x, int *s, int *z, vitc_node **nodes) {
  const vitc_graph *g = rw->g;
  vitc_node *dq = uses ? vitc_match_inner(rw, t, VITC_OP_DequantizeLinear, uses) : vitc_match_op(rw, t, VITC_OP_DequantizeLinear);
  vitc_node *q = !dq ? NULL
                 : uses ? vitc_match_inner(rw, dq->in[0], VITC_OP_QuantizeLinear, uses)
                        : vitc_match_op(rw, dq->in[0], VITC_OP_QuantizeLinear);
  if (!q || q->nin < 3 || dq->nin < 3 || q->in[2] < 0 || dq->in[2] < 0) return false;
  if (!known_scalar(g, q->in[1]) || !known_scalar(g, dq->in[1]) || !known_scalar(g, q->in[2]) ||
      !known_scalar(g, dq->in[2]) || g->tensors[q->in[0]].v.dtype != VITC_F32 || g->tensors[q->in[1]].v.dtype != VITC_F32)
    return false;
  const vitc_value *zq = &g->tensors[q->in[2]].v, *zd = &g->tensors[dq->in[2]].v;
  if ((zq->dtype != VITC_U8 && zq->dtype != VITC_I8) || zq->dtype != zd->dtype || vitc_load_i(zq, 0) != vitc_load_i(zd, 0))
    return false;
  if (vitc_load_f(&g->tensors[q->in[1]].v, 0) != vitc_load_f(&g->tensors[dq->in[1]].v, 0)) return false;
  *x = q->in[0], *s = q->in[1], *z = q->in[2];
  if (nodes) nodes[0] = dq, nodes[1] = q;
  return true;
}

int vitc_match_other(const vitc_node *n, int t) {
  if (n->nin != 2) return -1;
  if (n->in[0] == t) return n->in[1];
  return n->in[1] == t ? n->in[0] : -1;
}

bool vitc_match_known(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].v.data; }

bool vitc_match_scalar_value(const vitc_graph *g, int t, double *out) {
  if (!vitc_match_known(g, t)) return false;
  const vitc_value *v = &g->tensors[t].v;
  if (!vitc_dtype_is_float(v->dtype) || vitc_numel(v) != 1) return false;
  *out = vitc_load_f(v, 0);
  return true;
}

bool vitc_match_scalar(const vitc_graph *g, int t, double want) {
  double v;
  return vitc_match_scalar_value(g, t, &v) && fabs(v - want) <= VITC_PATTERN_RTOL * fabs(want);
}

int vitc_match_movement_step(const vitc_graph *g, int t) {
  int p = g->tensors[t].producer, k = 0;
  const vitc_node *n = p >= 0 && !g->nodes[p].dead ? &g->nodes[p] : NULL;
  unsigned moved = n ? vitc_moved_inputs(g, n) : 0;
  while (n && k < n->nin && (!(moved >> k & 1) || n->in[k] < 0 || g->tensors[n->in[k]].v.data)) k++;
  return !n || k == n->nin ? t : n->in[k];
}

int vitc_match_movement_source(const vitc_graph *g, int t) {
  for (int depth = 0, up; depth < 64 && (up = vitc_match_movement_step(g, t)) != t; depth++) t = up;
  return t;
}

bool vitc_match_same_type(const vitc_graph *g, int a, int b) {
  const vitc_tensor *ta = &g->tensors[a], *tb = &g->tensors[b];
  if (!ta->shape_known || !tb->shape_known || ta->v.dtype != tb->v.dtype || ta->v.rank != tb->v.rank) return false;
  for (int d = 0; d < ta->v.rank; d++)
    if (ta->v.dims[d] != tb->v.dims[d]) return false;
  return true;
}

bool vitc_match_repeats(const vitc_graph *g, int r, int y, int64_t unit) {
  const vitc_tensor *tr = &g->tensors[r], *ty = &g->tensors[y];
  return tr->shape_known && ty->shape_known && vitc_repeat_period(&tr->v, &ty->v, unit) >= 0;
}

bool vitc_match_order_keeping_transpose(const vitc_graph *g, const vitc_node *n) {
  if (n->op != VITC_OP_Transpose || n->nin != 1 || !g->tensors[n->in[0]].shape_known) return false;
  const vitc_value *x = &g->tensors[n->in[0]].v;
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  if (!perm || len != x->rank) return false;
  int64_t last = -1;
  for (int d = 0; d < len; d++) {
    if (perm[d] < 0 || perm[d] >= len) return false;
    if (x->dims[perm[d]] == 1) continue;
    if (perm[d] < last) return false;
    last = perm[d];
  }
  return true;
}

bool vitc_match_channel_constant(const vitc_graph *g, int t, const vitc_value *x, int axis) {
  if (!vitc_match_known(g, t)) return false;
  const vitc_value *v = &g->tensors[t].v;
  int first = x->rank - v->rank; /* the axis of x that v's dim 0 lines up with */
  if (v->dtype != x->dtype || v->rank < 1 || first < 0 || first > axis) return false;
  for (int d = 0; d < v->rank; d++)
    if (v->dims[d] != (first + d == axis ? x->dims[axis] : 1)) return false;
  return true;
}

bool vitc_match_all_ones(const vitc_node *n, const char *name) {
  int len;
  const int64_t *v = vitc_attr_ints(n, name, &len);
  for (int k = 0; v && k < len; k++)
    if (v[k] != 1) return false;
  return true;
}

bool vitc_match_centred_window(const vitc_node *conv, int64_t kh, int64_t kw) {
  if (kh % 2 == 0 || kw % 2 == 0 || !vitc_match_all_ones(conv, "dilations") ||
      strcmp(vitc_attr_str(conv, "auto_pad", "NOTSET"), "NOTSET"))
    return false;
  int len;
  const int64_t *pads = vitc_attr_ints(conv, "pads", &len), want[4] = {kh / 2, kw / 2, kh / 2, kw / 2};
  return pads ? len == 4 && !memcmp(pads, want, sizeof want) : kh == 1 && kw == 1;
}

vitc_attr vitc_centred_pads(int64_t kh, int64_t kw, int64_t pads[4]) {
  pads[0] = pads[2] = kh / 2;
  pads[1] = pads[3] = kw / 2;
  return (vitc_attr){.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads};
}

vitc_status vitc_match_view(const vitc_graph *g, int base, int t, const vitc_view4 *v, bool *yes, vitc_error *err) {
  *yes = false;
  int64_t count = v->dims[0] * v->dims[1] * v->dims[2] * v->dims[3];
  if (!g->tensors[t].shape_known || vitc_numel(&g->tensors[t].v) != count) return VITC_OK;
  int64_t *o = NULL;
  vitc_status st = vitc_probe_origins(g, base, t, &o, err);
  if (st != VITC_OK || !o) return st;
  int64_t i = 0;
  bool ok = true;
  for (int64_t a0 = 0; a0 < v->dims[0] && ok; a0++)
    for (int64_t a1 = 0; a1 < v->dims[1] && ok; a1++)
      for (int64_t a2 = 0; a2 < v->dims[2] && ok; a2++)
        for (int64_t a3 = 0; a3 < v->dims[3] && ok; a3++, i++)
          ok = o[i] == (a2 < v->blank ? -1 : v->offset + a0 * v->strides[0] + a1 * v->strides[1] + a2 * v->strides[2] + a3 * v->strides[3]);
  free(o);
  *yes = ok;
  return VITC_OK;
}

vitc_status vitc_rewrite(vitc_rewriter *rw, vitc_node *const *matched, int nmatched, vitc_op op, const int *in,
                         int nin, int out, const vitc_attr *attrs, int nattr, vitc_error *err) {
  vitc_graph *g = rw->g;
  const char *name = g->nodes[g->tensors[out].producer].name;
  for (int k = 0; k < nmatched; k++) matched[k]->dead = true;
  rw->changed = true;
  if (vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding %s", g->path, vitc_ops[op].name);
  return VITC_OK;
}

int vitc_rewrite_node(vitc_rewriter *rw, vitc_op op, const int *in, int nin, const vitc_value *type,
                      const vitc_attr *attrs, int nattr, const char *base, const char *suffix, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_value v = *type; /* type may point into the tensors, which adding one moves */
  char name[512];
  snprintf(name, sizeof name, "%s.%s", base, suffix);
  int t = vitc_graph_add_tensor(g, name);
  snprintf(name, sizeof name, "%s/%s", base, suffix);
  if (t < 0 || vitc_graph_add_node(g, op, name, in, nin, &t, 1, attrs, nattr) < 0) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding %s '%s'", g->path, vitc_ops[op].name, name);
    return -1;
  }
  g->tensors[t].v = v;
  g->tensors[t].v.data = NULL;
  g->tensors[t].shape_known = true;
  rw->changed = true;
  return t;
}

int vitc_rewrite_constant(vitc_rewriter *rw, const char *base, const char *suffix, const vitc_value *v,
                          vitc_error *err) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", base, suffix);
  int id = vitc_graph_add_constant(rw->g, name, v);
  if (id < 0) vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for constant '%s'", rw->g->path, name);
  return id;
}
