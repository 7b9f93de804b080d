/* driver.c — load → passes → compile, for the public API and the tool (driver.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver.h"

/* The passes, timed into o->times when it is set. */
static vitc_status run_passes(vitc_graph *g, const vitc_driver_options *o, vitc_error *err) {
  vitc_pass_options po = o->passes;
  vitc_stage_time since = vitc_stage_clock();
  if (o->times) po.times = o->times->pass;
  vitc_status st = vitc_run_passes(g, &po, err);
  if (o->times) vitc_stage_add(&o->times->passes, since);
  return st;
}

vitc_status vitc_driver_load(const char *path, const vitc_driver_options *o, vitc_graph **out, vitc_error *err) {
  vitc_load_options lo = {o->bindings, o->nbindings};
  vitc_stage_time since = vitc_stage_clock();
  vitc_status st = vitc_load_onnx(path, &lo, out, err);
  if (o->times) vitc_stage_add(&o->times->load, since);
  /* The protobuf's unpacked model (loading) and the probes' origins (passes) are freed heap, held by
   * malloc until given back: without that they stay resident beside the weights and LLVM through the
   * code generation, the compilation's peak (Swin-T: 12 MB of the passes'). */
  vitc_give_back_heap();
  if (!st) (*out)->memory_limit = o->memory_limit; /* before shape inference, which checks it */
  if (!st && (st = run_passes(*out, o, err))) {
    vitc_graph_free(*out);
    *out = NULL;
  }
  vitc_give_back_heap();
  if (!st) (*out)->precision = o->precision;
  return st;
}

/* Inputs worth binding when compiled code needs values at compile time: those only ever read as
 * parameters (input 1 and beyond: shapes, axes, indices, scales, pads) and those feeding a node whose
 * output shape is still unknown. */
static bool parameter_input(const vitc_graph *g, int t) {
  bool as_data = false, feeds_dynamic = false;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int j = 0; j < n->nin; j++) {
      if (n->in[j] != t) continue;
      as_data |= j == 0;
      for (int k = 0; k < n->nout; k++) feeds_dynamic |= n->out[k] >= 0 && !g->tensors[n->out[k]].shape_known;
    }
  }
  return !as_data || feeds_dynamic;
}

/* Binds the parameter inputs to these values and re-runs the passes. */
static vitc_status specialise(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                              vitc_value *kept, vitc_error *err) {
  int nkept = 0;
  for (int k = 0; k < g->ninputs; k++) {
    bound[k] = parameter_input(g, g->inputs[k]);
    if (!bound[k]) kept[nkept++] = inputs[k];
  }
  vitc_status st = vitc_graph_bind_inputs(g, bound, inputs, err);
  return st ? st : run_passes(g, o, err);
}

static vitc_status compile_timed(const vitc_graph *g, const vitc_driver_options *o, const vitc_target_options *t,
                                 vitc_compiled **out, vitc_error *err) {
  vitc_status st = vitc_compile_jit(g, t, out, err);
  if (!st && o->times) o->times->backend = (*out)->module->times; /* at most one compilation succeeds */
  return st;
}

/* o's target with the defaults filled in: the LLVM opt level, the compile cache's directory (into dir). */
static vitc_target_options target_of(const vitc_driver_options *o, char *dir, size_t n) {
  vitc_target_options t = o->target;
  if (!t.opt_level) t.opt_level = VITC_LLVM_OPT_LEVEL;
  if (o->no_cache) t.cache_dir = NULL;
  else if (!t.cache_dir && vitc_cache_default_dir(dir, n)) t.cache_dir = dir;
  return t;
}

/* vitc_driver_compile, its compile cache entry possibly still being written (vitc_compiled.storing). */
static vitc_status compile_storing(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                   vitc_value *kept, vitc_compiled **out, vitc_error *err) {
  char cache_dir[PATH_MAX];
  vitc_target_options t = target_of(o, cache_dir, sizeof cache_dir);
  int ninputs = g->ninputs;
  for (int k = 0; bound && k < ninputs; k++) bound[k] = false;
  for (int k = 0; kept && inputs && k < ninputs; k++) kept[k] = inputs[k];
  vitc_status st = compile_timed(g, o, &t, out, err);
  if (st != VITC_ERR_DATA_DEPENDENT || !inputs) return st;
  bool *flags = bound ? bound : calloc((size_t)ninputs + 1, sizeof *flags);
  if (!flags) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!(st = specialise(g, o, inputs, flags, kept, err))) st = compile_timed(g, o, &t, out, err);
  if (flags != bound) free(flags);
  return st;
}

/* Waits for the entry to be stored, so that the runs the caller times do not share the machine with it;
 * only a model loaded for a host (vitc_driver_load_compiled) runs while it is written. */
vitc_status vitc_driver_compile(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                vitc_value *kept, vitc_compiled **out, vitc_error *err) {
  vitc_status st = compile_storing(g, o, inputs, bound, kept, out, err);
  if (!st) vitc_compiled_wait_store(*out);
  return st;
}

/* ---------------------------------------------------------------- a model file's compilation, cached
 *
 * The compile cache's entries are named by the optimised graph, which takes loading the file and the
 * passes to know. The index (backend.h) also names a model file's entry by the file's identity and the
 * options, so that loading it again maps the compiled code and weights without reading the model. */

/* The file's identity (device, inode, size, modification and change times: writing to a file changes
 * them) and every option that shapes the graph or the code, as text in buf; false when it does not fit. */
static bool describe_source(const struct stat *st, const vitc_driver_options *o, const vitc_target_options *t,
                            char *buf, size_t n) {
  size_t k = 0;
#define ADD(...) k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__)
  ADD("file %llu %llu %lld %lld.%09ld %lld.%09ld\n", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
      (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
      st->st_ctim.tv_nsec);
  ADD("passes -O%d memory %lld precision %d\n", o->passes.opt_level, (long long)o->memory_limit, (int)o->precision);
  for (int i = 0; i < o->passes.ndisabled; i++) ADD("disable %s\n", o->passes.disabled[i]);
  for (int i = 0; i < o->nbindings; i++) {
    const vitc_shape_binding *b = &o->bindings[i];
    ADD("shape %.*s", b->input_len ? b->input_len : (int)strlen(b->input), b->input);
    for (int d = 0; d < b->rank; d++) ADD(" %lld", (long long)b->dims[d]);
    ADD("\n");
  }
  ADD("target %s %s %s -O%d\n", t->triple ? t->triple : "host", t->cpu ? t->cpu : "host",
      t->features ? t->features : "host", t->opt_level);
#undef ADD
  return k < n;
}

/* Whether everything g read from files is in the model file of this size: then its identity stands for
 * the graph's (a model with external data maps more files, whose identities the index would not see). */
static bool reads_only_model_file(const vitc_graph *g, const struct stat *st) {
  int n = 0;
  for (const vitc_mapping *m = g->mappings; m; m = m->next) n += m->len == (size_t)st->st_size ? 1 : 2;
  return n <= 1;
}

/* A graph of only the inputs and outputs the signature names: what a model compiled from the cache needs
 * to check and describe its buffers. */
static vitc_status graph_of_signature(const char *path, const char *signature, vitc_graph **out, vitc_error *err) {
  enum { MAX_IO = 256 };
  vitc_io_desc *io = calloc(2 * MAX_IO, sizeof *io);
  vitc_graph *g = io ? vitc_graph_new(path) : NULL;
  int nin, nout;
  vitc_status st = g ? vitc_parse_signature(signature, io, MAX_IO, &nin, io + MAX_IO, MAX_IO, &nout, err)
                     : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!st && (!(g->inputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nin + 1))) ||
              !(g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nout + 1)))))
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int k = 0; !st && k < nin + nout; k++) {
    const vitc_io_desc *d = k < nin ? &io[k] : &io[MAX_IO + k - nin];
    int id = vitc_graph_add_tensor(g, d->name);
    if (id < 0) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
      break;
    }
    vitc_tensor *t = &g->tensors[id];
    t->v.dtype = d->dtype;
    t->v.rank = d->rank;
    memcpy(t->v.dims, d->dims, sizeof t->v.dims);
    t->shape_known = true;
    if (k < nin) g->inputs[g->ninputs++] = id;
    else g->outputs[g->noutputs++] = id;
  }
  free(io);
  if (st) vitc_graph_free(g);
  else *out = g;
  return st;
}

vitc_status vitc_driver_load_compiled(const char *path, const vitc_driver_options *o, vitc_graph **g,
                                      vitc_compiled **out, vitc_error *err) {
  *g = NULL;
  *out = NULL;
  /* What LLVM's static constructors and its targets' registration leave resident (36 + 12 MB of its code:
   * backend/jit.c) goes: nothing runs LLVM until a cached entry is linked or code is generated, after the
   * loading and the passes' peak. */
  vitc_llvm_drop_code_pages();
  char cache_dir[PATH_MAX], source[8192], again[sizeof source];
  vitc_target_options t = target_of(o, cache_dir, sizeof cache_dir);
  struct stat before, after;
  uint64_t key[2];
  bool indexed = t.cache_dir && !stat(path, &before) && describe_source(&before, o, &t, source, sizeof source);
  if (indexed && vitc_cache_index_read(t.cache_dir, source, strlen(source), key) &&
      vitc_compiled_from_cache(&t, key, out)) {
    vitc_error ignored;
    if (!graph_of_signature(path, (*out)->module->signature, g, &ignored)) return VITC_OK;
    vitc_compiled_free(*out);
    *out = NULL;
  }
  vitc_status st = vitc_driver_load(path, o, g, err);
  /* The graph is replaced by its inputs and outputs below: its constants can go as they are compiled. */
  vitc_driver_options releasing = *o;
  releasing.target.release_constants = true;
  if (!st) st = compile_storing(*g, &releasing, NULL, NULL, NULL, out, err);
  /* The record may name an entry still being written: one that then fails to be written is a miss. */
  if (!st && indexed && (*out)->cached && reads_only_model_file(*g, &before) && !stat(path, &after) &&
      describe_source(&after, o, &t, again, sizeof again) && !strcmp(source, again))
    vitc_cache_index_write(t.cache_dir, source, strlen(source), (*out)->cache_key);
  /* The graph's constants (copies of the model's unaligned initializers among them) are in the weights
   * blob now: keep only its inputs and outputs. */
  vitc_graph *io;
  vitc_error ignored;
  if (!st && !graph_of_signature(path, (*out)->module->signature, &io, &ignored)) {
    vitc_graph_free(*g);
    *g = io;
  }
  return st;
}

/* ---------------------------------------------------------------- a batch run image by image
 *
 * A graph compiled for N images folds them into the products' rows. Once one image's products already
 * have enough rows for the GEMM to run at full speed, folding only makes the activations N times larger
 * (8 images of Swin-T or ConvNeXt-T no longer fit the L3) and the compilation slower; the batch-1 graph
 * run N times over consecutive per-image blocks is then faster, provided the images never meet. */

/* A product's rows per image from which it runs as fast as with more, and the share of the products'
 * arithmetic that must reach it. Measured at batch 8 (README): ViT-B/32's 50 tokens take 9% less CPU per
 * image folded; ViT-B/16's 197 the same either way; Swin-T (3136 rows at stage 1, 49 at stage 4) and
 * ConvNeXt-T 2-7% less image by image; and every one of them compiles 1.5-5 times faster at batch 1. */
enum { PER_IMAGE_MIN_ROWS = 192 };
#define PER_IMAGE_MIN_SHARE 0.75

/* The axis of tn (in the graph of n images) that holds the images, against t1 (the same tensor at batch 1):
 * the one axis n times as long, the others alike; -1 when both have the same shape (a parameter: shapes,
 * indices, weights), -2 for anything else (the images spread over several axes, or reduced away). */
static int image_axis(const vitc_tensor *t1, const vitc_tensor *tn, int64_t n) {
  if (!t1->shape_known || !tn->shape_known || t1->v.rank != tn->v.rank) return -2;
  int axis = -1;
  for (int d = 0; d < tn->v.rank; d++) {
    if (tn->v.dims[d] == t1->v.dims[d]) continue;
    if (axis >= 0 || tn->v.dims[d] != n * t1->v.dims[d]) return -2;
    axis = d;
  }
  return axis;
}

/* Where the images lie in a tensor's memory: element o·n·stride + b·stride + r (o < outer, r < stride)
 * belongs to image b. */
typedef struct image_layout {
  int64_t outer, stride;
} image_layout;

/* The layout of tn when its images are the outer part of its image axis (index i·n + … is not: [L,N,E]
 * viewed as [L·N,E] interleaves the images along axis 0, which only a row-wise op may read). */
static image_layout indexed_layout(const vitc_tensor *t1, const vitc_tensor *tn, int axis) {
  image_layout l = {1, t1->v.dims[axis]};
  for (int d = 0; d < axis; d++) l.outer *= tn->v.dims[d];
  for (int d = axis + 1; d < tn->v.rank; d++) l.stride *= tn->v.dims[d];
  return l;
}

static bool same_layout(image_layout a, image_layout b) { return a.outer == b.outer && a.stride == b.stride; }

/* Whether node b only maps rows (last axis) of input 0 to rows of output 0: a row-wise op along the last
 * axis, or a product whose matrix (input 1) holds no images. */
static bool maps_rows(const vitc_node *b, const image_layout *at, int rank) {
  if (!vitc_op_has(b->op, VITC_OPF_ROWWISE) || vitc_attr_int(b, "transA", 0)) return false;
  int64_t axis = vitc_attr_int(b, "axis", -1);
  if ((axis < 0 ? axis + rank : axis) != rank - 1) return false;
  return !vitc_op_has(b->op, VITC_OPF_PRODUCT) || b->nin < 2 || b->in[1] < 0 || !at[b->in[1]].outer;
}

/* Node b's `axis` attribute made non-negative for operands of the given rank (dflt when absent); -1 when
 * out of range. */
static int attr_axis(const vitc_node *b, int64_t dflt, int rank) {
  int64_t axis = vitc_attr_int(b, "axis", dflt);
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? (int)axis : -1;
}

/* Node k's input j, known at compile time in graph g, or NULL. */
static const vitc_value *known_input(const vitc_graph *g, int k, int j) {
  const vitc_node *b = &g->nodes[k];
  return j < b->nin && b->in[j] >= 0 && g->tensors[b->in[j]].v.data ? &g->tensors[b->in[j]].v : NULL;
}

/* Whether Slice node k of g keeps axis ax of its input whole and in order, and slices every other axis as
 * node k of `other` does: the constant starts/ends/axes/steps (inputs 1-4) name ax only to start at 0 and
 * end at its length with step 1 (a flipped or strided batch mixes the images). */
static bool slice_keeps_images(const vitc_graph *g, const vitc_graph *other, int k, int ax) {
  const vitc_node *b = &g->nodes[k];
  const vitc_value *starts = known_input(g, k, 1), *ends = known_input(g, k, 2), *axes = known_input(g, k, 3),
                   *steps = known_input(g, k, 4), *x = &g->tensors[b->in[0]].v;
  if (!starts || !ends || vitc_numel(ends) != vitc_numel(starts) || (b->nin > 3 && b->in[3] >= 0 && !axes) ||
      (b->nin > 4 && b->in[4] >= 0 && !steps))
    return false;
  for (int j = 1; j < b->nin; j++) { /* alike in both graphs but for the image axis */
    const vitc_value *v = known_input(g, k, j), *w = known_input(other, k, j);
    if (v && (!w || vitc_numel(v) != vitc_numel(w))) return false;
  }
  for (int64_t i = 0; i < vitc_numel(starts); i++) {
    int64_t axis = axes ? vitc_load_i(axes, i) : i, len = x->dims[ax];
    if (axis < 0) axis += x->rank;
    if (axis != ax) {
      for (int j = 1; j < b->nin; j++)
        if (known_input(g, k, j) && vitc_load_i(known_input(g, k, j), i) != vitc_load_i(known_input(other, k, j), i))
          return false;
      continue;
    }
    int64_t start = vitc_load_i(starts, i), end = vitc_load_i(ends, i);
    if ((steps && vitc_load_i(steps, i) != 1) || start + (start < 0 ? len : 0) > 0 || end + (end < 0 ? len : 0) < len)
      return false;
  }
  return true;
}

/* Whether Resize node k of g samples axis ax at the input's own positions: scale exactly 1 there (scales
 * input 2, or sizes: the caller checks the length), no crop box (tf_crop_and_resize's roi may shift it),
 * no `axes` attribute renumbering the scales. A scale of 1.1 on 3 images still gives 3, between them. */
static bool resize_keeps_images(const vitc_graph *g, int k, int ax) {
  const vitc_node *b = &g->nodes[k];
  const vitc_value *scales = known_input(g, k, 2);
  if (vitc_attr_find(b, "axes") || !strcmp(vitc_attr_str(b, "coordinate_transformation_mode", ""), "tf_crop_and_resize"))
    return false;
  if (b->nin > 2 && b->in[2] >= 0 && (!scales || (vitc_numel(scales) && vitc_load_f(scales, ax) != 1.0))) return false;
  return true;
}

/* Whether input j of node k (no images) is alike at batch 1 and n, or names the shape the batch sizes
 * (Reshape's or Expand's shape, Resize's sizes; Slice's ends: slice_keeps_images). A parameter computed
 * from the batch size (x · N) would give each image another value than batch 1 does. A parameter unknown
 * at compile time is computed at run time from the same constants in both graphs. */
static bool same_parameter(const vitc_graph *g1, const vitc_graph *gn, int k, int j) {
  const vitc_node *b = &gn->nodes[k];
  if (vitc_op_has(b->op, VITC_OPF_VIEW) || b->op == VITC_OP_Expand || b->op == VITC_OP_Slice ||
      (b->op == VITC_OP_Resize && j == 3))
    return true;
  const vitc_tensor *t1 = &g1->tensors[g1->nodes[k].in[j]];
  if (t1->producer < 0) return true; /* a constant of the file (the weights): the same bytes at any batch */
  const vitc_value *v1 = &t1->v, *vn = &gn->tensors[b->in[j]].v;
  if (!v1->data || !vn->data) return !v1->data && !vn->data;
  return vitc_nbytes(v1) == vitc_nbytes(vn) && !memcmp(v1->data, vn->data, vitc_nbytes(vn));
}

/* Whether node k's operands after the first (indices, repeats, pads, split sizes) are known and alike at
 * batch 1 and n: a batch-specific index (the last image) would pick another element in each graph. */
static bool same_index_operands(const vitc_graph *g1, const vitc_graph *gn, int k) {
  for (int j = 1; j < gn->nodes[k].nin; j++) {
    if (gn->nodes[k].in[j] < 0) continue;
    const vitc_value *v1 = known_input(g1, k, j), *vn = known_input(gn, k, j);
    if (!v1 || !vn || vitc_nbytes(v1) != vitc_nbytes(vn) || memcmp(v1->data, vn->data, vitc_nbytes(vn))) return false;
  }
  return true;
}

/* Whether node k of gn computes each image of its input j (images on axis ax) from that image alone, its
 * output holding them on axis ax_out. A PER_SAMPLE op keeps the images apart on its leading axes (ops.def);
 * the movement ops by their index operands; every other op may combine them (CumSum, MeanVariance-
 * Normalization, ReverseSequence, RoiAlign...) and is refused: the batch is then folded, always right. */
static bool keeps_images_apart(const vitc_graph *g1, const vitc_graph *gn, int k, int j, int ax, int ax_out) {
  const vitc_node *b = &gn->nodes[k];
  int rank = gn->tensors[b->in[j]].v.rank, out_rank = gn->tensors[b->out[0]].v.rank;
  if (vitc_op_has(b->op, VITC_OPF_PER_SAMPLE)) {
    for (int o = 1; o < b->nout; o++) /* MaxPool's Indices count the images before (n·C + c)·H·W + ... */
      if (b->out[o] >= 0) return false;
    if (vitc_op_has(b->op, VITC_OPF_PRODUCT)) /* a batch dim (broadcast from the right), not a matrix's */
      return ax < rank - 2 && ax - rank == ax_out - out_rank;
    return ax < attr_axis(b, 1, rank) && ax == ax_out && (b->op != VITC_OP_Resize || resize_keeps_images(gn, k, ax));
  }
  if (!vitc_op_has(b->op, VITC_OPF_MOVE) || (j > 0 && !vitc_op_has(b->op, VITC_OPF_MOVE_ALL)))
    return false; /* images in indices, repeats or pads */
  switch (b->op) {
  case VITC_OP_Transpose:
  case VITC_OP_Dropout: /* inference: a copy */
    return true;
  case VITC_OP_Expand: /* broadcast from the right; the image axis as long per image (caller) */
    return ax - rank == ax_out - out_rank;
  case VITC_OP_Concat: /* axis required: absent, refuse */
    return attr_axis(b, ax, rank) != ax;
  case VITC_OP_Split:
  case VITC_OP_Gather:
    return attr_axis(b, 0, rank) != ax && same_index_operands(g1, gn, k);
  case VITC_OP_Slice:
    return slice_keeps_images(gn, g1, k, ax) && slice_keeps_images(g1, gn, k, ax);
  case VITC_OP_Tile: /* repeats 1 on the image axis (N repeats would copy the whole batch, not each image) */
  case VITC_OP_Pad:  /* no padding on the image axis (pads input 1; an axes input 3 is refused) */
    if (!same_index_operands(g1, gn, k) || (b->op == VITC_OP_Pad && b->nin > 3 && b->in[3] >= 0)) return false;
    return b->op == VITC_OP_Tile ? vitc_load_i(known_input(gn, k, 1), ax) == 1
                                 : !vitc_load_i(known_input(gn, k, 1), ax) && !vitc_load_i(known_input(gn, k, 1), ax + rank);
  default:
    return false;
  }
}

bool vitc_graph_separable_by_image(const vitc_graph *g1, const vitc_graph *gn, int64_t n) {
  if (g1->nnodes != gn->nnodes || g1->ntensors != gn->ntensors || n < 2) return false;
  image_layout *at = calloc((size_t)gn->ntensors + 1, sizeof *at); /* outer 0: no images */
  bool ok = at != NULL;
  for (int k = 0; ok && k < gn->ninputs; k++) { /* the buffers hold one image after another */
    int t = gn->inputs[k];
    ok = image_axis(&g1->tensors[t], &gn->tensors[t], n) == 0;
    if (ok) at[t] = indexed_layout(&g1->tensors[t], &gn->tensors[t], 0);
  }
  for (int i = 0; ok && i < gn->nnodes; i++) {
    const vitc_node *a = &g1->nodes[i], *b = &gn->nodes[i];
    if (a->op != b->op || a->nin != b->nin || a->nout != b->nout) ok = false;
    if (!ok || vitc_op_has(b->op, VITC_OPF_SHAPE_ONLY)) continue;
    /* An input carrying images makes every output carry them on one axis: a tensor whose size does not
     * follow the batch (a reduction over it) mixes them. */
    int first = -1; /* the first input carrying images */
    for (int j = 0; ok && j < b->nin; j++) {
      int ax = b->in[j] < 0 ? -1 : image_axis(&g1->tensors[a->in[j]], &gn->tensors[b->in[j]], n);
      ok = ax != -2 && (ax == -1 || at[b->in[j]].outer > 0);
      if (ax >= 0 && first < 0) first = j;
    }
    for (int j = 0; ok && first >= 0 && j < b->nin; j++)
      ok = b->in[j] < 0 || at[b->in[j]].outer || same_parameter(g1, gn, i, j);
    if (!ok) break;
    if (first < 0) { /* parameters only: the same for every image when broadcast or repeated over the batch
                      * (a class token); a Slice or Pad sized by the batch gives each image another part */
      for (int j = 0; ok && j < b->nout; j++) {
        if (b->out[j] < 0) continue;
        const vitc_tensor *t1 = &g1->tensors[a->out[j]], *tn = &gn->tensors[b->out[j]];
        int ax = image_axis(t1, tn, n);
        ok = ax == -1 || (ax >= 0 && (b->op == VITC_OP_Expand || b->op == VITC_OP_Tile));
        if (ok && ax >= 0) at[b->out[j]] = indexed_layout(t1, tn, ax);
      }
      continue;
    }
    for (int j = 0; ok && j < b->nout; j++)
      ok = b->out[j] < 0 || image_axis(&g1->tensors[a->out[j]], &gn->tensors[b->out[j]], n) >= 0;
    if (!ok) break;
    const vitc_tensor *in = &gn->tensors[b->in[first]], *out = &gn->tensors[b->out[0]];
    image_layout l = at[b->in[first]];
    int64_t k_in = in->v.dims[in->v.rank - 1], k_out = out->v.dims[out->v.rank - 1];
    if (vitc_attr_int(b, "training_mode", 0)) { /* batch statistics */
      ok = false;
    } else if (vitc_op_has(b->op, VITC_OPF_VIEW)) { /* memory reinterpreted: the images stay where they are */
      at[b->out[0]] = l;
    } else if ((first == 0 || vitc_op_has(b->op, VITC_OPF_ELEMWISE)) && maps_rows(b, at, in->v.rank) &&
               l.stride % k_in == 0 && vitc_numel(&in->v) / k_in == vitc_numel(&out->v) / k_out) {
      /* whole rows per image, in any order: the output's rows in the same order */
      at[b->out[0]] = (image_layout){l.outer, l.stride / k_in * k_out};
      for (int j = first + 1; ok && j < b->nin; j++) /* an elementwise partner with images lies alike */
        ok = b->in[j] < 0 || !at[b->in[j]].outer || same_layout(at[b->in[j]], l);
      for (int j = 1; ok && j < b->nout; j++) ok = b->out[j] < 0;
    } else {
      /* Ops on indices: each image the outer part of its axis in every operand and as long in the output,
       * and an op that computes each image from that image alone (keeps_images_apart). */
      const vitc_tensor *o1 = &g1->tensors[a->out[0]];
      int ax_out = image_axis(o1, out, n);
      for (int j = 0; ok && j < b->nin; j++) {
        if (b->in[j] < 0 || !at[b->in[j]].outer) continue;
        const vitc_tensor *t1 = &g1->tensors[a->in[j]], *tn = &gn->tensors[b->in[j]];
        int ax = image_axis(t1, tn, n);
        ok = same_layout(at[b->in[j]], indexed_layout(t1, tn, ax)) && t1->v.dims[ax] == o1->v.dims[ax_out] &&
             keeps_images_apart(g1, gn, i, j, ax, ax_out);
      }
      for (int j = 0; ok && j < b->nout; j++)
        if (b->out[j] >= 0) {
          const vitc_tensor *t1 = &g1->tensors[a->out[j]], *tn = &gn->tensors[b->out[j]];
          at[b->out[j]] = indexed_layout(t1, tn, image_axis(t1, tn, n));
        }
    }
  }
  for (int k = 0; ok && k < gn->noutputs; k++) { /* one image after another again */
    int t = gn->outputs[k];
    ok = image_axis(&g1->tensors[t], &gn->tensors[t], n) == 0 &&
         same_layout(at[t], indexed_layout(&g1->tensors[t], &gn->tensors[t], 0));
  }
  free(at);
  return ok;
}

bool vitc_graph_rows_per_image_suffice(const vitc_graph *g1) {
  double all = 0, enough = 0;
  for (int i = 0; i < g1->nnodes; i++) {
    const vitc_node *n = &g1->nodes[i];
    if (!vitc_op_has(n->op, VITC_OPF_PRODUCT) || n->in[0] < 0) continue;
    const vitc_value *a = &g1->tensors[n->in[0]].v;
    double flops = vitc_node_flops(g1, i);
    int64_t k = a->rank ? a->dims[a->rank - 1] : 1;
    all += flops;
    if (k > 0 && vitc_numel(a) / k >= PER_IMAGE_MIN_ROWS) enough += flops;
  }
  return all > 0 && enough >= PER_IMAGE_MIN_SHARE * all;
}

/* The graph with only the required passes (shape inference), for comparing batches. */
static vitc_status load_shapes(const char *path, const vitc_shape_binding *b, int nb, vitc_graph **out,
                               vitc_error *err) {
  vitc_load_options lo = {b, nb};
  vitc_status st = vitc_load_onnx(path, &lo, out, err);
  vitc_pass_options po = {.opt_level = VITC_OPT_REQUIRED};
  if (!st && (st = vitc_run_passes(*out, &po, err))) {
    vitc_graph_free(*out);
    *out = NULL;
  }
  return st;
}

vitc_status vitc_driver_images(const char *path, const vitc_driver_options *o, vitc_shape_binding *one,
                               int64_t *images, vitc_error *err) {
  *images = 1;
  bool batch = false; /* no binding of a first dim above 1: no second load for nothing */
  for (int b = 0; b < o->nbindings; b++) batch |= o->bindings[b].rank >= 1 && o->bindings[b].dims[0] > 1;
  if (o->batch == VITC_BATCH_FOLD || !batch) return VITC_OK;
  vitc_graph *gn = NULL, *g1 = NULL;
  vitc_status st = load_shapes(path, o->bindings, o->nbindings, &gn, err);
  int64_t n = 0;
  for (int k = 0; !st && k < gn->ninputs; k++) { /* every input's first dim the same symbolic dim */
    const vitc_tensor *t = &gn->tensors[gn->inputs[k]];
    if (!t->dim_param[0] || t->v.rank < 1 || (n && t->v.dims[0] != n) ||
        strcmp(t->dim_param[0], gn->tensors[gn->inputs[0]].dim_param[0]))
      n = -1;
    else if (n >= 0) n = t->v.dims[0];
  }
  if (!st && n > 1) {
    for (int b = 0; b < o->nbindings; b++) {
      one[b] = o->bindings[b];
      if (one[b].rank >= 1 && one[b].dims[0] == n) one[b].dims[0] = 1;
    }
    /* A model whose constants fit only its batch (a Reshape to [N,...] written out) has no batch-1 graph:
     * it is folded, as it loads. */
    vitc_error ignored;
    if (!load_shapes(path, one, o->nbindings, &g1, &ignored) && vitc_graph_per_image(g1) &&
        vitc_graph_separable_by_image(g1, gn, n) &&
        (o->batch == VITC_BATCH_PER_IMAGE || vitc_graph_rows_per_image_suffice(g1)))
      *images = n;
  }
  vitc_graph_free(g1);
  vitc_graph_free(gn);
  return st;
}
