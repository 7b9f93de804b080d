/* load_model.c — vitc_load_onnx: an ONNX model file into a graph in topological order.
 *
 * Order of work: opset → initializers (constants) → graph inputs (bound shapes) → nodes (Constant nodes
 * become constants) → graph outputs → topological sort. Node inputs may name tensors defined by later
 * nodes; they are created on first mention and must be defined by the end. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend_internal.h"

enum { MIN_OPSET = 11, MAX_OPSET = 21 };

static void *arena_alloc_fn(void *arena, size_t bytes) { return vitc_arena_alloc(arena, bytes); }

vitc_status fe_load_tensor(fe_loader *ld, const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                           vitc_error *err) {
  vitc_status st = fe_tensor_type(tp, label, v, err);
  if (st) return st;
  if (fe_tensor_is_external(tp)) return fe_map_external(ld, tp, label, v, err);
  return fe_tensor_decode_inline(tp, label, v, arena_alloc_fn, ld->g->arena, err);
}

static vitc_status read_opset(fe_loader *ld, vitc_error *err) {
  const Onnx__ModelProto *m = ld->model;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const char *domain = fe_str(m->opset_import[i]->domain);
    if (*domain && strcmp(domain, "ai.onnx")) continue;
    int64_t version = m->opset_import[i]->version;
    if (version < MIN_OPSET || version > MAX_OPSET)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "opset %lld of the default domain is not supported (vitc supports %d to %d)",
                       (long long)version, MIN_OPSET, MAX_OPSET);
    ld->opset = ld->g->opset = (int)version;
    return VITC_OK;
  }
  return vitc_fail(err, VITC_ERR_INVALID, "the model imports no opset of the default domain");
}

bool fe_read_in_place(const vitc_value *v, const void *src) {
  size_t bytes = vitc_nbytes(v);
  if (!bytes) return false; /* its own buffer: data != NULL marks the value known */
  if ((uintptr_t)src % vitc_dtype_size(v->dtype) == 0) return true;
  return vitc_dtype_is_float(v->dtype) && bytes >= (size_t)sysconf(_SC_PAGESIZE);
}

/* Initializer i whose raw_data was left in the file (fe_unpack_model): its value points into the mapping
 * (fe_read_in_place), or is copied; the file pages of a copy are dropped at once. */
static vitc_status load_initializer(fe_loader *ld, size_t i, const Onnx__TensorProto *tp, const char *label,
                                    vitc_value *v, vitc_error *err) {
  const fe_range *raw = i < ld->nraws && ld->raws[i].len >= 0 ? &ld->raws[i] : NULL;
  if (!raw || fe_tensor_is_external(tp)) return fe_load_tensor(ld, tp, label, v, err);
  vitc_status st = fe_tensor_type(tp, label, v, err);
  if (st) return st;
  size_t need = vitc_nbytes(v);
  if ((uint64_t)raw->len != need) {
    char ty[160];
    return vitc_fail(err, VITC_ERR_INVALID, "%s %s: its data has %lld bytes but its shape needs %zu bytes", label,
                     vitc_value_type_str(v, ty, sizeof ty), (long long)raw->len, need);
  }
  const uint8_t *src = ld->file + raw->offset;
  if (fe_read_in_place(v, src)) {
    v->data = (void *)src; /* read-only: passes make new constants, never write one in place */
    return VITC_OK;
  }
  if (!(v->data = vitc_arena_alloc(ld->g->arena, need ? need : 1)))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for the %zu bytes of %s", need, label);
  if (need) memcpy(v->data, src, need);
  vitc_drop_pages(src, need);
  return VITC_OK;
}

static vitc_status add_initializers(fe_loader *ld, vitc_error *err) {
  const Onnx__GraphProto *gp = ld->model->graph;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    const char *name = fe_str(tp->name);
    char label[300];
    snprintf(label, sizeof label, "tensor '%s'", name);
    if (fe_find_tensor(ld, name) >= 0) return vitc_fail(err, VITC_ERR_INVALID, "%s is defined more than once", label);
    int id = fe_tensor_id(ld, name);
    if (id < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    vitc_tensor *t = &ld->g->tensors[id];
    vitc_status st = load_initializer(ld, i, tp, label, &t->v, err);
    if (st) return st;
    t->shape_known = true;
  }
  if (gp->n_sparse_initializer)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "sparse initializer '%s' is not supported",
                     fe_str(gp->sparse_initializer[0]->values ? gp->sparse_initializer[0]->values->name : NULL));
  return VITC_OK;
}

static vitc_status add_outputs(fe_loader *ld, vitc_error *err) {
  const Onnx__GraphProto *gp = ld->model->graph;
  vitc_graph *g = ld->g;
  if (!(g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * (gp->n_output + 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = fe_str(gp->output[i]->name);
    int id = fe_find_tensor(ld, name);
    if (id < 0 || !fe_tensor_defined(ld, id))
      return vitc_fail(err, VITC_ERR_INVALID, "graph output '%s' is not produced by any node, input or initializer",
                       name);
    g->outputs[g->noutputs++] = id;
  }
  return VITC_OK;
}

/* Everything up to the topological sort; messages without the file name. */
static vitc_status build_graph(fe_loader *ld, const vitc_load_options *opts, vitc_error *err) {
  const Onnx__GraphProto *gp = ld->model->graph;
  if (!gp) return vitc_fail(err, VITC_ERR_PARSE, "not a valid ONNX model (no graph)");
  vitc_status st;
  if ((st = read_opset(ld, err)) || (st = add_initializers(ld, err)) || (st = fe_add_graph_inputs(ld, opts, err)))
    return st;
  for (size_t i = 0; i < gp->n_node; i++)
    if ((st = fe_add_node(ld, gp->node[i], err))) return st;
  return add_outputs(ld, err);
}

/* The directory holding path, in the graph's arena. */
static const char *model_dir(vitc_graph *g, const char *path) {
  char *copy = vitc_arena_strdup(g->arena, path);
  return copy ? vitc_arena_strdup(g->arena, dirname(copy)) : NULL;
}

vitc_status vitc_load_onnx(const char *path, const vitc_load_options *opts, vitc_graph **out, vitc_error *err) {
  *out = NULL;
  fe_file file;
  vitc_status st = fe_map_file(path, &file, err);
  if (st) {
    vitc_error_prefix(err, "%s", path);
    return st;
  }
  /* An empty buffer unpacks as a valid, empty ModelProto: refuse it here. */
  fe_range *raws = NULL;
  size_t nraws = 0;
  Onnx__ModelProto *model = file.len ? fe_unpack_model(&file, &raws, &nraws) : NULL;
  if (!nraws) fe_unmap_file(&file); /* nothing will point into it */
  if (!model) return vitc_fail(err, VITC_ERR_PARSE, "%s: not a valid ONNX model (protobuf parse failed)", path);

  fe_loader ld = {.model = model, .file = file.data, .raws = raws, .nraws = nraws};
  vitc_mapping *keep = NULL;
  if (!(ld.g = vitc_graph_new(path)) || !(ld.dir = model_dir(ld.g, path)) ||
      (nraws && !(keep = vitc_arena_alloc(ld.g->arena, sizeof *keep)))) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", path);
    fe_unmap_file(&file);
  } else if ((st = build_graph(&ld, opts, err))) {
    vitc_error_prefix(err, "%s", path);
  } else {
    st = vitc_graph_toposort(ld.g, err); /* its messages already name the file */
  }
  if (keep) { /* the graph owns the mapping from here: vitc_graph_free unmaps it */
    keep->addr = (void *)file.data;
    keep->len = file.len;
    keep->next = ld.g->mappings;
    ld.g->mappings = keep;
  }
  /* The pages the rest of the loading touched (the protobuf walk, small initializers) go too. */
  if (!st) vitc_graph_drop_mapped_pages(ld.g);
  free(raws);
  fe_names_free(&ld);
  onnx__model_proto__free_unpacked(model, NULL);
  if (st) vitc_graph_free(ld.g);
  else *out = ld.g;
  return st;
}
