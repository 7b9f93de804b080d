/* absorb_partitions — MaxViT's window and grid partitions leave the image: the row-wise ops between a
 * partition and its reverse run on the rows in image order, and only the attention reads windows (grid
 * cells), through its row maps.
 *
 *     %p = Reshape → Transpose → Reshape ..(%x)      [B, G, P, C]     %x [B, C, H, W] or [B, H, W, C]
 *     %a = LayerNorm, FusedGemm, Attention(maps), FusedGemm(.., %p) ..(%p)       rows in window order
 *     %y = Reshape → Transpose → Reshape ..(%a)      %x's order again
 *                        ─→
 *     %p' = Transpose(%x) {[0, 2, 3, 1]}               none when %x is channels-last
 *     %a  = the same ops on %p' with the image's dims [B, H, W, width], the Attention's maps sending
 *           window rows to image rows
 *     %y  = Transpose(%a) {[0, 3, 1, 2]}               or a Reshape, or nothing
 *
 * The region is the set of tensors whose rows line up with %p's: closed under row-wise nodes
 * (vitc_match_row_operand; a FusedGemm's residual and an elementwise op of two such tensors of one shape
 * line up too), entered only through %p, and left only into movement chains that restore the image's
 * order (the exits) and into the Q, K, V and Y of mapped Attentions. Row r of a region tensor holds image
 * row R[r], R read from %p's origins (vitc_probe_origins): a channels-last image has whole rows, a
 * channels-first one [B, C, S..] row (b, s) with its channels a plane apart. An exit is the furthest
 * tensor of a chain of movement nodes from a region tensor, each tensor read once, whose elements sit in
 * the image's order (either layout). The rewrite is made when it removes more movement nodes than it
 * adds (a plain channels-first → channels-last view and back, ConvNeXt's permutes, gains nothing). A
 * graph output, a bias, an unmapped attention or any other reader of the region leaves the graph as it
 * is. The partitions' chains go when nothing reads them (eliminate_dead). */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, NIN_MAPPED = IN_QMAP + 4 };
enum { MAX_REGION = 256, MAX_EXITS = 16, MAX_MAPS = 64, MAX_CHAIN = 16 };

/* How rows of `width` elements lie in an image tensor. */
typedef struct image {
  bool channels_first;
  int rank;
  int64_t dims[VITC_MAX_RANK];
  int64_t width, rows, plane; /* plane: elements of one channel of one batch entry (channels-first) */
} image;

typedef struct exit_chain {
  int from, first, to; /* region tensor, the chain's first node, the tensor in image order */
  bool channels_first;
} exit_chain;

typedef struct region {
  vitc_graph *g;
  bool *member; /* per tensor of the graph as the region's growth found it */
  int counted;
  int tensors[MAX_REGION], n;
  int entry, image_tensor, image_rows; /* image_rows: the entry's replacement, in image order */
  image im;
  int64_t *row; /* R: image row of each region row */
  exit_chain exits[MAX_EXITS];
  int nexits;
  int unused[MAX_EXITS], nunused; /* first nodes of chains from the region that lead nowhere */
  int maps[MAX_MAPS][2]; /* Attention node, slot (IN_Q, IN_K, IN_V, or 3 for Y) */
  int nmaps;
} region;

static const vitc_value *value(const vitc_graph *g, int t) { return &g->tensors[t].v; }

/* Reads tensor t as an image of rows of `width` in the given layout. */
static bool image_of(const vitc_graph *g, int t, int64_t width, bool channels_first, image *im) {
  const vitc_value *v = value(g, t);
  *im = (image){.channels_first = channels_first, .rank = v->rank, .width = width, .plane = 1};
  memcpy(im->dims, v->dims, sizeof(int64_t) * (size_t)v->rank);
  if (!g->tensors[t].shape_known || width < 1 || v->rank < (channels_first ? 3 : 1)) return false;
  if (!channels_first) {
    im->rows = vitc_numel(v) / width;
    return v->dims[v->rank - 1] == width;
  }
  for (int d = 2; d < v->rank; d++) im->plane *= v->dims[d];
  im->rows = v->dims[0] * im->plane;
  return v->dims[1] == width;
}

/* Where element c of image row r lies. */
static int64_t image_offset(const image *im, int64_t r, int64_t c) {
  if (!im->channels_first) return r * im->width + c;
  return (r / im->plane * im->width + c) * im->plane + r % im->plane;
}

/* Row r of p (width C) is image row row[r] of im when o, p's origins in the image, says so for every
 * element and no image row is taken twice. R may be the identity: a channels-first image's rows still
 * leave it through a Transpose. */
static bool rows_of_image(const int64_t *o, const image *im, int64_t *row) {
  int64_t c = im->width, plane = im->plane;
  bool *seen = calloc((size_t)im->rows + 1, 1);
  bool ok = seen != NULL;
  for (int64_t r = 0; ok && r < im->rows; r++) {
    int64_t first = o[r * c];
    if (im->channels_first) {
      ok = first >= 0 && first % (c * plane) < plane; /* channel 0 of its batch entry */
      row[r] = first / (c * plane) * plane + first % (c * plane);
    } else {
      ok = first >= 0 && first % c == 0;
      row[r] = first / c;
    }
    ok = ok && row[r] < im->rows && !seen[row[r]];
    if (ok) seen[row[r]] = true;
    for (int64_t k = 0; ok && k < c; k++) ok = o[r * c + k] == image_offset(im, row[r], k);
  }
  free(seen);
  return ok;
}

/* Whether e, whose origins in region tensor t are o, holds t's elements in image order (of the image's
 * rows, with t's width) in one of the layouts; *channels_first receives which. */
static bool in_image_order(const region *rg, int t, int e, const int64_t *o, bool *channels_first) {
  const vitc_graph *g = rg->g;
  int64_t width = value(g, t)->dims[value(g, t)->rank - 1], count = vitc_numel(value(g, e));
  for (int layout = 0; layout < 2; layout++) {
    image im;
    if (!image_of(g, e, width, layout, &im) || im.rows != rg->im.rows) continue;
    bool ok = true;
    for (int64_t i = 0; ok && i < count; i++) ok = o[i] >= 0 && image_offset(&im, rg->row[o[i] / width], o[i] % width) == i;
    if (ok) {
      *channels_first = layout;
      return true;
    }
  }
  return false;
}

/* The live readers of t (a graph output counts as one); *last receives the last reading node. */
static int readers(const vitc_graph *g, int t, int *last) {
  int count = vitc_graph_is_output(g, t);
  *last = -1;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] == t) {
        count++;
        *last = i;
      }
  return count;
}

/* The only live reader of t, or -1 (also when a graph output is t). */
static int only_reader(const vitc_graph *g, int t) {
  int last;
  return readers(g, t, &last) == 1 ? last : -1;
}

/* Whether node `first` starts a chain of single-reader nodes whose last output nothing reads: left
 * behind by an earlier rewrite of this pass, it goes with the region's old layout. */
static bool leads_nowhere(const vitc_graph *g, int first) {
  for (int i = first, depth = 0; depth < MAX_CHAIN; depth++) {
    int t = g->nodes[i].nout == 1 ? g->nodes[i].out[0] : -1, n = t >= 0 ? readers(g, t, &i) : -1;
    if (n != 1) return n == 0;
  }
  return false;
}

static void kill_chain(vitc_graph *g, int first) {
  for (int i = first; i >= 0; i = only_reader(g, g->nodes[i].out[0])) g->nodes[i].dead = true;
}

static bool add_tensor(region *rg, int t) {
  const vitc_graph *g = rg->g;
  if (t < 0 || t >= rg->counted || value(g, t)->data || vitc_graph_is_output(g, t) || !g->tensors[t].shape_known)
    return false;
  if (rg->member[t]) return true;
  const vitc_value *v = value(g, t);
  if (v->rank != rg->im.rank || rg->n == MAX_REGION || v->dims[v->rank - 1] < 1 ||
      vitc_numel(v) / v->dims[v->rank - 1] != rg->im.rows)
    return false;
  rg->member[t] = true;
  rg->tensors[rg->n++] = t;
  return true;
}

static bool add_map(region *rg, int node, int slot) {
  for (int k = 0; k < rg->nmaps; k++)
    if (rg->maps[k][0] == node && rg->maps[k][1] == slot) return true;
  if (rg->nmaps == MAX_MAPS || rg->g->nodes[node].nin != NIN_MAPPED || rg->g->nodes[node].in[IN_QMAP + slot] < 0)
    return false;
  rg->maps[rg->nmaps][0] = node;
  rg->maps[rg->nmaps++][1] = slot;
  return true;
}

/* Node i's aligned inputs and output join the region. */
static bool add_aligned(region *rg, int i, unsigned mask) {
  const vitc_node *n = &rg->g->nodes[i];
  bool ok = add_tensor(rg, n->out[0]);
  for (int k = 0; ok && k < n->nin; k++)
    if (mask >> k & 1) ok = add_tensor(rg, n->in[k]);
  return ok;
}

/* The exit from region tensor t through movement node `first`: the furthest tensor of its chain in
 * image order. */
static vitc_status add_exit(region *rg, int t, int first, bool *ok, vitc_error *err) {
  vitc_graph *g = rg->g;
  exit_chain ex = {.from = t, .first = first, .to = -1};
  int i = first;
  vitc_status st = VITC_OK;
  for (int depth = 0; st == VITC_OK && i >= 0 && depth < MAX_CHAIN; depth++) {
    const vitc_node *n = &g->nodes[i];
    if (n->nout != 1 || n->out[0] < 0 || !(vitc_moved_inputs(g, n) & 1u)) break;
    int e = n->out[0];
    if (vitc_numel(value(g, e)) == vitc_numel(value(g, t))) {
      int64_t *o = NULL;
      bool channels_first;
      st = vitc_probe_origins(g, t, e, &o, err);
      if (o && in_image_order(rg, t, e, o, &channels_first)) {
        ex.to = e;
        ex.channels_first = channels_first;
      }
      free(o);
    }
    i = only_reader(g, e);
    if (i >= 0 && g->nodes[i].in[0] != e) break;
  }
  *ok = ex.to >= 0 && rg->nexits < MAX_EXITS;
  if (*ok) rg->exits[rg->nexits++] = ex;
  return st;
}

/* Grows the region from its entry; *ok is false when something outside the contract reads or writes it. */
static vitc_status grow(region *rg, bool *ok, vitc_error *err) {
  vitc_graph *g = rg->g;
  vitc_status st = VITC_OK;
  *ok = add_tensor(rg, rg->entry);
  for (int k = 0; *ok && st == VITC_OK && k < rg->n; k++) {
    int t = rg->tensors[k], p = g->tensors[t].producer;
    if (t != rg->entry) {
      const vitc_node *n = p >= 0 ? &g->nodes[p] : NULL;
      if (n && n->op == VITC_OP_Attention) *ok = add_map(rg, p, 3);
      else *ok = n && vitc_match_aligned_inputs(g, n) && add_aligned(rg, p, vitc_match_aligned_inputs(g, n));
    }
    for (int i = 0; *ok && st == VITC_OK && i < g->nnodes; i++) {
      const vitc_node *n = &g->nodes[i];
      for (int j = 0; *ok && st == VITC_OK && !n->dead && j < n->nin; j++) {
        if (n->in[j] != t) continue;
        unsigned mask = vitc_match_aligned_inputs(g, n);
        if (n->op == VITC_OP_Attention) *ok = j <= IN_V && add_map(rg, i, j);
        else if (mask >> j & 1) *ok = add_aligned(rg, i, mask);
        else if (leads_nowhere(g, i) && rg->nunused < MAX_EXITS) rg->unused[rg->nunused++] = i;
        else if (j == 0 && (vitc_moved_inputs(g, n) & 1u)) st = add_exit(rg, t, i, ok, err);
        else *ok = false;
      }
    }
  }
  return st;
}

/* Adds op(in) writing `out`, or a new tensor of dims when out < 0; returns the tensor. */
static int add_node(region *rg, vitc_rewriter *rw, vitc_op op, const int *in, int nin, int rank, const int64_t *dims,
                    const vitc_attr *attrs, int nattr, int out, const char *name, vitc_error *err) {
  vitc_graph *g = rg->g;
  if (out < 0) {
    vitc_value type = {.dtype = value(g, in[0])->dtype, .rank = rank};
    memcpy(type.dims, dims, sizeof(int64_t) * (size_t)rank);
    return vitc_rewrite_node(rw, op, in, nin, &type, attrs, nattr, g->tensors[in[0]].name, "image_order", err);
  }
  if (vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr) < 0) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding %s", g->path, vitc_ops[op].name);
    return -1;
  }
  return out;
}

/* x (rank r) with its dim `from` moved to position `to`, written to out (or a new tensor if out < 0). */
static int move_dim(region *rg, vitc_rewriter *rw, int x, int from, int to, int out, const char *name, vitc_error *err) {
  const vitc_value *v = value(rg->g, x);
  int64_t perm[VITC_MAX_RANK], dims[VITC_MAX_RANK];
  for (int d = 0, k = 0; d < v->rank; d++)
    if (d != from) perm[k++] = d;
  for (int d = v->rank - 1; d > to; d--) perm[d] = perm[d - 1];
  perm[to] = from;
  for (int d = 0; d < v->rank; d++) dims[d] = v->dims[perm[d]];
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = v->rank, .ints = perm};
  return add_node(rg, rw, VITC_OP_Transpose, &x, 1, v->rank, dims, &a, 1, out, name, err);
}

/* Exit ex computed afresh from its region tensor, now in image order; the old chain dies. */
static vitc_status rewrite_exit(region *rg, vitc_rewriter *rw, const exit_chain *ex, vitc_error *err) {
  vitc_graph *g = rg->g;
  const char *name = g->nodes[g->tensors[ex->to].producer].name;
  for (int i = ex->first;; i = only_reader(g, g->nodes[i].out[0])) {
    g->nodes[i].dead = true;
    if (g->nodes[i].out[0] == ex->to) break;
  }
  int x = ex->from == rg->entry ? rg->image_rows : ex->from, rank = value(g, x)->rank;
  vitc_value e = *value(g, ex->to); /* adding tensors moves the table */
  if (ex->channels_first) {
    int64_t dims[VITC_MAX_RANK] = {value(g, x)->dims[0], value(g, x)->dims[rank - 1]};
    memcpy(dims + 2, value(g, x)->dims + 1, sizeof(int64_t) * (size_t)(rank - 2));
    bool same = e.rank == rank && !memcmp(e.dims, dims, sizeof(int64_t) * (size_t)rank);
    if ((x = move_dim(rg, rw, x, rank - 1, 1, same ? ex->to : -1, name, err)) < 0) return VITC_ERR_NOMEM;
    if (same) return VITC_OK;
  } else if (vitc_match_same_type(g, x, ex->to) && !vitc_graph_is_output(g, ex->to)) {
    vitc_graph_replace_uses(g, ex->to, x);
    return VITC_OK;
  }
  vitc_value shape = {.dtype = VITC_I64, .rank = 1, .dims = {e.rank}, .data = e.dims};
  int in[2] = {x, vitc_rewrite_constant(rw, g->tensors[ex->to].name, "image_shape", &shape, err)};
  if (in[1] < 0 || add_node(rg, rw, VITC_OP_Reshape, in, 2, e.rank, e.dims, NULL, 0, ex->to, name, err) < 0)
    return VITC_ERR_NOMEM;
  return VITC_OK;
}

/* The Attention's map of `slot` sends each region row r to image row R[r]. */
static vitc_status rewrite_map(region *rg, vitc_rewriter *rw, int node, int slot, vitc_error *err) {
  vitc_graph *g = rg->g;
  vitc_node *n = &g->nodes[node];
  int base = slot == 3 ? n->out[0] : n->in[slot], old = n->in[IN_QMAP + slot];
  int64_t width = value(g, base)->dims[value(g, base)->rank - 1];
  vitc_value map = *value(g, old);
  int64_t count = vitc_numel(&map), *moved = malloc(sizeof(int64_t) * (size_t)(count + 1));
  if (!moved) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_partitions", g->path);
  for (int64_t i = 0; i < count; i++) {
    int64_t o = ((const int64_t *)map.data)[i];
    moved[i] = rg->row[o / width] * width + o % width;
  }
  map.data = moved;
  int id = vitc_rewrite_constant(rw, g->tensors[old].name, "image", &map, err);
  free(moved);
  if (id < 0) return VITC_ERR_NOMEM;
  n = &g->nodes[node];
  n->in[IN_QMAP + slot] = id;
  if (slot != 3) return VITC_OK;
  for (int a = 0; a < n->nattr; a++) /* Y's shape is the region's now */
    if (!strcmp(n->attrs[a].name, "y_shape") && n->attrs[a].n == value(g, base)->rank)
      memcpy(n->attrs[a].ints, value(g, base)->dims, sizeof(int64_t) * (size_t)n->attrs[a].n);
  return VITC_OK;
}

static vitc_status rewrite(region *rg, vitc_rewriter *rw, vitc_error *err) {
  vitc_graph *g = rg->g;
  const image *im = &rg->im;
  int64_t prefix[VITC_MAX_RANK];
  prefix[0] = im->dims[0];
  for (int d = 1; d + 1 < im->rank; d++) prefix[d] = im->dims[im->channels_first ? d + 1 : d];
  for (int k = 0; k < rg->n; k++) {
    vitc_value *v = &g->tensors[rg->tensors[k]].v;
    if (rg->tensors[k] == rg->entry) continue;
    int64_t width = v->dims[v->rank - 1];
    memcpy(v->dims, prefix, sizeof(int64_t) * (size_t)(v->rank - 1));
    v->dims[v->rank - 1] = width;
  }
  int x = rg->image_tensor;
  if (im->channels_first && (x = move_dim(rg, rw, x, 1, im->rank - 1, -1, NULL, err)) < 0) return VITC_ERR_NOMEM;
  vitc_graph_replace_uses(g, rg->entry, x);
  rg->image_rows = x;
  vitc_status st = VITC_OK;
  for (int k = 0; st == VITC_OK && k < rg->nmaps; k++) st = rewrite_map(rg, rw, rg->maps[k][0], rg->maps[k][1], err);
  for (int k = 0; k < rg->nunused; k++) kill_chain(g, rg->unused[k]);
  for (int k = 0; st == VITC_OK && k < rg->nexits; k++) st = rewrite_exit(rg, rw, &rg->exits[k], err);
  rw->changed = true;
  return st;
}

/* Whether some reader of t lines its rows up with t's (worth probing t as an entry). */
static bool read_by_rows(const vitc_graph *g, int t) {
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] == t && (vitc_match_aligned_inputs(g, &g->nodes[i]) >> k & 1)) return true;
  return false;
}

/* Movement nodes the rewrite removes (the entry's chain, the exits' chains) less those it adds (a
 * Transpose or Reshape each way). */
static int gain(const region *rg) {
  const vitc_graph *g = rg->g;
  int removed = 0, added = rg->im.channels_first;
  for (int t = rg->entry; t != rg->image_tensor && g->tensors[t].producer >= 0 && removed < MAX_CHAIN; removed++)
    t = g->nodes[g->tensors[t].producer].in[0];
  for (int k = 0; k < rg->nexits; k++) {
    const exit_chain *ex = &rg->exits[k];
    for (int i = ex->first;; i = only_reader(g, g->nodes[i].out[0])) {
      removed++;
      if (g->nodes[i].out[0] == ex->to) break;
    }
    added += ex->channels_first || !vitc_match_same_type(g, ex->from, ex->to);
  }
  return removed - added;
}

/* Tries the entry p, made by a chain of movement nodes from an image; rewrites when the region fits. */
static vitc_status try_entry(vitc_rewriter *rw, int p, vitc_error *err) {
  vitc_graph *g = rw->g;
  int x = vitc_match_movement_source(g, p);
  const vitc_value *pv = value(g, p);
  if (x == p || pv->rank < 1 || vitc_numel(value(g, x)) != vitc_numel(pv) || !read_by_rows(g, p)) return VITC_OK;
  region rg = {.g = g, .member = calloc((size_t)g->ntensors + 1, 1), .counted = g->ntensors, .entry = p, .image_tensor = x};
  int64_t *o = NULL;
  vitc_status st = rg.member ? vitc_probe_origins(g, x, p, &o, err)
                             : vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_partitions", g->path);
  if (st != VITC_OK || !o) {
    free(rg.member);
    return st;
  }
  bool fits = false;
  for (int layout = 0; layout < 2 && !fits; layout++) {
    if (!image_of(g, x, pv->dims[pv->rank - 1], layout, &rg.im) || rg.im.rank != pv->rank) continue;
    free(rg.row);
    if (!(rg.row = malloc(sizeof(int64_t) * (size_t)(rg.im.rows + 1)))) break;
    fits = rows_of_image(o, &rg.im, rg.row);
  }
  free(o);
  if (fits) st = grow(&rg, &fits, err);
  if (st == VITC_OK && fits && gain(&rg) > 0) st = rewrite(&rg, rw, err);
  free(rg.member);
  free(rg.row);
  return st;
}

vitc_status vitc_absorb_partitions(vitc_graph *g, vitc_error *err) {
  /* Earlier passes leave readers nothing reads in turn (the head splits absorb_attention_layout
   * replaced by maps), which would read the region from outside. */
  vitc_status st = vitc_eliminate_dead(g, err);
  vitc_rewriter rw;
  if (st == VITC_OK) st = vitc_rewriter_begin(&rw, g, "absorb_partitions", err);
  if (st != VITC_OK) return st;
  /* Nodes a rewrite adds are entries too: an exit of one block can be the next block's partition (the
   * grid attention's, in MaxViT's last stage). */
  for (int i = 0; st == VITC_OK && i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (!n->dead && n->nout == 1 && n->out[0] >= 0 && (vitc_moved_inputs(g, n) & 1u)) st = try_entry(&rw, n->out[0], err);
  }
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
