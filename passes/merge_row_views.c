/* merge_row_views — views that only regroup rows (Reshapes keeping the last dim) between row-wise ops go:
 * a row-wise op does not care how its rows are grouped, so a group of them joined by such views can run
 * on one grouping. timm's Swin V2 and TinyViT blocks flatten the image to tokens for the MLP and back:
 *
 *     %t = Reshape(%x)           [1, 4096, 96]     %x [1, 64, 64, 96] (a conv, an attention's rows)
 *     %h = FusedGemm(%t, W1, b1) [1, 4096, 384]          %h = FusedGemm(%x, W1, b1)     [1, 64, 64, 384]
 *     %y = FusedGemm(%h, W2, b2, %t)              ─→     %y = FusedGemm(%h, W2, b2, %x) [1, 64, 64, 96]
 *     %z = Reshape(%y)           [1, 64, 64, 96]         (readers of %z read %y)
 *
 * A group is a connected set of tensors with one number of rows: joined by the views (ops.def's VIEW,
 * static shapes, the last dim kept) and by the aligned inputs and output of row-wise nodes
 * (vitc_match_aligned_inputs). Every tensor of the group takes one leading shape L, that of some tensor
 * in it, and every view of the group goes. The tensors that cannot change cost a Reshape each: one
 * computed outside the group (it enters through Reshape(%x) to L) and one some node outside reads by its
 * shape (a Reshape back to its old dims for those readers). Some readers and writers take any dims and
 * cost nothing: a Reshape (its shape input becomes static dims), an Attention reading Q, K or V through a
 * row map (a mapped operand is a flat base) or writing Y through one (its y_shape changes), an op whose
 * rows are flat (ops.def's FLAT_ROWS: XCiT's ChannelAttention reads its qkv rows and writes its y_shape). L is the shape that costs fewest Reshapes, every node's shape rule agreeing with
 * it (a bias of higher rank would broadcast otherwise), and the rewrite is made when it removes more views
 * than it adds Reshapes. A graph output keeps its shape: L is then its leading shape.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { IN_Q = 0, IN_QMAP = 5, IN_YMAP = 8, MAX_SHAPES = 16, MAX_IN = 16, MAX_ATTRS = 16 };

typedef struct groups {
  vitc_graph *g;
  int ntensors, nnodes; /* as when the pass began: the Reshapes it adds are not part of any group */
  int *parent;          /* union-find over tensors; -1 for a tensor in no group */
  bool *link;           /* per node: a view that regroups rows */
  unsigned *aligned;    /* per node: vitc_match_aligned_inputs */
  bool *bound;          /* per tensor: read by its shape (outside the group, or a graph output) */
  bool *output;         /* per tensor: a graph output */
} groups;

static const vitc_value *value(const vitc_graph *g, int t) { return &g->tensors[t].v; }

static int find(groups *gr, int t) {
  while (gr->parent[t] != t) t = gr->parent[t] = gr->parent[gr->parent[t]];
  return t;
}

static void join(groups *gr, int a, int b) {
  if (gr->parent[a] < 0) gr->parent[a] = a;
  if (gr->parent[b] < 0) gr->parent[b] = b;
  gr->parent[find(gr, a)] = find(gr, b);
}

static bool in_group(groups *gr, int t, int root) { return t >= 0 && t < gr->ntensors && gr->parent[t] >= 0 && find(gr, t) == root; }

/* A float tensor of static dims, rank >= 2, not a known value. */
static bool rows_tensor(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && !value(g, t)->data && value(g, t)->rank >= 2 && vitc_numel(value(g, t)) > 0;
}

/* Whether n is a view (ops.def's VIEW) from rows to the same rows regrouped. */
static bool is_row_view(const vitc_graph *g, const vitc_node *n) {
  if (n->dead || !vitc_op_has(n->op, VITC_OPF_VIEW) || n->nout != 1 || !rows_tensor(g, n->in[0]) || !rows_tensor(g, n->out[0]))
    return false;
  const vitc_value *x = value(g, n->in[0]), *y = value(g, n->out[0]);
  return x->dtype == y->dtype && x->dims[x->rank - 1] == y->dims[y->rank - 1];
}

/* Whether input k of n reads its tensor whatever its dims: a Reshape's data (its shape input then
 * spells the output's dims), input 0 of a FLAT_ROWS op (ops.def), or an Attention's Q, K or V read
 * through a row map. */
static bool reads_any_shape(const vitc_node *n, int k) {
  if (n->op == VITC_OP_Reshape || vitc_op_has(n->op, VITC_OPF_FLAT_ROWS)) return k == 0;
  return n->op == VITC_OP_Attention && k >= IN_Q && k < IN_Q + 3 && n->nin > IN_QMAP + k && n->in[IN_QMAP + k] >= 0;
}

/* Whether input k of node i joins its tensor to the group (node i is part of it). */
static bool group_read(const groups *gr, int i, int k) {
  return (gr->link[i] && k == 0) || (gr->aligned[i] >> k & 1);
}

static vitc_status build(groups *gr, vitc_graph *g, vitc_error *err) {
  *gr = (groups){.g = g, .ntensors = g->ntensors, .nnodes = g->nnodes};
  gr->parent = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  gr->bound = calloc((size_t)g->ntensors + 1, sizeof(bool));
  gr->output = calloc((size_t)g->ntensors + 1, sizeof(bool));
  gr->link = calloc((size_t)g->nnodes + 1, sizeof(bool));
  gr->aligned = calloc((size_t)g->nnodes + 1, sizeof(unsigned));
  if (!gr->parent || !gr->bound || !gr->output || !gr->link || !gr->aligned)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in merge_row_views", g->path);
  for (int t = 0; t < g->ntensors; t++) gr->parent[t] = -1;
  for (int k = 0; k < g->noutputs; k++) gr->output[g->outputs[k]] = gr->bound[g->outputs[k]] = true;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if ((gr->link[i] = is_row_view(g, n) && !gr->output[n->out[0]])) { /* a graph output keeps its view */
      join(gr, n->in[0], n->out[0]);
      continue;
    }
    unsigned mask = vitc_match_aligned_inputs(g, n);
    bool rows = rows_tensor(g, n->out[0]);
    for (int k = 0; rows && k < n->nin; k++)
      rows = !(mask >> k & 1) || rows_tensor(g, n->in[k]);
    gr->aligned[i] = rows ? mask : 0;
    for (int k = 0; k < n->nin; k++)
      if (gr->aligned[i] >> k & 1) join(gr, n->in[k], n->out[0]);
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && !group_read(gr, i, k) && !reads_any_shape(&g->nodes[i], k)) gr->bound[t] = true;
    }
  return VITC_OK;
}

static void release(groups *gr) {
  free(gr->parent);
  free(gr->bound);
  free(gr->output);
  free(gr->link);
  free(gr->aligned);
}

/* Whether t is the output of an Attention writing it through a row map, or of a FLAT_ROWS op: any dims
 * of its size will do (its y_shape). */
static bool mapped_output(const vitc_graph *g, int t) {
  int p = g->tensors[t].producer;
  const vitc_node *n = p >= 0 ? &g->nodes[p] : NULL;
  bool mapped = n && (vitc_op_has(n->op, VITC_OPF_FLAT_ROWS) ||
                      (n->op == VITC_OP_Attention && n->nin > IN_YMAP && n->in[IN_YMAP] >= 0));
  return mapped && !n->dead && n->nattr <= MAX_ATTRS && vitc_attr_find(n, "y_shape");
}

/* Whether t can take other leading dims where it is computed: the group's node computes it, a Reshape
 * (whose shape input then spells them), a mapped Attention or a FLAT_ROWS op (XCiT's head merge). */
static bool computed_inside(const groups *gr, int t) {
  int p = gr->g->tensors[t].producer;
  return p >= 0 && p < gr->nnodes &&
         (gr->link[p] || gr->aligned[p] || gr->g->nodes[p].op == VITC_OP_Reshape || mapped_output(gr->g, t));
}

/* The mapped Attention or FLAT_ROWS op computing t writes it with dims v. */
static vitc_status retype_output(vitc_rewriter *rw, int t, const vitc_value *v, vitc_error *err) {
  vitc_node *n = &rw->g->nodes[rw->g->tensors[t].producer];
  vitc_attr attrs[MAX_ATTRS];
  memcpy(attrs, n->attrs, sizeof(vitc_attr) * (size_t)n->nattr);
  for (int k = 0; k < n->nattr; k++)
    if (!strcmp(attrs[k].name, "y_shape")) {
      attrs[k].ints = (int64_t *)v->dims;
      attrs[k].n = v->rank;
    }
  return vitc_rewrite(rw, &n, 1, n->op, n->in, n->nin, t, attrs, n->nattr, err);
}

static bool has_lead(const vitc_value *v, const vitc_value *shape) {
  return v->rank == shape->rank && !memcmp(v->dims, shape->dims, sizeof(int64_t) * (size_t)(v->rank - 1));
}

/* t's type with the leading dims of `shape`. */
static vitc_value relabel(const vitc_value *t, const vitc_value *shape) {
  vitc_value v = *shape;
  v.dtype = t->dtype;
  v.dims[v.rank - 1] = t->dims[t->rank - 1];
  v.data = NULL;
  return v;
}

/* Whether aligned node i's shape rule gives its output the leading dims of `shape` when its group inputs
 * have them. */
static bool agrees(groups *gr, int root, int i, const vitc_value *shape) {
  const vitc_graph *g = gr->g;
  const vitc_node *n = &g->nodes[i];
  vitc_value vals[MAX_IN], out = {0};
  const vitc_value *in[MAX_IN];
  if (n->nin > MAX_IN) return false;
  for (int k = 0; k < n->nin; k++) {
    in[k] = n->in[k] < 0 ? NULL : value(g, n->in[k]);
    if (in[k] && (gr->aligned[i] >> k & 1)) {
      vals[k] = relabel(in[k], shape);
      in[k] = &vals[k];
    }
  }
  vitc_error scratch;
  vitc_value want = relabel(value(g, n->out[0]), shape);
  return in_group(gr, n->out[0], root) && vitc_ops[n->op].shape(n, in, &out, &scratch) == VITC_OK &&
         out.rank == want.rank && !memcmp(out.dims, want.dims, sizeof(int64_t) * (size_t)want.rank);
}

/* The Reshapes the group needs with leading dims of `shape`, or -1 when it cannot take them. */
static int cost(groups *gr, int root, const vitc_value *shape) {
  const vitc_graph *g = gr->g;
  int count = 0;
  for (int t = 0; t < gr->ntensors; t++) {
    if (!in_group(gr, t, root) || has_lead(value(g, t), shape)) continue;
    if (gr->output[t]) return -1;
    count += !computed_inside(gr, t) || gr->bound[t];
  }
  for (int i = 0; i < gr->nnodes; i++)
    if (gr->aligned[i] && !g->nodes[i].dead && in_group(gr, g->nodes[i].out[0], root) && !agrees(gr, root, i, shape))
      return -1;
  return count;
}

/* A new static Reshape of t to type v, named after t. */
static int reshape_to(vitc_rewriter *rw, int t, const vitc_value *v, const char *suffix, vitc_error *err) {
  vitc_value dims = {.dtype = VITC_I64, .rank = 1, .dims = {v->rank}, .data = (void *)v->dims};
  int in[2] = {t, vitc_rewrite_constant(rw, rw->g->tensors[t].name, "shape", &dims, err)};
  return in[1] < 0 ? -1 : vitc_rewrite_node(rw, VITC_OP_Reshape, in, 2, v, NULL, 0, rw->g->tensors[t].name, suffix, err);
}

/* Points the first `nnodes` nodes' inputs that read t, by group or by shape as `by_group` says, at to. */
static void redirect(groups *gr, int t, int to, bool by_group) {
  for (int i = 0; i < gr->nnodes; i++)
    for (int k = 0; !gr->g->nodes[i].dead && k < gr->g->nodes[i].nin; k++)
      if (gr->g->nodes[i].in[k] == t && (group_read(gr, i, k) || reads_any_shape(&gr->g->nodes[i], k)) == by_group)
        gr->g->nodes[i].in[k] = to;
}

/* Reshape node i's shape input becomes its output's dims. */
static vitc_status spell_dims(vitc_rewriter *rw, int i, vitc_error *err) {
  const vitc_value *y = value(rw->g, rw->g->nodes[i].out[0]);
  vitc_value dims = {.dtype = VITC_I64, .rank = 1, .dims = {y->rank}, .data = (void *)y->dims};
  int s = vitc_rewrite_constant(rw, rw->g->tensors[rw->g->nodes[i].out[0]].name, "shape", &dims, err);
  if (s < 0) return VITC_ERR_NOMEM;
  rw->g->nodes[i].in[1] = s;
  return VITC_OK;
}

/* Gives every tensor of the group the leading dims of `shape` and bypasses its views. */
static vitc_status rewrite(vitc_rewriter *rw, groups *gr, int root, const vitc_value *shape, vitc_error *err) {
  vitc_graph *g = rw->g;
  for (int t = 0; t < gr->ntensors; t++) {
    if (!in_group(gr, t, root) || has_lead(value(g, t), shape)) continue;
    vitc_value old = *value(g, t), now = relabel(&old, shape);
    if (!computed_inside(gr, t)) { /* enters through a Reshape */
      int r = reshape_to(rw, t, &now, "rows", err);
      if (r < 0) return VITC_ERR_NOMEM;
      redirect(gr, t, r, true);
      continue;
    }
    if (gr->bound[t]) { /* its outside readers see its old dims */
      int r = reshape_to(rw, t, &old, "view", err);
      if (r < 0) return VITC_ERR_NOMEM;
      redirect(gr, t, r, false);
    }
    vitc_status st = mapped_output(g, t) ? retype_output(rw, t, &now, err) : VITC_OK;
    if (st != VITC_OK) return st;
    g->tensors[t].v = now;
    st = g->nodes[g->tensors[t].producer].op == VITC_OP_Reshape ? spell_dims(rw, g->tensors[t].producer, err) : VITC_OK;
    if (st != VITC_OK) return st;
  }
  for (int i = 0; i < gr->nnodes; i++) {
    vitc_node *n = &g->nodes[i];
    if (n->dead || n->in[0] < 0 || !(in_group(gr, n->in[0], root) || n->in[0] >= gr->ntensors)) continue;
    if (gr->link[i]) { /* now a view to the dims it reads */
      n->dead = true;
      vitc_graph_replace_uses(g, n->out[0], n->in[0]);
      continue;
    }
    vitc_status st = n->op == VITC_OP_Reshape ? spell_dims(rw, i, err) : VITC_OK; /* it may copy an old dim (a 0) */
    if (st != VITC_OK) return st;
  }
  rw->changed = true;
  return VITC_OK;
}

/* Merges the views of the group of root when that removes more of them than it adds Reshapes. */
static vitc_status merge_group(vitc_rewriter *rw, groups *gr, int root, vitc_error *err) {
  const vitc_graph *g = rw->g;
  int views = 0;
  for (int i = 0; i < gr->nnodes; i++)
    views += gr->link[i] && !g->nodes[i].dead && in_group(gr, g->nodes[i].out[0], root);
  vitc_value shapes[MAX_SHAPES];
  int nshapes = 0, best = -1, best_cost = views;
  for (int t = 0; t < gr->ntensors && nshapes < MAX_SHAPES; t++) {
    if (!in_group(gr, t, root)) continue;
    bool seen = false;
    for (int s = 0; s < nshapes && !seen; s++) seen = has_lead(value(g, t), &shapes[s]);
    if (seen) continue;
    shapes[nshapes] = *value(g, t);
    int c = cost(gr, root, &shapes[nshapes]);
    if (c >= 0 && c < best_cost) {
      best = nshapes;
      best_cost = c;
    }
    nshapes++;
  }
  return best >= 0 ? rewrite(rw, gr, root, &shapes[best], err) : VITC_OK;
}

vitc_status vitc_merge_row_views(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  groups gr;
  vitc_status st = vitc_rewriter_begin(&rw, g, "merge_row_views", err);
  if (st != VITC_OK) return st;
  st = build(&gr, g, err);
  for (int i = 0; st == VITC_OK && i < gr.nnodes; i++) /* each group once, from its first view */
    if (gr.link[i] && !g->nodes[i].dead) {
      int root = find(&gr, g->nodes[i].out[0]);
      bool first = true;
      for (int j = 0; j < i && first; j++) first = !gr.link[j] || find(&gr, g->nodes[j].out[0]) != root;
      if (first) st = merge_group(&rw, &gr, root, err);
    }
  release(&gr);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
