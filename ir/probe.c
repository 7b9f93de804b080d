/* probe.c — movement ops seen as index maps: which inputs they move, and where each element of a
 * movement chain's result comes from (ir.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

unsigned vitc_moved_inputs(const vitc_graph *g, const vitc_node *n) {
  if (!vitc_op_has(n->op, VITC_OPF_MOVE)) return 0;
  /* Indices known only at run time, or a scatter that reduces, make an indexed op compute. */
  if (vitc_op_has(n->op, VITC_OPF_INDEXED) &&
      (n->in[1] < 0 || !g->tensors[n->in[1]].v.data || strcmp(vitc_attr_str(n, "reduction", "none"), "none")))
    return 0;
  if (vitc_op_has(n->op, VITC_OPF_MOVE_ALL)) return ~0u;
  return 1u | (vitc_op_has(n->op, VITC_OPF_MOVE_IN2) ? 1u << 2 : 0);
}

/* Probe buffers. A walk allocates a value per node of its chain, of up to millions of elements, and the
 * passes walk thousands of chains: freshly mapped each time, their pages were faulted in again and again
 * (a third of Swin-T's pass time). A walk, and each vitc_origins, takes its buffers from a few spares per
 * thread and gives them back there; vitc_probe_release frees them, and the pass driver calls it after
 * each pass, so the spares never outlive the pass that used them (a JIT host gets this without tuning
 * malloc). Each buffer's capacity precedes its data. */
enum { SPARES = 3 };
typedef union buffer_head {
  size_t bytes;
  max_align_t align;
} buffer_head;
static _Thread_local buffer_head *spares[SPARES];

static void *buffer_take(size_t bytes) {
  int best = -1;
  for (int k = 0; k < SPARES; k++)
    if (spares[k] && spares[k]->bytes >= bytes && (best < 0 || spares[k]->bytes < spares[best]->bytes)) best = k;
  buffer_head *h = best >= 0 ? spares[best] : malloc(sizeof *h + bytes);
  if (best >= 0) spares[best] = NULL;
  else if (h) h->bytes = bytes;
  return h ? h + 1 : NULL;
}

/* Keeps the buffer as a spare in place of a smaller one (or an empty slot), else frees it. */
static void buffer_give(void *data) {
  if (!data) return;
  buffer_head *h = (buffer_head *)data - 1;
  int smallest = 0;
  for (int k = 1; k < SPARES && spares[smallest]; k++)
    if (!spares[k] || spares[k]->bytes < spares[smallest]->bytes) smallest = k;
  if (spares[smallest] && spares[smallest]->bytes >= h->bytes) {
    free(h);
    return;
  }
  free(spares[smallest]);
  spares[smallest] = h;
}

void vitc_probe_release(void) {
  for (int k = 0; k < SPARES; k++) free(spares[k]), spares[k] = NULL;
}

/* Probing per image. At batch B the chains of a vision transformer move each image's elements alike, so
 * probing all B images costs B times what one image tells (ViT-B/16's attention chains at batch 8: 3.6M
 * elements a node). The chain is probed instead on IMAGES images: each tensor's batch lies in one axis,
 * whose index is (i·B + b)·c + j for image b, and the probe holds IMAGES of the B images there; the
 * evaluator works on those smaller tensors as on the whole ones. The origins of image 1 must be image 0's
 * plus the base's stride between images; image b's are then image 0's plus b strides. Anything else (an
 * op that mixes images or drops the batch, a view that splits it, the evaluator refusing the smaller
 * tensors, images that do not repeat) probes the whole tensor. */
enum { IMAGES = 2 };
typedef enum { PROBED, NOT_MOVED, WHOLE } probe_verdict;

/* Where a tensor's batch lies: axis `axis` of size outer·B·inner, image b at index (i·B + b)·inner + j. */
typedef struct batch_axis {
  int axis;
  int64_t outer, inner;
} batch_axis;

/* One walk from t up to base: base's elements are numbered 1, 2, 3, ... and followed down the chain by
 * the evaluator, 0 marking an element not from base, as known tensors are probed with zeros, and so is
 * the value an op makes up by default (Pad without a constant_value pads with 0). The numbers are int32
 * when base's count allows (half the memory of int64). A whole walk probes every element; a walk per
 * image (whole false) IMAGES images of `batch`, base holding its batch as base_axis(innermost) says. */
typedef struct walk {
  const vitc_graph *g;
  int base;
  vitc_dtype dtype;
  bool whole, innermost;
  int64_t batch;
} walk;

static walk walk_of(const vitc_graph *g, int base, bool whole, int64_t batch, bool innermost) {
  vitc_dtype dtype = vitc_numel(&g->tensors[base].v) < INT32_MAX ? VITC_I32 : VITC_I64;
  return (walk){g, base, dtype, whole, innermost, batch};
}

/* A probe value of v's shape (w's dtype) filled with `fill`, or with 1, 2, 3, ... when fill < 0. */
static vitc_status numbered(const walk *w, const vitc_value *v, int64_t fill, vitc_value *out, vitc_error *err) {
  *out = *v;
  out->dtype = w->dtype;
  int64_t count = vitc_numel(v);
  if (!(out->data = buffer_take(vitc_dtype_size(w->dtype) * (size_t)count)))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  if (w->dtype == VITC_I32)
    for (int64_t i = 0; i < count; i++) ((int32_t *)out->data)[i] = (int32_t)(fill < 0 ? i + 1 : fill);
  else
    for (int64_t i = 0; i < count; i++) ((int64_t *)out->data)[i] = fill < 0 ? i + 1 : fill;
  return VITC_OK;
}

/* Element i of probe value p, as an int64. */
static inline int64_t number_at(const vitc_value *p, int64_t i) {
  return p->dtype == VITC_I32 ? ((const int32_t *)p->data)[i] : ((const int64_t *)p->data)[i];
}

/* n's shape rule and evaluator (ir.h's contract) with the outputs in probe buffers. */
static vitc_status eval_into(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                             vitc_error *err) {
  const vitc_op_info *info = &vitc_ops[n->op];
  memset(out, 0, sizeof *out * (size_t)n->nout);
  vitc_status st = info->shape(n, in, out, err);
  for (int k = 0; st == VITC_OK && k < n->nout; k++) {
    int64_t count;
    if (!vitc_checked_numel(out[k].dims, out[k].rank, &count) || !vitc_dtype_size(out[k].dtype))
      st = vitc_fail(err, VITC_ERR_INVALID, "output %d has an invalid shape or dtype", k);
    else if (!(out[k].data = buffer_take((size_t)count * vitc_dtype_size(out[k].dtype))))
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  }
  if (st == VITC_OK) st = info->eval(n, in, out, err);
  if (st == VITC_OK) return st;
  for (int k = 0; k < n->nout; k++) buffer_give(out[k].data), out[k].data = NULL;
  vitc_node_error_prefix(g, n, err);
  return st;
}

static int64_t elements_before(const vitc_value *v, int a) {
  int64_t n = 1;
  for (int d = 0; d < a; d++) n *= v->dims[d];
  return n;
}

static int64_t elements_after(const vitc_value *v, int a) {
  int64_t n = 1;
  for (int d = a + 1; d < v->rank; d++) n *= v->dims[d];
  return n;
}

/* The flat layout of a batched tensor: `outer` blocks, each of B images of `block` elements. */
static void flat_layout(const vitc_value *v, batch_axis ba, int64_t *outer, int64_t *block) {
  *outer = elements_before(v, ba.axis) * ba.outer;
  *block = ba.inner * elements_after(v, ba.axis);
}

/* v's dims with its batch axis holding IMAGES of the batch's images. */
static void shrink(vitc_value *v, batch_axis ba) { v->dims[ba.axis] = ba.outer * IMAGES * ba.inner; }

/* The batch axis of `to` holding a flat layout of `outer` blocks of B images of `block` elements (a view
 * keeps the flat layout); axis -1 when no axis of `to` holds the batch whole. */
static batch_axis view_axis(int64_t outer, int64_t block, const vitc_value *to, int64_t batch) {
  for (int d = 0; d < to->rank; d++) {
    int64_t before = elements_before(to, d), after = elements_after(to, d);
    if (before && after && outer % before == 0 && block % after == 0 &&
        to->dims[d] == outer / before * batch * (block / after))
      return (batch_axis){d, outer / before, block / after};
  }
  return (batch_axis){-1, 0, 0};
}

/* The one axis of `full` that `probed` holds IMAGES images' share of, all others equal; -1 if none. */
static int shrunk_axis(const vitc_value *full, const vitc_value *probed, int64_t batch) {
  int found = -1;
  if (full->rank != probed->rank) return -1;
  for (int d = 0; d < full->rank; d++) {
    if (full->dims[d] == probed->dims[d]) continue;
    if (found >= 0 || probed->dims[d] % IMAGES || probed->dims[d] / IMAGES * batch != full->dims[d]) return -1;
    found = d;
  }
  return found;
}

/* A Gather along its data's batch axis `in` (of size n) reads per image when its known 1-D indices pick,
 * for image b of the output (batched as *out: one image outermost or innermost), image 0's rows of image
 * b of the data; *picked (malloc'd) gets the indices of the output's first IMAGES images, renumbered for
 * the data's first IMAGES images. NULL when it does not. */
static vitc_status gather_images(const vitc_value *idx, batch_axis in, int64_t n, int64_t batch, batch_axis *out,
                                 vitc_value *picked, vitc_error *err) {
  picked->data = NULL;
  int64_t len = idx->rank == 1 && idx->dtype == VITC_I64 ? idx->dims[0] : 0;
  if (len % batch || !len) return VITC_OK;
  const int64_t *ix = idx->data;
  for (int innermost = 0; innermost < 2 && !picked->data; innermost++) {
    int64_t inner = innermost ? 1 : len / batch, outer = len / batch / inner;
    bool ok = true;
    for (int64_t i = 0; ok && i < outer; i++)
      for (int64_t j = 0; ok && j < inner; j++) {
        int64_t first = ix[i * batch * inner + j] < 0 ? ix[i * batch * inner + j] + n : ix[i * batch * inner + j];
        ok = first >= 0 && first < n && first / in.inner / batch * batch * in.inner + first % in.inner == first;
        for (int64_t b = 1; ok && b < batch; b++) {
          int64_t at = ix[(i * batch + b) * inner + j];
          ok = (at < 0 ? at + n : at) == first + b * in.inner;
        }
      }
    if (!ok) continue;
    *out = (batch_axis){0, outer, inner};
    *picked = (vitc_value){.dtype = VITC_I64, .rank = 1, .dims = {outer * IMAGES * inner}};
    if (!(picked->data = malloc(sizeof(int64_t) * (size_t)(outer * IMAGES * inner))))
      return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
    for (int64_t i = 0; i < outer; i++)
      for (int64_t b = 0; b < IMAGES; b++)
        for (int64_t j = 0; j < inner; j++) {
          int64_t at = ix[(i * batch + b) * inner + j];
          at = at < 0 ? at + n : at; /* (k·B + b)·c + r in the data → (k·IMAGES + b)·c + r */
          ((int64_t *)picked->data)[(i * IMAGES + b) * inner + j] = at / in.inner / batch * IMAGES * in.inner + at % (batch * in.inner);
        }
  }
  return VITC_OK;
}

/* How base holds its batch: in its first axis the batch divides, one image outermost or innermost there. */
static batch_axis base_axis(const vitc_value *v, int64_t batch, bool innermost) {
  int a = 0;
  while (a < v->rank && (v->dims[a] % batch || !v->dims[a])) a++;
  if (a == v->rank) return (batch_axis){-1, 0, 0};
  int64_t share = v->dims[a] / batch;
  return (batch_axis){a, innermost ? share : 1, innermost ? 1 : share};
}

/* The output of n that is t, when the evaluation gave it the probe's numbers (else NOT_MOVED: Dropout's
 * mask); per image when its batch lies in one axis, image for image as in its input (*ba), else WHOLE:
 * an op that mixes images, or a Concat along the batch. */
static probe_verdict pick_output(const walk *w, const vitc_node *n, int t, vitc_value *outs, vitc_value *out,
                                 batch_axis *ba, batch_axis out_axis) {
  const vitc_value *full = &w->g->tensors[t].v;
  for (int j = 0; j < n->nout; j++) {
    if (n->out[j] != t) continue;
    if (outs[j].dtype != w->dtype) return NOT_MOVED;
    if (!w->whole) {
      out_axis.axis = shrunk_axis(full, &outs[j], w->batch);
      if (out_axis.axis < 0 || full->dims[out_axis.axis] != out_axis.outer * w->batch * out_axis.inner) return WHOLE;
      *ba = out_axis; /* an op that moves the batch axis whole keeps how images lie in it */
    }
    *out = outs[j];
    outs[j].data = NULL;
    return PROBED;
  }
  return w->whole ? NOT_MOVED : WHOLE;
}

/* t's probe along walk w: *out (per image: dims shrunk along ba->axis, -1 for a known tensor left whole)
 * when the verdict is PROBED; NOT_MOVED when t is no movement function of base, which does not depend on
 * the batch, so a walk per image says it as the whole walk does; WHOLE when only a whole walk can tell. A
 * whole walk's evaluation errors fail it; a walk per image takes them for WHOLE (the smaller tensors may
 * not suit the op). */
static vitc_status walk_to(const walk *w, int t, int depth, vitc_value *out, batch_axis *ba, probe_verdict *verdict,
                           vitc_error *err) {
  const vitc_graph *g = w->g;
  const vitc_tensor *tt = &g->tensors[t];
  out->data = NULL;
  *verdict = WHOLE;
  ba->axis = -1;
  if (t == w->base) {
    vitc_value v = tt->v;
    if (!w->whole && (*ba = base_axis(&tt->v, w->batch, w->innermost)).axis < 0) return VITC_OK;
    if (!w->whole) shrink(&v, *ba);
    *verdict = PROBED;
    return numbered(w, &v, -1, out, err);
  }
  if (tt->v.data) {
    *verdict = PROBED;
    return numbered(w, &tt->v, 0, out, err);
  }
  const vitc_node *n = tt->producer >= 0 ? &g->nodes[tt->producer] : NULL;
  unsigned moved = n ? vitc_moved_inputs(g, n) : 0;
  if (!moved || depth > 64) return *verdict = NOT_MOVED, VITC_OK;
  if (!w->whole && !tt->shape_known) return VITC_OK;
  vitc_value *probes = calloc((size_t)n->nin + 1, sizeof *probes), *outs = calloc((size_t)n->nout + 1, sizeof *outs);
  const vitc_value **in = calloc((size_t)n->nin + 1, sizeof *in);
  vitc_value picked = {0};
  vitc_status st = probes && outs && in ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  batch_axis in_axis = {-1, 0, 0};
  probe_verdict v = PROBED;
  for (int k = 0; st == VITC_OK && v == PROBED && k < n->nin; k++) {
    if (n->in[k] < 0) continue;
    if (!(moved >> k & 1)) {
      in[k] = &g->tensors[n->in[k]].v;
      if (!in[k]->data) v = NOT_MOVED;
      continue;
    }
    batch_axis a;
    st = walk_to(w, n->in[k], depth + 1, &probes[k], &a, &v, err);
    in[k] = &probes[k];
    if (k == 0) in_axis = a;
    else if (!w->whole && v == PROBED && a.axis >= 0 && memcmp(&a, &in_axis, sizeof a)) v = WHOLE; /* inputs batched unlike */
  }
  const vitc_value *data = n->nin > 0 && n->in[0] >= 0 ? &g->tensors[n->in[0]].v : NULL;
  batch_axis out_axis = in_axis;
  bool told = st == VITC_OK && v == PROBED && (w->whole || in_axis.axis >= 0);
  if (told && !w->whole && n->op == VITC_OP_Gather) {
    /* Gather's indices name the data's whole axis: along the batch axis they must be renumbered */
    int64_t axis = vitc_attr_int(n, "axis", 0);
    if (axis < 0) axis += data->rank;
    if (axis == in_axis.axis) {
      st = gather_images(in[1], in_axis, data->dims[axis], w->batch, &out_axis, &picked, err);
      out_axis.axis = (int)axis;
      in[1] = &picked;
      told = st == VITC_OK && picked.data;
    }
  }
  if (told && vitc_op_has(n->op, VITC_OPF_VIEW) && tt->shape_known) {
    /* the same elements in the same order: only the dims change (no copy of a tenth of Swin-T's probes) */
    if (!w->whole) {
      int64_t outer, block;
      flat_layout(data, in_axis, &outer, &block);
      *ba = view_axis(outer, block, &tt->v, w->batch);
    }
    if (w->whole || ba->axis >= 0) {
      *out = tt->v;
      if (!w->whole) shrink(out, *ba);
      out->dtype = w->dtype;
      out->data = probes[0].data;
      probes[0].data = NULL;
      *verdict = PROBED;
    }
  } else if (told) {
    vitc_error refused;
    vitc_status ev = eval_into(g, n, in, outs, w->whole ? err : &refused);
    if (ev == VITC_OK) *verdict = pick_output(w, n, t, outs, out, ba, out_axis);
    else if (w->whole) st = ev;
  } else if (st == VITC_OK && v != PROBED) {
    *verdict = v;
  }
  for (int k = 0; probes && k < n->nin; k++) buffer_give(probes[k].data);
  for (int j = 0; outs && j < n->nout; j++) buffer_give(outs[j].data);
  free(probes);
  free(outs);
  free(in);
  free(picked.data);
  return st;
}

/* The whole walk's origins (*origins NULL when t is no movement function of base), in a probe buffer
 * (`pooled`, for a vitc_origins) or malloc'd. */
static vitc_status walk_whole(const vitc_graph *g, int base, int t, bool pooled, int64_t **origins, vitc_error *err) {
  walk w = walk_of(g, base, true, 1, false);
  vitc_value p;
  batch_axis unused;
  probe_verdict verdict;
  *origins = NULL;
  vitc_status st = walk_to(&w, t, 0, &p, &unused, &verdict, err);
  if (st != VITC_OK || verdict != PROBED) return st;
  int64_t count = vitc_numel(&p);
  size_t bytes = sizeof(int64_t) * (size_t)(count + 1);
  if (!(*origins = pooled ? buffer_take(bytes) : malloc(bytes)))
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  for (int64_t i = 0; *origins && i < count; i++) (*origins)[i] = number_at(&p, i) - 1;
  buffer_give(p.data);
  return st;
}

vitc_status vitc_probe_origins_whole(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err) {
  return walk_whole(g, base, t, false, origins, err);
}

vitc_status vitc_origins_alloc(vitc_origins *o, vitc_error *err) {
  if (!(o->first = buffer_take(sizeof(int64_t) * (size_t)(o->outer * o->block + 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  return VITC_OK;
}

/* a / d for 0 <= a < 2^52 and d > 0, given 1.0 / d: the product is off by less than one, then corrected. */
static inline int64_t quotient(int64_t a, int64_t d, double per_d) {
  int64_t q = (int64_t)((double)a * per_d);
  q -= q * d > a;
  return q + ((q + 1) * d <= a);
}

/* t's origins in base at batch `batch`, per image (vitc_origins), from its probe p on IMAGES images
 * (origins plus one; t and base batched along ta and ba), when image 1 repeats image 0 one image of base
 * further; o->first NULL otherwise. */
static vitc_status repeat_images(const vitc_value *full, const vitc_value *p, batch_axis ta, const vitc_value *base_v,
                                 batch_axis ba, int64_t batch, vitc_origins *o, vitc_error *err) {
  int64_t outer, block, base_outer, stride;
  flat_layout(full, ta, &outer, &block);
  flat_layout(base_v, ba, &base_outer, &stride);
  vitc_origins r = {NULL, batch, outer, block, base_outer, stride};
  vitc_status st = vitc_origins_alloc(&r, err);
  int64_t *first = r.first;
  if (st != VITC_OK) return st;
  double per_stride = 1.0 / (double)stride;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < block; j++) {
      int64_t at = number_at(p, i * IMAGES * block + j) - 1, next = number_at(p, (i * IMAGES + 1) * block + j) - 1;
      /* image 0's elements come from image 0 of base: base's probed share holds IMAGES images a block (a
       * quotient by multiplication: a division an element was most of Swin-T's probing at batch 8) */
      int64_t image = at < 0 ? 0 : base_outer == 1 ? at >= stride : quotient(at, stride, per_stride);
      if (at < 0 ? next != -1 : next != at + stride || image % IMAGES) {
        vitc_origins_free(&r);
        return VITC_OK;
      }
      first[i * block + j] = at < 0 ? -1 : at - image / IMAGES * (IMAGES - 1) * stride;
    }
  *o = r;
  return VITC_OK;
}

int64_t vitc_graph_batch(const vitc_graph *g) {
  const vitc_value *x = g->ninputs > 0 ? &g->tensors[g->inputs[0]].v : NULL;
  return x && x->rank > 0 && x->dims[0] > 0 ? x->dims[0] : 1;
}

vitc_status vitc_probe_images(const vitc_graph *g, int base, int t, vitc_origins *o, vitc_error *err) {
  int64_t batch = vitc_graph_batch(g);
  *o = (vitc_origins){0};
  /* base's batch with one image outermost in its axis (batch first), then innermost (ViT's rows [N·B]) */
  for (int innermost = 0; batch > IMAGES && base != t && innermost < 2; innermost++) {
    walk w = walk_of(g, base, false, batch, innermost);
    vitc_value p;
    batch_axis ta;
    probe_verdict verdict;
    vitc_status st = walk_to(&w, t, 0, &p, &ta, &verdict, err);
    if (st != VITC_OK || verdict == NOT_MOVED) return st;
    batch_axis ba = base_axis(&g->tensors[base].v, batch, innermost);
    if (verdict == PROBED && ta.axis >= 0)
      st = repeat_images(&g->tensors[t].v, &p, ta, &g->tensors[base].v, ba, batch, o, err);
    buffer_give(p.data);
    if (st != VITC_OK || o->first) return st;
  }
  int64_t *whole;
  vitc_status st = walk_whole(g, base, t, true, &whole, err);
  if (whole)
    *o = (vitc_origins){whole, 1, 1, vitc_numel(&g->tensors[t].v), 1, vitc_numel(&g->tensors[base].v)};
  return st;
}

int64_t vitc_origin_offset(const vitc_origins *o, int64_t c) {
  if (c < 0 || o->base_outer == 1) return c;
  return (c / o->base_block * o->batch) * o->base_block + c % o->base_block;
}

/* Every element's origin from o into whole[0 .. o's count of every image). */
static void fill_whole(const vitc_origins *o, int64_t *whole) {
  int64_t stride = o->base_block;
  for (int64_t i = 0; i < o->outer; i++)
    for (int64_t j = 0; j < o->block; j++) {
      int64_t at = vitc_origin_offset(o, o->first[i * o->block + j]);
      for (int64_t b = 0; b < o->batch; b++) whole[(i * o->batch + b) * o->block + j] = at < 0 ? -1 : at + b * stride;
    }
}

vitc_status vitc_origins_whole(const vitc_origins *o, int64_t **whole, vitc_error *err) {
  if (!(*whole = malloc(sizeof(int64_t) * (size_t)(o->outer * o->batch * o->block + 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  fill_whole(o, *whole);
  return VITC_OK;
}

void vitc_origins_free(vitc_origins *o) {
  buffer_give(o->first);
  o->first = NULL;
}

vitc_status vitc_probe_origins(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err) {
  vitc_origins o;
  *origins = NULL;
  if (vitc_graph_batch(g) <= IMAGES) return walk_whole(g, base, t, false, origins, err); /* no images to tell apart */
  vitc_status st = vitc_probe_images(g, base, t, &o, err);
  if (st != VITC_OK || !o.first) return st;
  st = vitc_origins_whole(&o, origins, err);
  vitc_origins_free(&o);
  return st;
}

/* x with every element told (batch 1). */
static vitc_status whole_form(const vitc_origins *x, vitc_origins *w, vitc_error *err) {
  *w = (vitc_origins){NULL, 1, 1, x->outer * x->batch * x->block, 1, x->base_outer * x->batch * x->base_block};
  vitc_status st = vitc_origins_alloc(w, err);
  if (st == VITC_OK) fill_whole(x, w->first);
  return st;
}

/* t's origins in base from mid's in base (above) and t's in mid (below): per image when both tell mid's
 * images alike, else whole. */
static vitc_status compose(const vitc_origins *above, const vitc_origins *below, vitc_origins *o, vitc_error *err) {
  vitc_origins whole[2] = {{0}};
  vitc_status st = VITC_OK;
  if (above->batch != below->batch || above->outer != below->base_outer || above->block != below->base_block) {
    if (above->batch > 1 && (st = whole_form(above, &whole[0], err)) == VITC_OK) above = &whole[0];
    if (st == VITC_OK && below->batch > 1 && (st = whole_form(below, &whole[1], err)) == VITC_OK) below = &whole[1];
  }
  vitc_origins c = {NULL, below->batch, below->outer, below->block, above->base_outer, above->base_block};
  if (st == VITC_OK) st = vitc_origins_alloc(&c, err);
  int64_t count = below->outer * below->block, *first = c.first;
  for (int64_t i = 0; first && i < count; i++) first[i] = below->first[i] < 0 ? -1 : above->first[below->first[i]];
  if (first) *o = c;
  vitc_origins_free(&whole[0]);
  vitc_origins_free(&whole[1]);
  return st;
}

vitc_status vitc_probe_images_via(const vitc_graph *g, int base, int mid, int t, const vitc_origins *above,
                                  const vitc_origins *below, vitc_origins *o, vitc_error *err) {
  *o = (vitc_origins){0};
  vitc_origins part = {0};
  vitc_status st = VITC_OK;
  if (!above && !below) return vitc_probe_images(g, base, t, o, err);
  if (!above || !below) { /* the unknown part is probed */
    st = above ? vitc_probe_images(g, mid, t, &part, err) : vitc_probe_images(g, base, mid, &part, err);
    if (st != VITC_OK || !part.first) return st == VITC_OK ? vitc_probe_images(g, base, t, o, err) : st;
    if (above) below = &part; /* t's origins in mid, then mid's in base */
    else above = &part;
  }
  st = compose(above, below, o, err);
  vitc_origins_free(&part);
  return st;
}
