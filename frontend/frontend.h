/* frontend.h — ONNX in and out: models into vitc graphs, TensorProto files to and from values.
 *
 * The loader produces a graph in topological order whose graph inputs have static shapes: symbolic
 * dims are bound from the options (a binding names an input and gives its whole shape) and any dim
 * still unknown is 1 (batch 1). Initializers become constants; Constant nodes (every value_* variant)
 * become constants; versioned op forms are normalised to the newest form (see ir/ops.def). Intermediate
 * shapes are left to passes/infer_shapes. Every failure names the file, and the node and op where there
 * is one. */
#ifndef VITC_FRONTEND_H
#define VITC_FRONTEND_H

#include "ir/ir.h"

typedef struct vitc_shape_binding {
  const char *input; /* graph input name */
  int input_len;     /* > 0: the name is input[0..input_len), e.g. pointing into a "name=dims" spec;
                        0: input is NUL-terminated */
  int rank;
  int64_t dims[VITC_MAX_RANK];
} vitc_shape_binding;

typedef struct vitc_load_options {
  const vitc_shape_binding *bindings;
  int nbindings;
} vitc_load_options;

/* Parses "name=1x3x224x224" into b (b->input points into spec, b->input_len is the name's length). */
vitc_status vitc_parse_shape_binding(const char *spec, vitc_shape_binding *b, vitc_error *err);

/* Loads an ONNX model file. opts may be NULL. On success *out owns everything (vitc_graph_free). */
vitc_status vitc_load_onnx(const char *path, const vitc_load_options *opts, vitc_graph **out, vitc_error *err);

/* Reads a serialized TensorProto (.pb, as in ONNX backend-test data). out->data is malloc'd and owned by
 * the caller; *name (may be NULL) receives a malloc'd copy of the tensor's name ("" if unnamed). */
vitc_status vitc_read_tensor_file(const char *path, vitc_value *out, char **name, vitc_error *err);
/* Writes v as a TensorProto named name. Written to a temporary file and renamed: a failure never
 * leaves a partial file. */
vitc_status vitc_write_tensor_file(const char *path, const char *name, const vitc_value *v, vitc_error *err);
/* vitc_read_tensor_file also reads numpy's .npy (recognised by its magic, whatever the file's name), and
 * vitc_write_tensor_file writes .npy when path ends in ".npy". */

/* Called once per array of a .npz archive, in archive order, with the member's name without ".npy";
 * v->data is malloc'd and becomes the callee's. A non-OK status stops the walk and is returned. */
typedef vitc_status (*vitc_array_visit)(void *user, const char *name, vitc_value *v, vitc_error *err);
/* Reads numpy's .npz (numpy.savez or savez_compressed). */
vitc_status vitc_read_npz(const char *path, vitc_array_visit visit, void *user, vitc_error *err);
/* Writes arrays names[k] = values[k] as a .npz that numpy.load reads, atomically like .pb files. */
vitc_status vitc_write_npz(const char *path, const char *const *names, const vitc_value *values, int n,
                           vitc_error *err);

#endif
