/* driver.h — the library's driver: the one place where the stages meet.
 *
 *   model.onnx ─frontend/─▶ vitc_graph ─passes/─▶ optimised graph ─backend/─▶ JIT-compiled code
 *                                                             └─ ir/eval.c ─▶ interpreted
 *
 * include/vitc.h's functions (api/model.c) and the vitc tool (tools/) load and compile through here,
 * so the flow and its defaults exist once. Below this folder each stage sees only ir/ (and backend/
 * runtime/): frontend/, passes/ and backend/ never include each other (tests/layout/includes.sh). */
#ifndef VITC_DRIVER_H
#define VITC_DRIVER_H

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

/* LLVM's pipeline for generated code (default<O3>) at every graph optimisation level. */
enum { VITC_LLVM_OPT_LEVEL = 3 };

/* Where loading and compiling took time (ir/ir.h: vitc_stage_time), added up over calls. */
typedef struct vitc_driver_times {
  vitc_stage_time load;       /* the frontend: reading and checking the ONNX file */
  vitc_stage_time passes;     /* all graph passes */
  vitc_stage_time *pass;      /* NULL, or one entry per vitc_pipeline entry: each pass's share */
  vitc_backend_times backend; /* of the compilation that succeeded */
} vitc_driver_times;

typedef struct vitc_driver_options {
  const vitc_shape_binding *bindings; /* shapes of symbolic input dims (others default to 1) */
  int nbindings;
  vitc_pass_options passes;   /* .opt_level: VITC_OPT_REQUIRED..VITC_OPT_DEFAULT (include/vitc.h) */
  vitc_target_options target; /* JIT target; a zeroed struct means this machine at VITC_LLVM_OPT_LEVEL */
  int64_t memory_limit;        /* bytes a tensor, the activations or the weights may take; 0: physical memory */
  vitc_precision precision;   /* the loaded graph's (vitc_graph.precision), set once the passes ran */
  bool no_cache; /* compile without the compile cache (else target.cache_dir, or the default directory) */
  vitc_batch_mode batch; /* a batch of N > 1 images: folded into the rows, or run image by image */
  vitc_driver_times *times;   /* NULL: not timed */
} vitc_driver_options;

/* Loads path through the frontend, then runs the passes. On success *out owns everything. */
vitc_status vitc_driver_load(const char *path, const vitc_driver_options *o, vitc_graph **out, vitc_error *err);

/* JIT-compiles g for o->target. Compiled code needs static shapes and compile-time operands; when they
 * depend on input values (VITC_ERR_DATA_DEPENDENT) and `inputs` (one per graph input) is given, the
 * inputs read only as parameters (shapes, axes, indices, scales, pads) or feeding a node whose shape is
 * still unknown are bound to these values, the passes run again and g is compiled again. Then g has
 * fewer inputs: bound[k] (ninputs entries, may be NULL) says which of the original inputs became
 * constants, and kept (ninputs entries, required with inputs) receives the values of the others, in order.
 * Returns once the compile cache's entry is stored. */
vitc_status vitc_driver_compile(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                vitc_value *kept, vitc_compiled **out, vitc_error *err);

/* vitc_driver_load, then vitc_driver_compile without inputs to specialise on, for a host that needs only
 * the compiled code: *g keeps only the inputs and outputs (no nodes, no constants). The compile cache's
 * entry may still be being written when this returns, while the host runs (vitc_compiled_free waits). When the compile
 * cache's index knows this file (same identity, same options), *out is mapped from the cache without
 * reading the model. */
vitc_status vitc_driver_load_compiled(const char *path, const vitc_driver_options *o, vitc_graph **g,
                                      vitc_compiled **out, vitc_error *err);

/* Whether gn, the graph of n images, computes each image alone: node for node as g1 (the same file at
 * batch 1, both after the required passes), every tensor computed from images holds them outermost, one
 * block per image, every op on them is known to keep them apart (row-wise, VITC_OPF_PER_SAMPLE on its
 * leading axes, or a movement whose constant indices leave the image axis whole), and the parameters they
 * meet are alike at both batches. Anything else is refused: the batch is then folded, always right. */
bool vitc_graph_separable_by_image(const vitc_graph *g1, const vitc_graph *gn, int64_t n);
/* Whether one image's products (g1) have rows enough for the GEMM: at least PER_IMAGE_MIN_ROWS rows per
 * image for PER_IMAGE_MIN_SHARE of their arithmetic (driver.c). */
bool vitc_graph_rows_per_image_suffice(const vitc_graph *g1);

/* The images o's bindings give path (every input's symbolic first dim bound to the same N) that are
 * better run one at a time by the batch-1 graph: N when o->batch is VITC_BATCH_PER_IMAGE or, with
 * VITC_BATCH_AUTO, the products' rows suffice, and the graph is separable by image; else 1 (also when
 * the file does not load at batch 1, its constants written for N). With N,
 * one (o->nbindings entries) receives o's bindings with that first dim bound to 1. */
vitc_status vitc_driver_images(const char *path, const vitc_driver_options *o, vitc_shape_binding *one,
                               int64_t *images, vitc_error *err);

#endif
