/* probe.c — movement ops seen as index maps: which inputs they move, and where each element of a
 * movement chain's result comes from (ir.h). */
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

/* An int64 tensor of v's shape filled with `fill`, or with 1, 2, 3, ... when fill < 0. */
static vitc_status int64_like(const vitc_value *v, int64_t fill, vitc_value *out, vitc_error *err) {
  *out = *v;
  out->dtype = VITC_I64;
  int64_t count = vitc_numel(v);
  if (!(out->data = malloc(sizeof(int64_t) * (size_t)(count ? count : 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  for (int64_t i = 0; i < count; i++) ((int64_t *)out->data)[i] = fill < 0 ? i + 1 : fill;
  return VITC_OK;
}

/* The origins of t plus one as an int64 value (out->data NULL when t is not a movement function of
 * base): 0 marks an element not from base, as known tensors are probed with zeros, and so is the value
 * an op makes up by default (Pad without a constant_value pads with 0). */
static vitc_status probe(const vitc_graph *g, int base, int t, int depth, vitc_value *out, vitc_error *err) {
  const vitc_tensor *tt = &g->tensors[t];
  out->data = NULL;
  if (t == base) return int64_like(&tt->v, -1, out, err);
  if (tt->v.data) return int64_like(&tt->v, 0, out, err);
  const vitc_node *n = tt->producer >= 0 ? &g->nodes[tt->producer] : NULL;
  unsigned moved = n ? vitc_moved_inputs(g, n) : 0;
  if (!moved || depth > 64) return VITC_OK;
  vitc_value *probes = calloc((size_t)n->nin + 1, sizeof *probes), *outs = calloc((size_t)n->nout + 1, sizeof *outs);
  const vitc_value **in = calloc((size_t)n->nin + 1, sizeof *in);
  vitc_status st = probes && outs && in ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  bool chained = st == VITC_OK;
  for (int k = 0; st == VITC_OK && chained && k < n->nin; k++) {
    if (n->in[k] < 0) continue;
    if (!(moved >> k & 1)) {
      in[k] = &g->tensors[n->in[k]].v;
      chained = in[k]->data != NULL;
      continue;
    }
    st = probe(g, base, n->in[k], depth + 1, &probes[k], err);
    chained = probes[k].data != NULL;
    in[k] = &probes[k];
  }
  if (st == VITC_OK && chained && vitc_op_has(n->op, VITC_OPF_VIEW) && tt->shape_known) {
    /* the same elements in the same order: only the dims change (no copy of a tenth of Swin-T's probes) */
    *out = tt->v;
    out->dtype = VITC_I64;
    out->data = probes[0].data;
    probes[0].data = NULL;
    chained = false;
  }
  if (st == VITC_OK && chained) st = vitc_eval_node(g, n, in, outs, err);
  for (int j = 0; st == VITC_OK && chained && j < n->nout; j++)
    if (n->out[j] == t && outs[j].dtype == VITC_I64) {
      *out = outs[j];
      outs[j].data = NULL;
    }
  for (int k = 0; probes && k < n->nin; k++) free(probes[k].data);
  for (int j = 0; outs && j < n->nout; j++) free(outs[j].data);
  free(probes);
  free(outs);
  free(in);
  return st;
}

vitc_status vitc_probe_origins_whole(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err) {
  vitc_value v;
  *origins = NULL;
  vitc_status st = probe(g, base, t, 0, &v, err);
  if (st != VITC_OK || !v.data) return st;
  *origins = v.data;
  /* the count first: a store through *origins might change v.dims as far as the compiler knows, which would
   * recount them for every element (a tenth of Swin-T's passes) */
  int64_t count = vitc_numel(&v);
  for (int64_t i = 0; i < count; i++) (*origins)[i]--;
  return st;
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

/* probe() on IMAGES images: *out (dims shrunk along ba->axis, -1 for a known tensor left whole) when the
 * verdict is PROBED. NOT_MOVED is what probe() says too (t is no movement function of base: that does not
 * depend on the batch). `innermost` says how base holds its batch (base_axis). */
static vitc_status probe_images(const vitc_graph *g, int base, int t, int64_t batch, bool innermost, int depth,
                                vitc_value *out, batch_axis *ba, probe_verdict *verdict, vitc_error *err) {
  const vitc_tensor *tt = &g->tensors[t];
  out->data = NULL;
  *verdict = WHOLE;
  ba->axis = -1;
  if (t == base) {
    if ((*ba = base_axis(&tt->v, batch, innermost)).axis < 0) return VITC_OK;
    vitc_value v = tt->v;
    shrink(&v, *ba);
    *verdict = PROBED;
    return int64_like(&v, -1, out, err);
  }
  if (tt->v.data) {
    *verdict = PROBED;
    return int64_like(&tt->v, 0, out, err);
  }
  const vitc_node *n = tt->producer >= 0 ? &g->nodes[tt->producer] : NULL;
  unsigned moved = n ? vitc_moved_inputs(g, n) : 0;
  if (!moved || depth > 64) return *verdict = NOT_MOVED, VITC_OK;
  if (!tt->shape_known || n->nin > 8 || n->nout > 8) return VITC_OK;
  vitc_value probes[8] = {{0}}, outs[8] = {{0}}, picked = {0};
  const vitc_value *in[8] = {NULL};
  vitc_status st = VITC_OK;
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
    st = probe_images(g, base, n->in[k], batch, innermost, depth + 1, &probes[k], &a, &v, err);
    in[k] = &probes[k];
    if (k == 0) in_axis = a;
    else if (v == PROBED && a.axis >= 0 && memcmp(&a, &in_axis, sizeof a)) v = WHOLE; /* inputs batched unlike */
  }
  const vitc_value *data = n->nin > 0 && n->in[0] >= 0 ? &g->tensors[n->in[0]].v : NULL;
  batch_axis out_axis = in_axis;
  if (st == VITC_OK && v == PROBED && in_axis.axis >= 0 && n->op == VITC_OP_Gather) {
    /* Gather's indices name the data's whole axis: along the batch axis they must be renumbered */
    int64_t axis = vitc_attr_int(n, "axis", 0);
    if (axis < 0) axis += data->rank;
    if (axis == in_axis.axis) {
      st = gather_images(in[1], in_axis, data->dims[axis], batch, &out_axis, &picked, err);
      out_axis.axis = (int)axis;
      in[1] = &picked;
      if (!picked.data) v = WHOLE;
    }
  }
  if (st == VITC_OK && v == PROBED && in_axis.axis >= 0) {
    if (vitc_op_has(n->op, VITC_OPF_VIEW)) { /* the same elements in the same order: only the dims change */
      int64_t outer, block;
      flat_layout(data, in_axis, &outer, &block);
      *ba = view_axis(outer, block, &tt->v, batch);
      if (ba->axis >= 0) {
        *out = tt->v;
        shrink(out, *ba);
        out->dtype = VITC_I64;
        out->data = probes[0].data;
        probes[0].data = NULL;
        *verdict = PROBED;
      }
    } else {
      vitc_error refused; /* the smaller tensors may not suit the op: then the whole tensor is probed */
      if (vitc_eval_node(g, n, in, outs, &refused) == VITC_OK) {
        for (int j = 0; j < n->nout; j++)
          if (n->out[j] == t) {
            *verdict = outs[j].dtype == VITC_I64 ? PROBED : NOT_MOVED;
            out_axis.axis = shrunk_axis(&tt->v, &outs[j], batch);
            if (*verdict == NOT_MOVED || out_axis.axis < 0 ||
                tt->v.dims[out_axis.axis] != out_axis.outer * batch * out_axis.inner) /* Concat along the batch */
              break;
            *ba = out_axis; /* an op that moves the batch axis whole keeps how images lie in it */
            *out = outs[j];
            outs[j].data = NULL;
          }
        if (*verdict == PROBED && !out->data) *verdict = WHOLE;
      }
    }
  } else if (st == VITC_OK && v != PROBED) {
    *verdict = v;
  }
  for (int k = 0; k < n->nin; k++) free(probes[k].data);
  for (int j = 0; j < n->nout; j++) free(outs[j].data);
  free(picked.data);
  return st;
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
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(outer * block + 1));
  if (!first) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  const int64_t *q = p->data;
  double per_stride = 1.0 / (double)stride;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < block; j++) {
      int64_t at = q[i * IMAGES * block + j] - 1, next = q[(i * IMAGES + 1) * block + j] - 1;
      /* image 0's elements come from image 0 of base: base's probed share holds IMAGES images a block (a
       * quotient by multiplication: a division an element was most of Swin-T's probing at batch 8) */
      int64_t image = at < 0 ? 0 : base_outer == 1 ? at >= stride : quotient(at, stride, per_stride);
      if (at < 0 ? next != -1 : next != at + stride || image % IMAGES) {
        free(first);
        return VITC_OK;
      }
      first[i * block + j] = at < 0 ? -1 : at - image / IMAGES * (IMAGES - 1) * stride;
    }
  *o = (vitc_origins){first, batch, outer, block, base_outer, stride};
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
    vitc_value p;
    batch_axis ta;
    probe_verdict verdict;
    vitc_status st = probe_images(g, base, t, batch, innermost, 0, &p, &ta, &verdict, err);
    if (st != VITC_OK || verdict == NOT_MOVED) return st;
    batch_axis ba = base_axis(&g->tensors[base].v, batch, innermost);
    if (verdict == PROBED && ta.axis >= 0)
      st = repeat_images(&g->tensors[t].v, &p, ta, &g->tensors[base].v, ba, batch, o, err);
    free(p.data);
    if (st != VITC_OK || o->first) return st;
  }
  int64_t *whole;
  vitc_status st = vitc_probe_origins_whole(g, base, t, &whole, err);
  if (whole)
    *o = (vitc_origins){whole, 1, 1, vitc_numel(&g->tensors[t].v), 1, vitc_numel(&g->tensors[base].v)};
  return st;
}

int64_t vitc_origin_offset(const vitc_origins *o, int64_t c) {
  if (c < 0 || o->base_outer == 1) return c;
  return (c / o->base_block * o->batch) * o->base_block + c % o->base_block;
}

vitc_status vitc_origins_whole(const vitc_origins *o, int64_t **whole, vitc_error *err) {
  int64_t stride = o->base_block;
  if (!(*whole = malloc(sizeof(int64_t) * (size_t)(o->outer * o->batch * o->block + 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  for (int64_t i = 0; i < o->outer; i++)
    for (int64_t j = 0; j < o->block; j++) {
      int64_t at = vitc_origin_offset(o, o->first[i * o->block + j]);
      for (int64_t b = 0; b < o->batch; b++) (*whole)[(i * o->batch + b) * o->block + j] = at < 0 ? -1 : at + b * stride;
    }
  return VITC_OK;
}

void vitc_origins_free(vitc_origins *o) {
  free(o->first);
  o->first = NULL;
}

vitc_status vitc_probe_origins(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err) {
  vitc_origins o;
  *origins = NULL;
  vitc_status st = vitc_probe_images(g, base, t, &o, err);
  if (st != VITC_OK || !o.first) return st;
  if (o.batch == 1) return *origins = o.first, VITC_OK;
  st = vitc_origins_whole(&o, origins, err);
  vitc_origins_free(&o);
  return st;
}

/* x with every element told (batch 1). */
static vitc_status whole_form(const vitc_origins *x, vitc_origins *w, vitc_error *err) {
  *w = (vitc_origins){NULL, 1, 1, x->outer * x->batch * x->block, 1, x->base_outer * x->batch * x->base_block};
  return vitc_origins_whole(x, &w->first, err);
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
  int64_t count = below->outer * below->block, *first = st == VITC_OK ? malloc(sizeof(int64_t) * (size_t)(count + 1)) : NULL;
  if (st == VITC_OK && !first) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  for (int64_t i = 0; first && i < count; i++) first[i] = below->first[i] < 0 ? -1 : above->first[below->first[i]];
  if (first) *o = (vitc_origins){first, below->batch, below->outer, below->block, above->base_outer, above->base_block};
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
