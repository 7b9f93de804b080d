/* fuse_rope — rotary position embedding (EVA-02, RoPE ViTs) on q or k becomes one vitc.Rope:
 *
 *   %r = rotate(%x)                                  rotate-half:  Concat(Neg(Slice(x, D/2, D)), Slice(x, 0, D/2))
 *                                                    interleaved:  Reshape(Concat(Unsqueeze(Neg(Slice(x, 1, D, 2))),
 *                                                                                 Unsqueeze(Slice(x, 0, D, 2))))
 *   %y = Add(Mul(%x, cos), Mul(%r, sin))      ─→    %y = vitc.Rope(%x, cos, sin) {interleaved}
 *
 * where x is [.., N, D], cos and sin known [N, D] (leading dims 1), slices along the last axis, Mul and
 * Add operands in either order. timm leaves the class tokens unrotated:
 *
 *   %x = Slice(%x0, k, N0, tokens)
 *   %z = Concat(Slice(%x0, 0, k, tokens), Cast(%y) or %y, axis = tokens)   ─→  %z = vitc.Rope(%x0, ..) {offset = k}
 *
 * (the Cast a float-to-same-float no-op). Every inner tensor is read only inside the pattern.
 *
 * When q and k both come from one fused qkv projection through timm's layout chain, and their Ropes have
 * equal tables, the rotation moves onto the projection's rows, where q's and k's heads sit side by side:
 *
 *   %t = Transpose(Reshape(%qkv, [B, N, 3, H, Dh])) {perm = [2, 0, 3, 1, 4]}
 *   %q, %k, %v = Split(%t) {axis = 0}                          %r = vitc.Rope(%qkv, ..) {rotated = 2·H·Dh}
 *   Rope(Squeeze(%q)), Rope(Squeeze(%k))                 ─→    the same chain from %r, no Ropes after it
 *
 * so the attention reads q, k and v through row maps as in a plain ViT, and the chain disappears. */
#include <stdint.h>
#include <string.h>

#include "passes/pattern.h"

/* A Slice of one known axis with known start, end and step, normalised to [start, end) of its input. */
typedef struct slice_range {
  vitc_node *node;
  int x, axis;
  int64_t start, end, step;
} slice_range;

static bool read_slice(const vitc_rewriter *rw, int t, int uses, slice_range *s) {
  const vitc_graph *g = rw->g;
  s->node = vitc_match_inner(rw, t, VITC_OP_Slice, uses);
  if (!s->node || !g->tensors[t].shape_known) return false;
  s->x = s->node->in[0];
  const vitc_value *x = &g->tensors[s->x].v;
  int64_t v[4] = {0, 0, 0, 1}; /* start, end, axis, step */
  for (int k = 1; k < 5; k++) {
    if (k >= s->node->nin || s->node->in[k] < 0) {
      if (k < 4) return false; /* ONNX's default axes cover every dim: not a one-axis slice */
      continue;
    }
    const vitc_value *p = &g->tensors[s->node->in[k]].v;
    if (!p->data || vitc_dtype_is_float(p->dtype) || vitc_numel(p) != 1) return false;
    v[k - 1] = vitc_load_i(p, 0);
  }
  if (v[2] < -x->rank || v[2] >= x->rank || v[3] < 1) return false;
  s->axis = (int)(v[2] < 0 ? v[2] + x->rank : v[2]);
  int64_t dim = x->dims[s->axis];
  s->start = v[0] < 0 ? v[0] + dim : v[0] > dim ? dim : v[0];
  s->end = v[1] < 0 ? v[1] + dim : v[1] > dim ? dim : v[1];
  s->step = v[3];
  return s->start >= 0 && s->end >= s->start;
}

/* Whether t is the slice of x's last axis [start, end) with step `step`, read once. */
static bool last_axis_slice(const vitc_rewriter *rw, int t, int x, int64_t start, int64_t end, int64_t step,
                            vitc_node **node) {
  slice_range s;
  if (!read_slice(rw, t, 1, &s) || s.x != x) return false;
  *node = s.node;
  return s.axis == rw->g->tensors[x].v.rank - 1 && s.start == start && s.end == end && s.step == step;
}

static bool concat_on(const vitc_graph *g, const vitc_node *c, int axis, int rank) {
  int64_t a = vitc_attr_int(c, "axis", 0);
  return c->nin == 2 && (a == axis || a == axis - rank);
}

/* The rotation of x that r computes: 0 rotate-half, 1 interleaved, -1 none. Its nodes go to nodes[*n]. */
static int rotation_of(const vitc_rewriter *rw, int r, int x, vitc_node **nodes, int *n) {
  const vitc_graph *g = rw->g;
  const vitc_value *xv = &g->tensors[x].v;
  int64_t dim = xv->dims[xv->rank - 1];
  if (dim % 2) return -1;
  vitc_node *neg, *s1, *s2, *c = vitc_match_inner(rw, r, VITC_OP_Concat, 1);
  if (c && concat_on(g, c, xv->rank - 1, xv->rank) && (neg = vitc_match_inner(rw, c->in[0], VITC_OP_Neg, 1)) &&
      last_axis_slice(rw, neg->in[0], x, dim / 2, dim, 1, &s1) && last_axis_slice(rw, c->in[1], x, 0, dim / 2, 1, &s2)) {
    vitc_node *found[] = {c, neg, s1, s2};
    for (int k = 0; k < 4; k++) nodes[(*n)++] = found[k];
    return 0;
  }
  vitc_node *reshape = vitc_match_inner(rw, r, VITC_OP_Reshape, 1), *u1, *u2;
  if (!reshape || !vitc_match_same_type(g, r, x) || !(c = vitc_match_inner(rw, reshape->in[0], VITC_OP_Concat, 1)) ||
      !concat_on(g, c, xv->rank, xv->rank + 1) || !(u1 = vitc_match_inner(rw, c->in[0], VITC_OP_Unsqueeze, 1)) ||
      !(u2 = vitc_match_inner(rw, c->in[1], VITC_OP_Unsqueeze, 1)) || !(neg = vitc_match_inner(rw, u1->in[0], VITC_OP_Neg, 1)) ||
      !last_axis_slice(rw, neg->in[0], x, 1, dim, 2, &s1) || !last_axis_slice(rw, u2->in[0], x, 0, dim, 2, &s2))
    return -1;
  /* both halves of the pair must land in a new last axis: [.., D/2, 1] each, concatenated to [.., D/2, 2] */
  const vitc_value *cv = &g->tensors[reshape->in[0]].v;
  if (!g->tensors[reshape->in[0]].shape_known || cv->dims[cv->rank - 1] != 2) return -1;
  vitc_node *found[] = {reshape, c, u1, u2, neg, s1, s2};
  for (int k = 0; k < 7; k++) nodes[(*n)++] = found[k];
  return 1;
}

/* A known table broadcast to x's last two dims [N, D] only (leading dims 1): its values as [N, D]. */
static bool rope_table(const vitc_graph *g, int t, int x, vitc_value *table) {
  const vitc_value *v = &g->tensors[t].v, *xv = &g->tensors[x].v;
  if (!v->data || v->dtype != xv->dtype || v->rank < 2 || v->rank > xv->rank) return false;
  for (int d = 0; d < v->rank - 2; d++)
    if (v->dims[d] != 1) return false;
  if (v->dims[v->rank - 2] != xv->dims[xv->rank - 2] || v->dims[v->rank - 1] != xv->dims[xv->rank - 1]) return false;
  *table = *v;
  table->rank = 2;
  table->dims[0] = v->dims[v->rank - 2];
  table->dims[1] = v->dims[v->rank - 1];
  return true;
}

typedef struct rope_match {
  vitc_node *nodes[16];
  int n, x, interleaved, offset, out;
  vitc_value cos, sin;
} rope_match;

/* add = Mul(x, cos) + Mul(rotate(x), sin). */
static bool match_rotation(const vitc_rewriter *rw, vitc_node *add, rope_match *m) {
  const vitc_graph *g = rw->g;
  for (int k = 0; k < 2; k++) {
    vitc_node *plain = vitc_match_inner(rw, add->in[k], VITC_OP_Mul, 1);
    vitc_node *turned = vitc_match_inner(rw, add->in[1 - k], VITC_OP_Mul, 1);
    if (!plain || !turned) continue;
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        int x = plain->in[a], r = turned->in[b];
        if (!g->tensors[x].shape_known || g->tensors[x].v.rank < 2 || !vitc_match_same_type(g, x, add->out[0]) ||
            !rope_table(g, plain->in[1 - a], x, &m->cos) || !rope_table(g, turned->in[1 - b], x, &m->sin))
          continue;
        m->n = 0;
        m->nodes[m->n++] = add;
        m->nodes[m->n++] = plain;
        m->nodes[m->n++] = turned;
        m->interleaved = rotation_of(rw, r, x, m->nodes, &m->n);
        if (m->interleaved < 0) continue;
        m->x = x;
        m->offset = 0;
        m->out = add->out[0];
        return true;
      }
  }
  return false;
}

/* The rows [0, k) of x0 concatenated back ahead of the rotated rows [k, N0): they join the Rope. */
static void match_offset(const vitc_rewriter *rw, rope_match *m) {
  const vitc_graph *g = rw->g;
  int y = m->out;
  vitc_node *cast = NULL, *concat = NULL;
  const int *uses = rw->uses;
  if (y < rw->counted && uses[y] == 1)
    for (int i = 0; i < g->nnodes && !cast; i++) {
      vitc_node *c = &g->nodes[i];
      if (!c->dead && c->op == VITC_OP_Cast && c->in[0] == y && vitc_match_same_type(g, c->out[0], y)) cast = c;
    }
  int tail = cast ? cast->out[0] : y;
  if (tail < rw->counted && uses[tail] == 1)
    for (int i = 0; i < g->nnodes && !concat; i++) {
      vitc_node *c = &g->nodes[i];
      if (!c->dead && c->op == VITC_OP_Concat && c->nin == 2 && c->in[1] == tail) concat = c;
    }
  slice_range head, rest;
  int rank = g->tensors[m->x].v.rank;
  if (!concat || !concat_on(g, concat, rank - 2, rank) || !read_slice(rw, concat->in[0], 1, &head) ||
      !read_slice(rw, m->x, 3, &rest) || head.x != rest.x || head.axis != rank - 2 || rest.axis != rank - 2 ||
      head.step != 1 || rest.step != 1 || head.start != 0 || head.end != rest.start ||
      rest.end != g->tensors[rest.x].v.dims[rank - 2] || !vitc_match_same_type(g, concat->out[0], rest.x))
    return;
  if (cast) m->nodes[m->n++] = cast;
  m->nodes[m->n++] = concat;
  m->nodes[m->n++] = head.node;
  m->nodes[m->n++] = rest.node;
  m->x = rest.x;
  m->offset = (int)rest.start;
  m->out = concat->out[0];
}

/* The head of a qkv projection a Rope's input is: Squeeze(Split(Transpose(Reshape(qkv)))[part]). */
typedef struct qkv_part {
  vitc_node *rope, *squeeze, *split, *transpose, *reshape;
  int part;
} qkv_part;

static bool match_qkv_part(const vitc_rewriter *rw, vitc_node *rope, qkv_part *p) {
  static const int64_t perm_qkv[5] = {2, 0, 3, 1, 4};
  const vitc_graph *g = rw->g;
  p->rope = rope;
  int len;
  const int64_t *perm;
  if (!(p->squeeze = vitc_match_inner(rw, rope->in[0], VITC_OP_Squeeze, 1)) ||
      !(p->split = vitc_match_inner(rw, p->squeeze->in[0], VITC_OP_Split, 1)) ||
      !(p->transpose = vitc_match_inner(rw, p->split->in[0], VITC_OP_Transpose, 1)) ||
      !(p->reshape = vitc_match_inner(rw, p->transpose->in[0], VITC_OP_Reshape, 1)) ||
      !(perm = vitc_attr_ints(p->transpose, "perm", &len)) || len != 5 || memcmp(perm, perm_qkv, sizeof perm_qkv) ||
      vitc_attr_int(p->split, "axis", 0) != 0 || vitc_attr_int(rope, "rotated", -1) >= 0)
    return false;
  const vitc_value *qkv = &g->tensors[p->reshape->in[0]].v, *split = &g->tensors[p->reshape->out[0]].v;
  if (!g->tensors[p->reshape->in[0]].shape_known || qkv->rank != 3 || split->rank != 5 || split->dims[0] != qkv->dims[0] ||
      split->dims[1] != qkv->dims[1] || g->tensors[p->squeeze->out[0]].v.rank != 4)
    return false;
  for (p->part = 0; p->part < p->split->nout && p->split->out[p->part] != p->squeeze->in[0]; p->part++) {}
  for (int k = 0; k < p->split->nout; k++) /* parts of one (q, k, v) each */
    if (p->split->out[k] >= 0 && g->tensors[p->split->out[k]].v.dims[0] != 1) return false;
  return true;
}

/* Equal known values. */
static bool same_table(const vitc_graph *g, int a, int b) {
  const vitc_value *x = &g->tensors[a].v, *y = &g->tensors[b].v;
  return vitc_match_same_type(g, a, b) && x->data && y->data && !memcmp(x->data, y->data, vitc_nbytes(x));
}

static vitc_status add_node(vitc_graph *g, vitc_op op, const char *name, const int *in, int nin, int out,
                            const vitc_attr *attrs, int nattr, vitc_error *err) {
  if (vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding %s", g->path, vitc_ops[op].name);
  return VITC_OK;
}

/* The Ropes of q (part 0) and k (part 1) of one projection become one Rope of its rows. */
static vitc_status rope_on_projection(vitc_rewriter *rw, const qkv_part *q, const qkv_part *k, vitc_error *err) {
  vitc_graph *g = rw->g;
  int qkv = q->reshape->in[0], heads = (int)g->tensors[q->reshape->out[0]].v.dims[3];
  int64_t dim = g->tensors[q->rope->in[1]].v.dims[1];
  int rotated_qkv = vitc_graph_add_tensor(g, NULL);
  if (rotated_qkv < 0) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
  g->tensors[rotated_qkv].v = g->tensors[qkv].v;
  g->tensors[rotated_qkv].v.data = NULL;
  g->tensors[rotated_qkv].shape_known = true;
  vitc_attr attrs[3] = {{.name = "interleaved", .type = VITC_ATTR_INT, .i = vitc_attr_int(q->rope, "interleaved", 0)},
                        {.name = "offset", .type = VITC_ATTR_INT, .i = vitc_attr_int(q->rope, "offset", 0)},
                        {.name = "rotated", .type = VITC_ATTR_INT, .i = 2 * heads * dim}};
  /* copies of what the new nodes need: adding nodes moves the node array */
  int rope_in[3] = {qkv, q->rope->in[1], q->rope->in[2]}, reshape_in[2] = {rotated_qkv, q->reshape->in[1]};
  int reshape_out = q->reshape->out[0], qs_in[2] = {q->squeeze->in[0], -1}, ks_in[2] = {k->squeeze->in[0], -1};
  int nsq = q->squeeze->nin, q_out = q->rope->out[0], k_out = k->rope->out[0];
  qs_in[1] = nsq > 1 ? q->squeeze->in[1] : -1;
  ks_in[1] = nsq > 1 ? k->squeeze->in[1] : -1;
  const char *rope_name = q->rope->name, *reshape_name = q->reshape->name, *qs_name = q->squeeze->name,
             *ks_name = k->squeeze->name;
  vitc_node *dead[] = {q->rope, k->rope, q->squeeze, k->squeeze, q->reshape};
  for (int d = 0; d < 5; d++) dead[d]->dead = true;
  rw->changed = true;
  vitc_status st = add_node(g, VITC_OP_Rope, rope_name, rope_in, 3, rotated_qkv, attrs, 3, err);
  if (st == VITC_OK) st = add_node(g, VITC_OP_Reshape, reshape_name, reshape_in, 2, reshape_out, NULL, 0, err);
  if (st == VITC_OK) st = add_node(g, VITC_OP_Squeeze, qs_name, qs_in, nsq, q_out, NULL, 0, err);
  if (st == VITC_OK) st = add_node(g, VITC_OP_Squeeze, ks_name, ks_in, nsq, k_out, NULL, 0, err);
  return st;
}

static vitc_status move_ropes_to_projections(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "fuse_rope", err);
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    qkv_part q, k;
    if (g->nodes[i].dead || g->nodes[i].op != VITC_OP_Rope || !match_qkv_part(&rw, &g->nodes[i], &q) || q.part != 0)
      continue;
    for (int j = 0; j < g->nnodes; j++) {
      vitc_node *n = &g->nodes[j];
      if (j == i || n->dead || n->op != VITC_OP_Rope || !match_qkv_part(&rw, n, &k) || k.split != q.split ||
          k.part != 1 || vitc_attr_int(n, "interleaved", 0) != vitc_attr_int(q.rope, "interleaved", 0) ||
          vitc_attr_int(n, "offset", 0) != vitc_attr_int(q.rope, "offset", 0) ||
          !same_table(g, n->in[1], q.rope->in[1]) || !same_table(g, n->in[2], q.rope->in[2]) ||
          g->tensors[q.rope->in[1]].v.dims[1] != g->tensors[q.reshape->out[0]].v.dims[4])
        continue;
      st = rope_on_projection(&rw, &q, &k, err);
      break;
    }
  }
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *add = &rw->g->nodes[i];
  rope_match m;
  if (add->op != VITC_OP_Add || !match_rotation(rw, add, &m)) return VITC_OK;
  match_offset(rw, &m);
  const char *base = rw->g->tensors[m.out].name;
  int in[3] = {m.x, vitc_rewrite_constant(rw, base, "rope_cos", &m.cos, err), -1};
  if (in[1] < 0 || (in[2] = vitc_rewrite_constant(rw, base, "rope_sin", &m.sin, err)) < 0) return VITC_ERR_NOMEM;
  vitc_attr attrs[2] = {{.name = "interleaved", .type = VITC_ATTR_INT, .i = m.interleaved},
                        {.name = "offset", .type = VITC_ATTR_INT, .i = m.offset}};
  return vitc_rewrite(rw, m.nodes, m.n, VITC_OP_Rope, in, 3, m.out, attrs, 2, err);
}

vitc_status vitc_fuse_rope(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_rewrite_each_node(g, "fuse_rope", true, visit, NULL, err);
  return st == VITC_OK ? move_ropes_to_projections(g, err) : st;
}
