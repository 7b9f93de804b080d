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
 * (the Cast a float-to-same-float no-op). Every inner tensor is read only inside the pattern. */
#include <stdint.h>

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

vitc_status vitc_fuse_rope(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "fuse_rope", err);
  for (int i = g->nnodes - 1; i >= 0 && st == VITC_OK; i--) {
    vitc_node *add = &g->nodes[i];
    rope_match m;
    if (add->dead || add->op != VITC_OP_Add || !match_rotation(&rw, add, &m)) continue;
    match_offset(&rw, &m);
    const char *base = g->tensors[m.out].name;
    int in[3] = {m.x, vitc_rewrite_constant(&rw, base, "rope_cos", &m.cos, err), -1};
    if (in[1] < 0 || (in[2] = vitc_rewrite_constant(&rw, base, "rope_sin", &m.sin, err)) < 0) {
      st = VITC_ERR_NOMEM;
      break;
    }
    vitc_attr attrs[2] = {{.name = "interleaved", .type = VITC_ATTR_INT, .i = m.interleaved},
                          {.name = "offset", .type = VITC_ATTR_INT, .i = m.offset}};
    st = vitc_rewrite(&rw, m.nodes, m.n, VITC_OP_Rope, in, 3, m.out, attrs, 2, err);
  }
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
