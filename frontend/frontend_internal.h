/* frontend_internal.h — what the files of frontend/ share while turning an ONNX ModelProto into a graph.
 * Internal to frontend/: other folders include frontend.h only.
 *
 * Messages built here carry no file name: vitc_load_onnx prefixes the model path once, at the top. */
#ifndef VITC_FRONTEND_INTERNAL_H
#define VITC_FRONTEND_INTERNAL_H

#include "frontend.h"
#include "onnx/onnx.pb-c.h"

/* protobuf-c leaves absent optional strings NULL. */
static inline const char *fe_str(const char *s) { return s ? s : ""; }

/* ---------------------------------------------------------------- whole files */

typedef struct fe_file {
  const uint8_t *data;
  size_t len;
} fe_file;

/* Maps a whole file read-only (an empty file gives len 0 and data NULL). */
vitc_status fe_map_file(const char *path, fe_file *f, vitc_error *err);
void fe_unmap_file(fe_file *f);

/* Where a bytes field lies in a file: len -1 when the field is absent. */
typedef struct fe_range {
  size_t offset;
  int64_t len;
} fe_range;

/* Unpacks a model; when its initializers' raw_data could be located in the file, they are left out of
 * the unpacked model and (*raws)[k] (malloc'd, *nraws entries) says where initializer k's raw_data lies
 * (inline_weights.c). NULL when protobuf-c rejects the file. */
Onnx__ModelProto *fe_unpack_model(const fe_file *file, fe_range **raws, size_t *nraws);

/* Checks attrs against the ONNX schema of op (default domain) at opset: names, types, required ones. */
vitc_status fe_check_attributes(const char *op, int opset, const vitc_attr *attrs, int nattr, vitc_error *err);

/* ---------------------------------------------------------------- numpy files (npy_file.c) */

bool fe_is_npy(const uint8_t *data, size_t len);
bool fe_is_npz(const uint8_t *data, size_t len);
/* out->data is malloc'd. */
vitc_status fe_decode_npy(const uint8_t *data, size_t len, vitc_value *out, vitc_error *err);
/* *buf is malloc'd and holds the whole .npy file. */
vitc_status fe_encode_npy(const vitc_value *v, uint8_t **buf, size_t *len, vitc_error *err);
vitc_status fe_decode_npz(const uint8_t *data, size_t len, vitc_array_visit visit, void *user, vitc_error *err);
vitc_status fe_encode_npz(const char *const *names, const vitc_value *values, int n, uint8_t **buf, size_t *len,
                          vitc_error *err);

/* ---------------------------------------------------------------- TensorProto decoding */

/* "float32", or the ONNX name ("STRING", "COMPLEX64") of a data type vitc does not hold, into buf. */
const char *fe_dtype_label(int32_t code, char *buf, size_t n);
/* Fills v's dtype and shape from tp (v->data = NULL); fails on an unsupported dtype, a rank above
 * VITC_MAX_RANK, negative dims or an element count that overflows. label names the tensor in messages. */
vitc_status fe_tensor_type(const Onnx__TensorProto *tp, const char *label, vitc_value *v, vitc_error *err);
bool fe_tensor_is_external(const Onnx__TensorProto *tp);
/* Decodes tp's inline data (raw_data or the typed field ONNX assigns to the dtype) into a buffer from
 * alloc(ctx, bytes), after checking that the data holds exactly as many bytes as v's shape needs. */
typedef void *(*fe_alloc_fn)(void *ctx, size_t bytes);
vitc_status fe_tensor_decode_inline(const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                                    fe_alloc_fn alloc, void *ctx, vitc_error *err);

/* ---------------------------------------------------------------- the loader */

typedef struct fe_loader {
  vitc_graph *g;
  const Onnx__ModelProto *model;
  const char *dir; /* directory of the model file: external data is relative to it */
  const uint8_t *file;   /* the mapped model file, kept while initializers point into it */
  const fe_range *raws;  /* per initializer: its raw_data in file (fe_unpack_model) */
  size_t nraws;
  int opset;       /* default-domain opset */
  int *slots;      /* open-addressing table of tensor ids by name; -1 marks an empty slot */
  size_t nslots, nused;
} fe_loader;

/* Tensor id of name, or -1 when no tensor has it. */
int fe_find_tensor(const fe_loader *ld, const char *name);
/* Tensor id of name, created undefined when new; -1 when out of memory. */
int fe_tensor_id(fe_loader *ld, const char *name);
/* A new tensor whose name starts with hint and is unused so far; -1 when out of memory. */
int fe_fresh_tensor(fe_loader *ld, const char *hint);
/* A tensor is defined once it is a constant or graph input (shape_known) or has a producer. */
bool fe_tensor_defined(const fe_loader *ld, int id);
void fe_names_free(fe_loader *ld);

/* Loads tp's value into v, data owned by the graph: inline data is copied into the arena, external data
 * is mapped (see external_data.c). */
vitc_status fe_load_tensor(fe_loader *ld, const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                           vitc_error *err);
/* Whether the bytes at src (a mapped file) serve as v's data where they are, rather than copied: when
 * aligned for v's dtype, and when v is a floating-point tensor of a page or more (a weight; ir.h says how
 * such data is read), so that the weights never have a second copy in anonymous memory. Integer tensors
 * (shapes, indices, maps, which passes walk as typed arrays) and small ones are copied when unaligned. */
bool fe_read_in_place(const vitc_value *v, const void *src);
/* Maps the external data of tp into v->data and records the mapping in the graph. */
vitc_status fe_map_external(fe_loader *ld, const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                            vitc_error *err);

/* Graph inputs (skipping those with an initializer), with symbolic dims bound from opts. */
vitc_status fe_add_graph_inputs(fe_loader *ld, const vitc_load_options *opts, vitc_error *err);
/* Copies an attribute (a TENSOR through fe_load_tensor); subgraphs and sparse tensors are unsupported. */
vitc_status fe_convert_attr(fe_loader *ld, const Onnx__AttributeProto *ap, vitc_attr *a, vitc_error *err);
/* A Constant node: its value becomes the constant tensor its output names. */
vitc_status fe_add_constant_node(fe_loader *ld, const Onnx__NodeProto *np, const char *node_name, vitc_error *err);
/* One NodeProto: a Constant becomes a constant tensor, anything else a node of the op table. */
vitc_status fe_add_node(fe_loader *ld, const Onnx__NodeProto *np, vitc_error *err);

/* A node under construction; in has room for two more inputs than the NodeProto has, for normalisation. */
typedef struct fe_node {
  const char *name; /* as the graph will call it */
  vitc_op op;
  int *in, nin;
  int *out, nout;
  vitc_attr *attrs;
  int nattr;
} fe_node;

/* Rewrites an older opset's form of the node to the newest ONNX form (attribute → constant input). */
vitc_status fe_normalize_versioned(fe_loader *ld, fe_node *nd, vitc_error *err);

#endif
