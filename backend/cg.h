/* cg.h — what op emitters see: the code generation state and small builders, so that an emitter reads
 * like the loops it generates (cg_loop_begin … cg_loop_end) rather than pages of LLVMBuild* calls. The
 * arithmetic, vectors of the target's width and index math are vec.h's; exp, erf, tanh and the
 * activations made of them are vmath.h's. Internal to backend/. */
#ifndef VITC_CG_H
#define VITC_CG_H

#include <llvm-c/Core.h>

#include "backend.h"

typedef struct vitc_cg {
  const vitc_graph *g;
  LLVMContextRef llvm;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef void_t, ptr, i1, i8, i16, i32, i64, f16, f32, f64;
  const char *name;

  /* The weights blob, grown as emitters add (possibly transformed) constants. */
  unsigned char *blob;
  size_t blob_size, blob_cap;
  bool blob_in_file;     /* blob maps target->weights_file (shared): its pages may be dropped (cg_drop_blob_pages) */
  size_t blob_base;      /* where the current node's constants begin (64-aligned): cg_add_blob's offsets
                          * count from here, so that nodes differing only in their constants' values get
                          * the same code (codegen.c shares it) */
  int64_t *const_offset; /* per tensor: offset of its raw data in the blob, -1 if not added */

  /* The node being emitted: its function's parameters are ctx, its constants (weights + blob_base), then
   * inputs, then outputs, then its work space (cg_scratch). */
  const vitc_node *node;
  LLVMValueRef fn;
  LLVMValueRef ctx_arg;
  LLVMValueRef *args;
  LLVMValueRef scratch_arg;
  const vitc_value **in_values; /* per input of the node, while it is emitted: what cg_in_value gives, the
                                 * input's value (one group's, below) or its aligned copy in in_copies (ir.h) */
  vitc_value *in_copies;
  vitc_copy_buf copy_buf; /* where those copies are, from node to node */
  const vitc_value *grouped; /* per input, then output, of a node run a group of rows at a time (plan.h's
                              * row groups): the value of one group's rows, which cg_in_value and
                              * cg_out_value give instead (constants as they are); NULL for a whole node */
  size_t *node_scratch; /* per node: bytes of work space its kernel asked for (planned by plan_memory.c) */
  bool *node_checks;    /* per node: its kernel may record an error (cg_index_error), so the run checks */
  LLVMValueRef weights; /* the node's constants: what cg_add_blob's offsets are relative to */
  int fresh;            /* counter for the node's task function names */
  const vitc_target_options *target; /* its progress callback */
  int vlanes;           /* floats per vector register of the target (vitc_target_lanes; vec.h) */
  int vregs;            /* vector registers of the target (vitc_target_vector_registers) */
  bool dpbf16;          /* the target has vdpbf16ps (vitc_features_dpbf16); else bf16 products are emulated */
  vitc_int8_dot int8_dot; /* the target's int8 product (vitc_target_int8_dot) */
  vitc_backend_times *times; /* the module's: emitters that transform constants add to ->weights */
} vitc_cg;

typedef vitc_status (*vitc_emit_fn)(vitc_cg *cg, const vitc_node *n, vitc_error *err);
extern const vitc_emit_fn vitc_emitters[VITC_OP_COUNT];

/* Inputs and outputs of the current node: data pointer and type/shape (the value's data is non-NULL
 * when it is a compile-time constant, and aligned for its dtype); NULL for an absent input or an unused
 * optional output. */
LLVMValueRef cg_in(vitc_cg *cg, int k);
LLVMValueRef cg_out(vitc_cg *cg, int k);
const vitc_value *cg_in_value(vitc_cg *cg, int k);
const vitc_value *cg_out_value(vitc_cg *cg, int k);

/* An ONNX axis attribute (negative counts from the end) as a dim index; shape inference has checked it. */
static inline int cg_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

LLVMValueRef cg_i64(vitc_cg *cg, int64_t v);
LLVMValueRef cg_i32(vitc_cg *cg, int32_t v);
LLVMValueRef cg_f32(vitc_cg *cg, float v);
LLVMValueRef cg_const(vitc_cg *cg, LLVMTypeRef t, double v); /* a float or integer constant of type t */
LLVMTypeRef cg_storage_type(vitc_cg *cg, vitc_dtype t);      /* how an element sits in memory */
/* The type arithmetic on dtype t is done in: float for f16/bf16/f32, double, i64 for integers, i1 for bool. */
LLVMTypeRef cg_compute_type(vitc_cg *cg, vitc_dtype t);
/* Element i (an i64) of the array at base, converted from dtype t to its compute type; and back. */
LLVMValueRef cg_load(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, vitc_dtype t);
void cg_store(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, vitc_dtype t, LLVMValueRef v);
/* Converts v from the compute type of `from` to the compute type of `to` (ONNX Cast semantics). */
LLVMValueRef cg_convert(vitc_cg *cg, LLVMValueRef v, vitc_dtype from, vitc_dtype to);
LLVMValueRef cg_gep(vitc_cg *cg, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef index);
/* Calls an intrinsic or external function by name, declaring it on first use. */
LLVMValueRef cg_call(vitc_cg *cg, const char *fname, LLVMTypeRef ret, LLVMValueRef *args, int nargs);
/* An LLVM intrinsic overloaded on types, e.g. cg_intrinsic(cg, "llvm.fma", &cg->f32, 1, args, 3). */
LLVMValueRef cg_intrinsic(vitc_cg *cg, const char *iname, LLVMTypeRef *types, int ntypes, LLVMValueRef *args,
                          int nargs);
void cg_memcpy(vitc_cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes);
void cg_memzero(vitc_cg *cg, LLVMValueRef dst, LLVMValueRef bytes);

/* for (iv = lo; iv < hi; iv += step) { … }: begin leaves the builder in the body; end closes it. */
typedef struct cg_loop {
  LLVMValueRef iv;
  LLVMBasicBlockRef header, body, exit;
  LLVMValueRef step;
  bool rolled; /* set in the body: the loop is not to be unrolled */
} cg_loop;
cg_loop cg_loop_begin(vitc_cg *cg, LLVMValueRef lo, LLVMValueRef hi, int64_t step);
void cg_loop_end(vitc_cg *cg, cg_loop *l);
/* if (cond) { … } [else { … }]: begin leaves the builder in the then-block; cg_if_else (optional) ends it
 * and leaves the builder in the else-block, which the condition's false edge now reaches; end joins. */
typedef struct cg_if {
  LLVMBasicBlockRef then_bb, join_bb;
  LLVMValueRef branch; /* the conditional branch, whose false edge cg_if_else moves */
} cg_if;
cg_if cg_if_begin(vitc_cg *cg, LLVMValueRef cond);
void cg_if_else(vitc_cg *cg, cg_if *c);
void cg_if_end(vitc_cg *cg, cg_if *c);
/* while (cond) { … }: begin leaves the builder in the test block, where the condition is computed (its
 * values also reach the body); cg_while_test branches on it and leaves the builder in the body; end loops. */
typedef struct cg_while {
  LLVMBasicBlockRef test, body, done;
} cg_while;
cg_while cg_while_begin(vitc_cg *cg);
void cg_while_test(vitc_cg *cg, cg_while *w, LLVMValueRef cond);
void cg_while_end(vitc_cg *cg, cg_while *w);
/* A mutable scalar (alloca in the entry block); mem2reg turns it into SSA. */
LLVMValueRef cg_var(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef init);
/* A mutable value of type t (a cg_var with its type), read and written without repeating the type:
 *   cg_mut acc = cg_mut_new(cg, t, zero);  …  cg_set(cg, acc, vec_add(cg, cg_get(cg, acc), v)); */
typedef struct cg_mut {
  LLVMValueRef slot;
  LLVMTypeRef t;
} cg_mut;
cg_mut cg_mut_new(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef init);
LLVMValueRef cg_get(vitc_cg *cg, cg_mut m);
void cg_set(vitc_cg *cg, cg_mut m, LLVMValueRef v);

/* Records in the context that index (as the model gave it) is out of range for an axis of size bound;
 * the run stops after the current node (runtime/vitc_rt.h: vitc_rt_index_error). */
void cg_index_error(vitc_cg *cg, LLVMValueRef index, int64_t bound);

/* `bytes` of work space for the current node's kernel, 64-byte aligned: a region of the context's scratch
 * arena that the planner reserves for this node alone while it runs (other tensors use it at other times),
 * so that running never allocates. Each call hands out a further region. The size may not depend on the
 * thread count, which only the context knows (vitc_rt_ctx_new): a buffer is shared by all tasks of the
 * node, each writing its own part; a kernel wanting space per task sizes it by the task count n it gives
 * cg_task_end (static) and slices it by the task's begin index. */
LLVMValueRef cg_scratch(vitc_cg *cg, size_t bytes);

/* Constant data for the kernel: appended to the weights blob (64-byte aligned); returns its offset from
 * cg->weights, the node's share of the blob (which cg_blob_ptr adds). An offset is not an address: the
 * same kernel serves every node whose code is the same, each with its own constants. */
vitc_status cg_add_blob(vitc_cg *cg, const void *data, size_t bytes, int64_t *offset, vitc_error *err);
/* Room for `bytes` of constant data (zeroed) at the end of the blob, to be written at *data, which stays
 * valid until the blob grows again (the next cg_add_blob or cg_reserve_blob): constants transformed at
 * compile time are written in place instead of being built aside and copied. *offset as cg_add_blob's. */
vitc_status cg_reserve_blob(vitc_cg *cg, size_t bytes, int64_t *offset, void **data, vitc_error *err);
LLVMValueRef cg_blob_ptr(vitc_cg *cg, int64_t offset);
/* The blob's pages out of memory when it is in a file (they stay in the file: read again when touched). */
void cg_drop_blob_pages(vitc_cg *cg);
void cg_free_blob(vitc_cg *cg);
/* The constant data at offset (cg_add_blob's or cg_reserve_blob's), to be written at compile time; valid
 * until the blob grows again. */
void *cg_blob_data(vitc_cg *cg, int64_t offset);
/* n sizes the kernel reads at run time from its node's constants (the blob) instead of having them in its
 * code, so that nodes differing only in those sizes share one kernel (codegen.c merges equal code: Swin's
 * attention of 3, 6, 12 and 24 heads over 64 .. 1 windows is one kernel, not seven). Only for counts no
 * loop is unrolled or vectorised by: batch entries, heads, task counts, the strides between them. *table
 * points at them (a value of the node function, captured into tasks like any other); cg_size loads entry
 * i, once where it is needed (at a task's start, not inside its loops). *offset (unless NULL) is the
 * table's, for sizes known only after later constants are added (cg_blob_data writes them then). */
vitc_status cg_add_sizes(vitc_cg *cg, const int64_t *sizes, int n, LLVMValueRef *table, int64_t *offset,
                         vitc_error *err);
LLVMValueRef cg_size(vitc_cg *cg, LLVMValueRef table, int i);

/* Parallel loop: the body between begin and end becomes a task function run over [0, n) by the runtime
 * pool; `captured` values of the node function are available in the body as t.vals[i]. */
#define CG_MAX_CAPTURE 16
typedef struct cg_task {
  LLVMValueRef begin, end;
  LLVMValueRef vals[CG_MAX_CAPTURE];
  int nvals;
  LLVMValueRef outer_fn, task_fn, outer_captured[CG_MAX_CAPTURE];
  LLVMBasicBlockRef outer_bb;
} cg_task;
cg_task cg_task_begin(vitc_cg *cg, const LLVMValueRef *captured, int ncaptured);
void cg_task_end(vitc_cg *cg, cg_task *t, int64_t n);
void cg_task_end_n(vitc_cg *cg, cg_task *t, LLVMValueRef n); /* n known at run time (cg_size) */

#endif
