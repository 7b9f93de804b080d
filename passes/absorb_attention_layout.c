/* absorb_attention_layout — vitc.Attention reads Q, K and V where the head split left them and writes Y
 * where the head merge puts it, through its row maps (ir/ops/fused_attention.c), and the movement
 * nodes in between go:
 *
 *     %qkv = FusedGemm(..)                                   [1, N, 3·H·D]
 *     %q, %kᵀ, %v = Slice | Gather | Reshape | Transpose ..(%qkv)   [G, H, N, D], [G, H, D, N], ..
 *     %y = Attention(%q, %kᵀ, %v, bias, S) {k_transposed}    [G, H, N, Dv]
 *     %f = Transpose | Reshape ..(%y)                        [1, N, H·Dv]
 *                          ─→  %f = Attention(%qkv, %qkv, %qkv, bias, S, Qmap, Kmap, Vmap, Ymap)
 *
 * An operand is read from the furthest tensor above it, through nodes that move their first input,
 * whose elements it copies (vitc_probe_origins) at offsets that factor as map[g, n] + h·hs + c: the
 * logical [G, H, N, C]'s rows contiguous, one stride between heads. Y follows its chain of movement
 * nodes, each the only reader of the tensor before, to the last tensor its elements fill exactly once,
 * and the Attention writes that tensor through the inverted chain (or Y itself through an identity map
 * when no chain fits); rows of Y the tensor does not hold, whole, are dropped (map entry -1). The logical batch is [G, H] with H Q's last batch dim; when that leaves a chain
 * out and no bias or S needs the head dim, [G·H, 1] (a map row per head) is tried too. Tensors in
 * between that others read stay for them; eliminate_dead sweeps the rest. Only unmapped float32
 * Attention is considered, and it is rewritten only when some chain is absorbed. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, NIN_MAPPED = IN_QMAP + 4 };
enum { X_Q, X_K, X_V, X_Y };
enum { MAX_CHAIN = 16, MAX_ATTRS = 16, MAX_PLANS = 3 };

/* The logical attention: batch [G, H], and per operand x rows × cols with the element strides of n and
 * c in its dense tensor (K may be given transposed). */
typedef struct attn_layout {
  int64_t groups, heads;
  int64_t rows[4], cols[4], row_stride[4], col_stride[4];
} attn_layout;

/* How operand x is read: from `base` through map [G, rows] and a head stride, or dense (base -1). */
typedef struct operand_map {
  int base;
  int64_t *map;
  int64_t head_stride;
} operand_map;

typedef struct attn_plan {
  attn_layout l;
  operand_map m[4];
  vitc_node *chain[MAX_CHAIN]; /* Y's movement chain, absorbed into the Attention */
  int nchain;
  int absorbed;  /* movement nodes taken in, over the four chains */
  bool complete; /* every chain taken in as far as it goes */
} attn_plan;

static bool is_f32(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32;
}

/* Whether element (g, h, n, c) of the logical [G, H, N, C], at o[(g·H + h)·N·C + n·sn + c·sc], lies at
 * map[g, n] + h·hs + c with map and hs >= 0; fills map and *hs. For Y a row whose elements are all -1
 * (no element of the chain's end holds it: a crop) gets the map entry -1, which drops it. */
static bool factor(const int64_t *o, const attn_layout *l, int x, int64_t *map, int64_t *hs) {
  int64_t heads = l->heads, rows = l->rows[x], cols = l->cols[x], sn = l->row_stride[x], sc = l->col_stride[x];
  int64_t plane = rows * cols;
  *hs = -1;
  for (int64_t g = 0; g < l->groups; g++)
    for (int64_t n = 0; n < rows; n++) {
      int64_t at = g * heads * plane + n * sn;
      if ((map[g * rows + n] = o[at]) < 0 && (x != X_Y || o[at] != -1)) return false;
      if (*hs < 0 && o[at] >= 0) *hs = heads > 1 ? o[at + plane] - o[at] : 0;
    }
  if (*hs < 0) return false;
  for (int64_t g = 0; g < l->groups; g++)
    for (int64_t h = 0; h < heads; h++)
      for (int64_t n = 0; n < rows; n++) {
        int64_t m = map[g * rows + n];
        for (int64_t c = 0; c < cols; c++)
          if (o[(g * heads + h) * plane + n * sn + c * sc] != (m < 0 ? -1 : m + h * *hs + c)) return false;
      }
  return true;
}

/* factor() on origins told per image (vitc_origins), on image 0's alone when t holds its images one after
 * another: G / B whole groups each (image b's map rows are then image 0's, b images of the base further),
 * or, with one group, H / B heads each (the images then factor together when one image of the base is
 * H / B head strides: ViT's Q [B·H, N, D] read as 96 heads at batch 8); else on every element. Image 0
 * factors as told, in entries of `first`: those of a row whose heads all lie in one block of base are
 * offsets apart as in base, so only the map's entries are turned into offsets (vitc_origin_offset). */
static vitc_status factor_images(const vitc_origins *o, const attn_layout *l, int x, int64_t *map, int64_t *hs,
                                 bool *factored, vitc_error *err) {
  int64_t rows = l->rows[x], plane = rows * l->cols[x], batch = o->batch;
  attn_layout image = *l;
  if (batch > 1 && l->groups % batch == 0) image.groups = l->groups / batch;
  else if (batch > 1 && l->groups == 1 && l->heads % batch == 0) image.heads = l->heads / batch;
  if (batch == 1 || o->outer > 1 || o->block * batch != l->groups * l->heads * plane ||
      o->block != image.groups * image.heads * plane) {
    int64_t *whole = NULL;
    vitc_status st = batch == 1 ? VITC_OK : vitc_origins_whole(o, &whole, err);
    if (st == VITC_OK) *factored = factor(whole ? whole : o->first, l, x, map, hs);
    free(whole);
    return st;
  }
  *factored = factor(o->first, &image, x, map, hs);
  int64_t span = (image.heads - 1) * *hs + l->cols[x], image_rows = image.groups * rows;
  for (int64_t r = 0; *factored && r < image_rows; r++) {
    *factored = map[r] < 0 || o->base_outer == 1 || map[r] % o->base_block + span <= o->base_block;
    map[r] = vitc_origin_offset(o, map[r]);
  }
  if (image.heads < l->heads) { /* image b's head j is head b·H/B + j */
    if (image.heads == 1) *hs = o->base_block;
    *factored &= *hs * image.heads == o->base_block;
  }
  for (int64_t b = 1; *factored && b < batch && image.groups < l->groups; b++)
    for (int64_t r = 0; r < image_rows; r++) map[b * image_rows + r] = map[r] < 0 ? -1 : map[r] + b * o->base_block;
  return VITC_OK;
}

/* The tensors above t through nodes that move their first input, nearest first; returns their count. */
static int ancestors(const vitc_graph *g, int t, int *up) {
  int k = 0;
  while (k < MAX_CHAIN) {
    int p = g->tensors[t].producer;
    if (p < 0 || g->nodes[p].dead || !(vitc_moved_inputs(g, &g->nodes[p]) & 1u)) break;
    t = g->nodes[p].in[0];
    if (!is_f32(g, t)) break;
    up[k++] = t;
  }
  return k;
}

/* The one-node probes along the Q, K and V chains of the Attention being planned (at most MAX_CHAIN - 1
 * per operand): the three usually share the chain above their split (ViT's QKV rows, the largest
 * tensors), which is then probed once. */
typedef struct step_memo {
  int n, base[3 * MAX_CHAIN], t[3 * MAX_CHAIN];
  vitc_origins origins[3 * MAX_CHAIN];
} step_memo;

/* *o = t's origins in base (borrowed from the memo; NULL when t is no movement function of base). */
static vitc_status memo_step(const vitc_graph *g, step_memo *memo, int base, int t, const vitc_origins **o,
                             vitc_error *err) {
  int i = 0;
  while (i < memo->n && (memo->base[i] != base || memo->t[i] != t)) i++;
  vitc_status st = VITC_OK;
  if (i == memo->n) {
    st = vitc_probe_images(g, base, t, &memo->origins[i], err);
    memo->base[i] = base, memo->t[i] = t, memo->n++;
  }
  *o = memo->origins[i].first ? &memo->origins[i] : NULL;
  return st;
}

/* Factors t's origins o in the tensor `level` steps up under each plan not yet `done`; a plan that
 * factors gets the map in p[j].m[x] and found[j] = level. */
static vitc_status factor_level(const vitc_origins *o, attn_plan *p, int np, int x, int level, const bool *done,
                                int64_t **trial, int *found, vitc_error *err) {
  vitc_status st = VITC_OK;
  for (int j = 0; st == VITC_OK && o->first && j < np; j++) {
    bool factored;
    int64_t hs;
    if (done[j] || (st = factor_images(o, &p[j].l, x, trial[j], &hs, &factored, err)) != VITC_OK || !factored) continue;
    operand_map *m = &p[j].m[x];
    int64_t *swap = m->map;
    m->map = trial[j], trial[j] = swap, m->head_stride = hs, found[j] = level;
  }
  return st;
}

/* trial[j]: room for operand x's row map under each of the np plans p[] (the rest NULL on failure). */
static vitc_status new_trials(const vitc_graph *g, const attn_plan *p, int np, int x, int64_t **trial, vitc_error *err) {
  for (int j = 0; j < np; j++)
    if (!(trial[j] = malloc(sizeof(int64_t) * (size_t)(p[j].l.groups * p[j].l.rows[x] + 1))))
      return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_attention_layout", g->path);
  return VITC_OK;
}

/* Operand x's map from the furthest ancestor of its tensor t that factors (m->base stays -1 if none),
 * under each of the np plans p[] (layouts that differ in their heads); adds the nodes passed to
 * p->absorbed. The furthest ancestor is probed first: a plan it factors under (a chain absorbed whole,
 * the usual case) needs no nearer one, and one walk down the chain costs less than composing its steps.
 * For the other plans the ancestors' origins are composed one node at a time, nearest first, and each is
 * factored under every such plan, so the chain is probed once; origins stay per image (vitc_origins), so a
 * batch costs what one image does (at batch 8 ViT-B/16's chains are 6 nodes of up to 3.6M elements). */
static vitc_status map_operand(const vitc_graph *g, int t, int x, attn_plan *p, int np, step_memo *memo,
                               vitc_error *err) {
  int up[MAX_CHAIN], n = ancestors(g, t, up), found[MAX_PLANS] = {-1, -1, -1};
  int64_t *trial[MAX_PLANS] = {NULL, NULL, NULL};
  bool done[MAX_PLANS] = {false, false, false}, open = false;
  vitc_origins o = {0};
  vitc_status st = new_trials(g, p, np, x, trial, err);
  if (n > 0 && st == VITC_OK && (st = vitc_probe_images(g, up[n - 1], t, &o, err)) == VITC_OK)
    st = factor_level(&o, p, np, x, n - 1, done, trial, found, err);
  vitc_origins_free(&o);
  for (int j = 0; j < np; j++) open |= !(done[j] = found[j] >= 0);
  for (int k = 0; open && k < n - 1 && st == VITC_OK; k++) {
    vitc_origins below = o;
    const vitc_origins *step = NULL;
    if (k) st = memo_step(g, memo, up[k], up[k - 1], &step, err);
    if (st == VITC_OK) st = vitc_probe_images_via(g, up[k], k ? up[k - 1] : t, t, step, below.first ? &below : NULL, &o, err);
    vitc_origins_free(&below);
    if (st == VITC_OK) st = factor_level(&o, p, np, x, k, done, trial, found, err);
  }
  vitc_origins_free(&o);
  for (int j = 0; j < np; j++) {
    free(trial[j]);
    if (st != VITC_OK || found[j] < 0) {
      p[j].complete &= n == 0;
      continue;
    }
    p[j].m[x].base = up[found[j]];
    p[j].absorbed += found[j] + 1;
    p[j].complete &= found[j] == n - 1;
  }
  return st;
}

/* Y's chain: each tensor read once, by a node that moves it as its first input into one output. */
static int output_chain(const vitc_rewriter *rw, const int *reader, int y, vitc_node **chain) {
  const vitc_graph *g = rw->g;
  int k = 0;
  for (int t = y; k < MAX_CHAIN && t < rw->counted && rw->uses[t] == 1 && reader[t] >= 0; k++) {
    vitc_node *n = &rw->g->nodes[reader[t]];
    if (n->dead || n->in[0] != t || n->nout != 1 || !(vitc_moved_inputs(g, n) & 1u) || !is_f32(g, n->out[0])) break;
    chain[k] = n;
    t = n->out[0];
  }
  return k;
}

/* *inv = y's origins in f (the element of f holding each element of y, -1: none; per image as o is), when
 * o (f's origins in y) sends distinct elements of f to distinct elements of y; inv->first NULL otherwise. */
static vitc_status invert(const vitc_origins *o, vitc_origins *inv, vitc_error *err) {
  int64_t fcount = o->outer * o->block, count = o->base_outer * o->base_block;
  *inv = (vitc_origins){NULL, o->batch, o->base_outer, o->base_block, o->outer, o->block};
  vitc_status st = fcount > count ? VITC_OK : vitc_origins_alloc(inv, err);
  if (!inv->first) return st;
  for (int64_t i = 0; i < count; i++) inv->first[i] = -1;
  for (int64_t i = 0; i < fcount; i++) {
    int64_t at = o->first[i];
    if (at < 0 || at >= count || inv->first[at] >= 0) return vitc_origins_free(inv), VITC_OK;
    inv->first[at] = i;
  }
  return VITC_OK;
}

/* Inverts f's origins o in y and factors them under each plan not yet `done` (as factor_level), which
 * then writes Y through the chain's first `level` nodes. */
static vitc_status factor_inverse(const vitc_origins *o, attn_plan *p, int np, int level, const bool *done,
                                  int64_t **trial, vitc_error *err) {
  vitc_origins inv = {0};
  vitc_status st = o->first ? invert(o, &inv, err) : VITC_OK;
  int found[MAX_PLANS] = {-1, -1, -1};
  if (st == VITC_OK) st = factor_level(&inv, p, np, X_Y, level, done, trial, found, err);
  for (int j = 0; st == VITC_OK && inv.first && j < np; j++)
    if (!done[j] && found[j] == level) p[j].nchain = level;
  vitc_origins_free(&inv);
  return st;
}

/* Y's map onto the last tensor of its chain that it fills exactly once (p[j].nchain nodes), else onto
 * itself (nchain 0), under each of the np plans; the chain's end is tried first and, for the plans it
 * does not suit, the chain's origins in Y are composed one node at a time, as in map_operand. Rows of Y
 * the tensor does not hold (the crop after Swin's padded windows) are dropped. */
static vitc_status map_output(const vitc_rewriter *rw, const int *reader, int y, attn_plan *p, int np, vitc_error *err) {
  const vitc_graph *g = rw->g;
  int64_t *trial[MAX_PLANS] = {NULL, NULL, NULL};
  bool done[MAX_PLANS] = {false, false, false}, open = false;
  vitc_origins o = {0};
  vitc_status st = new_trials(g, p, np, X_Y, trial, err);
  vitc_node *chain[MAX_CHAIN];
  int n = output_chain(rw, reader, y, chain);
  for (int j = 0; j < np; j++) p[j].nchain = 0, memcpy(p[j].chain, chain, sizeof chain);
  if (n > 0 && st == VITC_OK && (st = vitc_probe_images(g, y, chain[n - 1]->out[0], &o, err)) == VITC_OK)
    st = factor_inverse(&o, p, np, n, done, trial, err);
  vitc_origins_free(&o);
  for (int j = 0; j < np; j++) open |= !(done[j] = p[j].nchain > 0);
  for (int k = 0; open && k < n - 1 && st == VITC_OK; k++) {
    vitc_origins above = o;
    int mid = k ? chain[k - 1]->out[0] : y, f = chain[k]->out[0];
    st = vitc_probe_images_via(g, y, mid, f, above.first ? &above : NULL, NULL, &o, err);
    vitc_origins_free(&above);
    if (st == VITC_OK) st = factor_inverse(&o, p, np, k + 1, done, trial, err);
  }
  vitc_origins_free(&o);
  for (int j = 0; j < np; j++) {
    attn_layout *l = &p[j].l;
    operand_map *m = &p[j].m[X_Y];
    free(trial[j]);
    p[j].absorbed += p[j].nchain;
    p[j].complete &= p[j].nchain == n;
    if (p[j].nchain > 0 || st != VITC_OK) continue;
    for (int64_t gr = 0; gr < l->groups; gr++) /* Y as it is: [G, H, Nq, Dv] */
      for (int64_t r = 0; r < l->rows[X_Y]; r++)
        m->map[gr * l->rows[X_Y] + r] = (gr * l->heads * l->rows[X_Y] + r) * l->cols[X_Y];
    m->head_stride = l->rows[X_Y] * l->cols[X_Y];
  }
  return st;
}

/* The logical layout of Attention n with `heads` heads per group. */
static attn_layout layout_of(const vitc_graph *g, const vitc_node *n, int64_t heads) {
  attn_layout l = {.heads = heads};
  const vitc_value *q = &g->tensors[n->in[IN_Q]].v, *k = &g->tensors[n->in[IN_K]].v, *v = &g->tensors[n->in[IN_V]].v;
  bool kt = vitc_attr_int(n, "k_transposed", 0) != 0;
  int64_t batch = 1, nk = k->dims[k->rank - (kt ? 1 : 2)];
  for (int d = 0; d < q->rank - 2; d++) batch *= q->dims[d];
  l.groups = batch / heads;
  const int64_t rows[4] = {q->dims[q->rank - 2], nk, nk, q->dims[q->rank - 2]};
  const int64_t cols[4] = {q->dims[q->rank - 1], q->dims[q->rank - 1], v->dims[v->rank - 1], v->dims[v->rank - 1]};
  for (int x = X_Q; x <= X_Y; x++) {
    l.rows[x] = rows[x];
    l.cols[x] = cols[x];
    l.row_stride[x] = x == X_K && kt ? 1 : cols[x];
    l.col_stride[x] = x == X_K && kt ? rows[x] : 1;
  }
  return l;
}

static void plan_free(attn_plan *p) {
  for (int x = X_Q; x <= X_Y; x++) free(p->m[x].map);
}

/* The plans for Attention n with heads[j] heads per group (j < np): which chains factor under each. A
 * transposed K that stays dense leaves nothing absorbed (mapped attention reads K by rows). */
static vitc_status plan(const vitc_rewriter *rw, const int *reader, const vitc_node *n, const int64_t *heads, int np,
                        attn_plan *p, vitc_error *err) {
  const vitc_graph *g = rw->g;
  vitc_status st = VITC_OK;
  for (int j = 0; j < np; j++) p[j] = (attn_plan){.l = layout_of(g, n, heads[j]), .complete = true};
  for (int j = 0; j < np; j++) {
    for (int x = X_Q; x <= X_Y && st == VITC_OK; x++) {
      p[j].m[x].base = -1;
      if (!(p[j].m[x].map = malloc(sizeof(int64_t) * (size_t)(p[j].l.groups * p[j].l.rows[x] + 1))))
        st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_attention_layout", g->path);
    }
  }
  step_memo memo = {0};
  for (int x = X_Q; x <= X_V && st == VITC_OK; x++) st = map_operand(g, n->in[x], x, p, np, &memo, err);
  for (int i = 0; i < memo.n; i++) vitc_origins_free(&memo.origins[i]);
  if (st == VITC_OK) st = map_output(rw, reader, n->out[0], p, np, err);
  for (int j = 0; j < np; j++)
    if (vitc_attr_int(n, "k_transposed", 0) && p[j].m[X_K].base < 0) p[j].absorbed = 0;
  return st;
}

/* Q's last batch dim (1 when it has none). */
static int64_t q_heads(const vitc_graph *g, const vitc_node *n) {
  const vitc_value *q = &g->tensors[n->in[IN_Q]].v;
  return q->rank > 2 ? q->dims[q->rank - 3] : 1;
}

/* Whether the bias and S broadcast alike against the scores over batch [G, heads] as over Q's batch: they
 * vary at most along the heads (with Q's last batch dim as the heads) and the score dims, their other
 * dims being 1 (MaxViT's bias [1, H, N, N] against scores [B, G, H, N, N]), or Q's batch is [G, H]. */
static bool broadcasts_alike(const vitc_graph *g, const vitc_node *n, int64_t heads) {
  int batch_rank = g->tensors[n->in[IN_Q]].v.rank - 2, varying = heads == q_heads(g, n) ? 3 : 2;
  for (int i = IN_BIAS; i <= IN_SCALE && i < n->nin; i++) {
    if (n->in[i] < 0) continue;
    const vitc_value *v = &g->tensors[n->in[i]].v;
    bool same = varying == 3 && batch_rank <= 2;
    bool ones = v->rank <= 4;
    for (int d = 0; d < v->rank - varying; d++) ones &= v->dims[d] == 1;
    if (!same && !ones) return false;
  }
  return true;
}

static bool considered(const vitc_graph *g, const vitc_node *n) {
  if (n->op != VITC_OP_Attention || n->dead || n->nin > IN_QMAP) return false;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] >= 0 && !is_f32(g, n->in[i])) return false;
  return is_f32(g, n->out[0]) && g->tensors[n->in[IN_Q]].v.rank >= 2 && vitc_numel(&g->tensors[n->out[0]].v) > 0;
}

/* The Attention's attributes without k_transposed, plus the map attributes. */
static int mapped_attrs(const vitc_graph *g, const vitc_node *n, const attn_plan *p, int f, int64_t *strides,
                        vitc_attr *attrs) {
  int k = 0;
  for (int i = 0; i < n->nattr && k < MAX_ATTRS - 5; i++)
    if (strcmp(n->attrs[i].name, "k_transposed")) attrs[k++] = n->attrs[i];
  for (int x = X_Q; x <= X_Y; x++) strides[x] = p->m[x].head_stride;
  const vitc_value *fv = &g->tensors[f].v;
  attrs[k++] = (vitc_attr){.name = "heads", .type = VITC_ATTR_INT, .i = p->l.heads};
  attrs[k++] = (vitc_attr){.name = "head_dim", .type = VITC_ATTR_INT, .i = p->l.cols[X_Q]};
  attrs[k++] = (vitc_attr){.name = "value_dim", .type = VITC_ATTR_INT, .i = p->l.cols[X_V]};
  attrs[k++] = (vitc_attr){.name = "head_strides", .type = VITC_ATTR_INTS, .n = 4, .ints = strides};
  attrs[k++] = (vitc_attr){.name = "y_shape", .type = VITC_ATTR_INTS, .n = fv->rank, .ints = (int64_t *)fv->dims};
  return k;
}

static vitc_status rewrite(vitc_rewriter *rw, int i, const attn_plan *p, vitc_error *err) {
  static const char *const suffix[] = {"Qmap", "Kmap", "Vmap", "Ymap"};
  vitc_graph *g = rw->g;
  int y = g->nodes[i].out[0], f = p->nchain ? p->chain[p->nchain - 1]->out[0] : y, in[NIN_MAPPED];
  for (int k = 0; k < NIN_MAPPED; k++) in[k] = k < g->nodes[i].nin ? g->nodes[i].in[k] : -1;
  for (int x = X_Q; x <= X_Y; x++) {
    if (x != X_Y && p->m[x].base < 0) continue;
    if (x != X_Y) in[x] = p->m[x].base;
    vitc_value map = {.dtype = VITC_I64, .rank = 2, .dims = {p->l.groups, p->l.rows[x]}, .data = p->m[x].map};
    in[IN_QMAP + x] = vitc_rewrite_constant(rw, g->tensors[y].name, suffix[x], &map, err);
    if (in[IN_QMAP + x] < 0) return VITC_ERR_NOMEM;
  }
  vitc_node *matched[MAX_CHAIN + 1] = {&g->nodes[i]};
  memcpy(matched + 1, p->chain, sizeof(vitc_node *) * (size_t)p->nchain);
  vitc_attr attrs[MAX_ATTRS];
  int64_t strides[4];
  int nattr = mapped_attrs(g, &g->nodes[i], p, f, strides, attrs);
  const char *name = g->nodes[i].name;
  vitc_status st = vitc_rewrite(rw, matched, p->nchain + 1, VITC_OP_Attention, in, NIN_MAPPED, f, attrs, nattr, err);
  if (st == VITC_OK) g->nodes[g->nnodes - 1].name = name;
  return st;
}

/* Plans Attention i with Q's last batch dim as the heads; when Q's one batch dim holds the graph's batch
 * B times the heads (torchvision's [B·H, N, D]), with a B-th of it, which is the plan batch 1 takes (its
 * maps [B, N], not [B·H, N]); and with one head per group. A later plan replaces an earlier one that stops
 * a chain short when it absorbs more nodes. */
static vitc_status absorb(vitc_rewriter *rw, const int *reader, int i, vitc_error *err) {
  const vitc_graph *g = rw->g;
  /* The plans are made in one walk of the chains, which costs the probes; factoring thrice is cheap. */
  int64_t qh = q_heads(g, &g->nodes[i]), batch = vitc_graph_batch(g), heads[MAX_PLANS] = {qh};
  int np = 1;
  if (g->tensors[g->nodes[i].in[IN_Q]].v.rank == 3 && batch > 1 && qh > batch && qh % batch == 0 &&
      broadcasts_alike(g, &g->nodes[i], qh / batch))
    heads[np++] = qh / batch;
  if (qh > 1 && broadcasts_alike(g, &g->nodes[i], 1)) heads[np++] = 1;
  attn_plan p[MAX_PLANS];
  vitc_status st = plan(rw, reader, &g->nodes[i], heads, np, p, err);
  int best = 0;
  for (int j = 1; j < np; j++)
    if (!p[best].complete && p[j].absorbed > p[best].absorbed) best = j;
  if (st == VITC_OK && p[best].absorbed > 0) st = rewrite(rw, i, &p[best], err);
  for (int j = 0; j < np; j++) plan_free(&p[j]);
  return st;
}

/* ctx: the reader of each tensor (vitc_last_readers). */
static vitc_status visit(vitc_rewriter *rw, int i, void *reader, vitc_error *err) {
  const vitc_node *n = &rw->g->nodes[i];
  return considered(rw->g, n) && broadcasts_alike(rw->g, n, q_heads(rw->g, n)) ? absorb(rw, reader, i, err) : VITC_OK;
}

vitc_status vitc_absorb_attention_layout(vitc_graph *g, vitc_error *err) {
  /* Y's chain must be read once: earlier passes leave dead readers (the head merge's own Reshape, which
   * fuse_gemm_epilogue replaced by a view of the rows) that would count. */
  vitc_status st = vitc_eliminate_dead(g, err);
  if (st != VITC_OK) return st;
  int *reader = vitc_last_readers(g);
  if (!reader) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in absorb_attention_layout", g->path);
  st = vitc_rewrite_each_node(g, "absorb_attention_layout", false, visit, reader, err);
  free(reader);
  return st;
}
