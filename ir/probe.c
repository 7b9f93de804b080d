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

vitc_status vitc_probe_origins(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err) {
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

vitc_status vitc_probe_origins_via(const vitc_graph *g, int base, int mid, int t, const int64_t *above,
                                   const int64_t *below, int64_t **origins, vitc_error *err) {
  *origins = NULL;
  int64_t *part = NULL;
  vitc_status st = VITC_OK;
  if (!above && !below) return vitc_probe_origins(g, base, t, origins, err);
  if (!above || !below) { /* the unknown part is probed */
    st = above ? vitc_probe_origins(g, mid, t, &part, err) : vitc_probe_origins(g, base, mid, &part, err);
    if (st != VITC_OK || !part) return st == VITC_OK ? vitc_probe_origins(g, base, t, origins, err) : st;
    if (above) below = part; /* t's origins in mid, then mid's in base */
    else above = part;
  }
  int64_t count = vitc_numel(&g->tensors[t].v);
  if (!(*origins = malloc(sizeof(int64_t) * (size_t)(count ? count : 1)))) {
    free(part);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a movement probe");
  }
  for (int64_t i = 0; i < count; i++) (*origins)[i] = below[i] < 0 ? -1 : above[below[i]];
  free(part);
  return VITC_OK;
}
