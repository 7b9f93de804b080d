/* codegen.c — one LLVM module per graph: a function per distinct kernel (written by the op's emitter),
 * the entry points NAME_run / NAME_create / NAME_create_mapped / NAME_destroy, the signature text and
 * the weights.
 *
 *   i32 NAME_run(ptr ctx, ptr in0, …, ptr out0, …):
 *     vitc_rt_run_begin(ctx)
 *     if (NAME.part0(ctx, in0, …, out0, …)) return 1 …   each for up to NODES_PER_PART nodes
 *     copies for outputs that are inputs, constants or repeated; return 0
 *   i32 NAME_run_batch(ctx, i64 n, in0, …, out0, …):     only for one image of a symbolic batch
 *     NAME_run(ctx, in0 + i·bytes(in0), …) for each image i < n, returning the first failure
 *   i32 NAME.partP(ctx, in0, …, out0, …):
 *     weights = ctx->weights; scratch = ctx->scratch
 *     NAME.nK(ctx, weights + <node I's constants>, <addresses of node I's inputs and outputs>,
 *             <its work space>) …   in graph order, K the first node with the same kernel as I
 *     if (vitc_rt_node_failed(ctx, "node 'I' (Op)")) return 1   after a kernel that checks its input data
 *
 * The arena is planned (plan_memory.c) once the node functions exist, since their emitters say how much
 * work space they need (cg_scratch).
 */
#include <limits.h>
#include <llvm-c/Analysis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emitters.h"
#include "plan.h"
#include "vec.h"
#include "runtime/vitc_rt.h"

#define emit_none NULL /* ops.def's name for "no emitter" */
const vitc_emit_fn vitc_emitters[VITC_OP_COUNT] = {
#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn, flags) \
  [VITC_OP_##id] = emit_fn,
#include "ir/ops.def"
#undef X
};
#undef emit_none

void vitc_module_free(vitc_module *m) {
  if (!m) return;
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->tsc) LLVMOrcDisposeThreadSafeContext(m->tsc);
  free(m->name);
  if (m->weights_mapping_len) munmap(m->weights, m->weights_mapping_len);
  else free(m->weights);
  free(m->signature);
  free(m->cpu_features);
  free(m);
}

/* A growing string; on allocation failure it becomes NULL and stays so. */
typedef struct strbuf {
  char *s;
  size_t len, cap;
} strbuf;

static void sb_append(strbuf *b, const char *text, size_t n) {
  if (!b->s) return;
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    char *grown = realloc(b->s, b->cap);
    if (!grown) {
      free(b->s);
      b->s = NULL;
      return;
    }
    b->s = grown;
  }
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = 0;
}

/* One line per input and output: "in|out NAME DTYPE D0xD1…" ("scalar" for rank 0). Names are
 * %-escaped so that each stays one whitespace-free word. */
static char *make_signature(const vitc_graph *g) {
  strbuf b = {calloc(1, 256), 0, 256};
  for (int k = 0; k < g->ninputs + g->noutputs; k++) {
    bool is_out = k >= g->ninputs;
    const vitc_tensor *t = &g->tensors[is_out ? g->outputs[k - g->ninputs] : g->inputs[k]];
    sb_append(&b, is_out ? "out " : "in ", is_out ? 4 : 3);
    for (const char *c = t->name; *c; c++) {
      char esc[4];
      bool plain = *c > ' ' && *c != '%' && *c != 127;
      int n = plain ? snprintf(esc, sizeof esc, "%c", *c) : snprintf(esc, sizeof esc, "%%%02X", (unsigned char)*c);
      sb_append(&b, esc, (size_t)n);
    }
    char item[64 + 24 * VITC_MAX_RANK];
    int n = snprintf(item, sizeof item, " %s ", vitc_dtype_name(t->v.dtype));
    for (int d = 0; d < t->v.rank; d++)
      n += snprintf(item + n, sizeof item - (size_t)n, d ? "x%lld" : "%lld", (long long)t->v.dims[d]);
    n += snprintf(item + n, sizeof item - (size_t)n, "%s\n", t->v.rank ? "" : "scalar");
    sb_append(&b, item, (size_t)n);
  }
  return b.s;
}

/* ---------------------------------------------------------------- kernels
 *
 * Nodes whose kernels are the same code share one function: the ViT's twelve blocks are compiled once.
 * The emitter runs for every node (it is cheap next to LLVM's optimisation and code generation, and it
 * adds the node's constants to the blob and sizes its work space); then LLVM's MergeFunctions pass,
 * before any other (every MERGE_EVERY kernels as they are written, and once at the end), replaces every
 * function by another with the same IR (its exact structural comparison, not a key of the op's
 * attributes and shapes, makes sharing safe whatever an emitter bakes
 * into its code: constant values, loop bounds, packed layouts). What differs between the nodes of one
 * kernel comes in as arguments: tensor addresses, the node's share of the weights blob (cg_add_blob's
 * offsets are relative to it) and its work space. */

/* Without constant folding (-O0) nodes whose results shape inference already computed stay in the
 * graph: their kernel copies the known values. */
static bool all_outputs_known(const vitc_graph *g, const vitc_node *n) {
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= 0 && !g->tensors[n->out[k]].v.data) return false;
  return true;
}

static vitc_status emit_known_outputs(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  for (int k = 0; k < n->nout; k++) {
    const vitc_value *v = cg_out_value(cg, k);
    int64_t offset;
    if (!v) continue;
    vitc_status st = cg_add_blob(cg, v->data, vitc_nbytes(v), &offset, err);
    if (st) return st;
    cg_memcpy(cg, cg_out(cg, k), cg_blob_ptr(cg, offset), cg_i64(cg, (int64_t)vitc_nbytes(v)));
  }
  return VITC_OK;
}

/* Emitters read constants through typed pointers (GEMM panels, conv taps, biases): a constant read in
 * place from the model file where it is not aligned for its dtype (ir.h) is copied for the node's
 * emission only (cg->in_copies), into memory reused from node to node (cg->copy_buf), so that the copies
 * of a model's weights never add up and their pages are not zeroed again for each. */
static vitc_status align_node_inputs(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value **in = malloc(sizeof *in * ((size_t)n->nin + 1));
  if (!in) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int k = 0; k < n->nin; k++) in[k] = cg_in_value(cg, k); /* in_values is not set yet: the node's values */
  cg->in_copies = malloc(sizeof *cg->in_copies * ((size_t)n->nin + 1));
  cg->in_values = malloc(sizeof *cg->in_values * ((size_t)n->nin + 1));
  vitc_status st = !cg->in_copies || !cg->in_values
                       ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory")
                       : vitc_aligned_inputs(in, n->nin, cg->in_copies, cg->in_values, &cg->copy_buf, err);
  free(in);
  return st;
}

/* nparams pointer types (a function whose parameters are all pointers) and room for nargs call arguments;
 * non-zero, with nothing allocated, when out of memory. */
static int pointer_params(vitc_cg *cg, int nparams, int nargs, LLVMTypeRef **params, LLVMValueRef **args) {
  *params = malloc(sizeof **params * (size_t)nparams);
  *args = malloc(sizeof **args * (size_t)nargs);
  if (!*params || !*args) {
    free(*params);
    free(*args);
    return -1;
  }
  for (int k = 0; k < nparams; k++) (*params)[k] = cg->ptr;
  return 0;
}

/* The values of node i's inputs and outputs for one of its run's groups of rows (plan.h's row groups):
 * each tensor that is not a constant as [rows / groups, 1, …, 1, last dim], its rows being its leading
 * dims (row_groups.c takes only nodes that read and write along the last axis). */
static vitc_value *group_values(const vitc_graph *g, const vitc_row_groups *rg, int i) {
  const vitc_node *n = &g->nodes[i];
  vitc_value *v = malloc(sizeof *v * ((size_t)(n->nin + n->nout) + 1));
  for (int k = 0; v && k < n->nin + n->nout; k++) {
    int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
    if (t < 0) continue;
    v[k] = g->tensors[t].v;
    if (vitc_tensor_is_constant(g, t)) continue;
    int64_t last = v[k].dims[v[k].rank - 1];
    v[k].dims[0] = vitc_numel(&v[k]) / last / rg->groups[i];
    for (int d = 1; d + 1 < v[k].rank; d++) v[k].dims[d] = 1;
  }
  return v;
}

/* Emits node i's kernel as `internal void NAME.nI(ptr ctx, ptr constants, ptr in…, ptr out…, ptr scratch)`;
 * its constants start at *blob_base in the weights blob. A node of a run of row groups gets the kernel of
 * one group. */
static vitc_status emit_node(vitc_cg *cg, const vitc_row_groups *rg, int i, LLVMValueRef *fn_out, size_t *blob_base,
                             vitc_error *err) {
  const vitc_node *n = &cg->g->nodes[i];
  vitc_emit_fn emit = vitc_emitters[n->op];
  if (!emit && !all_outputs_known(cg->g, n)) {
    vitc_fail(err, VITC_ERR_UNSUPPORTED, "the LLVM backend has no code generator for %s yet (use --interp)",
              vitc_ops[n->op].name);
    vitc_node_error_prefix(cg->g, n, err);
    return err->status;
  }
  int nparams = 3 + n->nin + n->nout;
  LLVMTypeRef *params;
  LLVMValueRef *args;
  if (pointer_params(cg, nparams, nparams, &params, &args)) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  char name[300];
  snprintf(name, sizeof name, "%s.n%d", cg->name, i);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->void_t, params, (unsigned)nparams, false));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMSetUnnamedAddress(fn, LLVMGlobalUnnamedAddr); /* so that MergeFunctions may replace it outright */
  /* Optimised once, not again inside each caller: its arguments tell it all a caller could. */
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(cg->llvm, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  /* Kernels that only move or combine elements, and those whose emitters write their vector code
   * themselves (VECTORISED), are vectorised by their builders already: a clean-up (mem2reg, instcombine,
   * LICM) is all they need, and compiling them at O3 costs time for nothing. */
  if (vitc_op_has(n->op, VITC_OPF_MOVE) || vitc_op_has(n->op, VITC_OPF_VIEW) || vitc_op_has(n->op, VITC_OPF_ELEMWISE) ||
      vitc_op_has(n->op, VITC_OPF_ROWWISE) || vitc_op_has(n->op, VITC_OPF_VECTORISED))
    LLVMAddTargetDependentFunctionAttr(fn, VITC_OPT_LEVEL_ATTR, "1");
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int k = 2; k < nparams; k++)
    LLVMAddAttributeAtIndex(fn, (unsigned)k + 1, LLVMCreateEnumAttribute(cg->llvm, noalias, 0));
  for (int k = 0; k < nparams; k++) args[k] = LLVMGetParam(fn, (unsigned)k);
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  cg->node = n;
  cg->node_checks[i] = false;
  cg->fn = fn;
  cg->fresh = 0; /* task names NAME.nI.tJ */
  cg->ctx_arg = args[0];
  cg->weights = args[1];
  cg->blob_base = *blob_base = (cg->blob_size + 63) & ~(size_t)63;
  cg->args = args + 2;
  cg->scratch_arg = args[nparams - 1];
  vitc_value *grouped = rg->groups[i] > 1 ? group_values(cg->g, rg, i) : NULL;
  cg->grouped = grouped;
  vitc_status st = rg->groups[i] > 1 && !grouped ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory")
                                                  : align_node_inputs(cg, n, err);
  if (st == VITC_OK) st = all_outputs_known(cg->g, n) ? emit_known_outputs(cg, n, err) : emit(cg, n, err);
  cg->grouped = NULL;
  free(grouped);
  if (st == VITC_OK) LLVMBuildRetVoid(cg->b);
  else if (!strstr(err->msg, n->name)) vitc_node_error_prefix(cg->g, n, err);
  free(cg->in_copies);
  free(cg->in_values);
  cg->in_copies = NULL;
  cg->in_values = NULL;
  free(params);
  free(args);
  cg->args = NULL;
  cg->scratch_arg = NULL;
  cg->blob_base = 0;
  *fn_out = fn;
  return st;
}

/* The blob's written pages leave memory each time it grew this much: the code generation's peak holds all
 * the weights not yet compiled, LLVM's code and this much of the blob (ConvNeXt-T cold: 162 MB with 32 MB,
 * 155 MB with 4 MB; as fast: a few dozen madvise and malloc_trim calls). */
#define BLOB_DROP_STEP (4u << 20)

/* Constant t, as it is, into the blob (once): for a kernel that reads it unpacked. */
static vitc_status add_constant(vitc_cg *cg, int t, vitc_error *err) {
  const vitc_tensor *tt = &cg->g->tensors[t];
  if (cg->const_offset[t] >= 0) return VITC_OK;
  vitc_status st = cg_add_blob(cg, tt->v.data, vitc_nbytes(&tt->v), &cg->const_offset[t], err);
  if (st) vitc_error_prefix(err, "%s: constant '%s'", cg->g->path, tt->name);
  return st;
}

/* ---------------------------------------------------------------- constants given back once compiled
 *
 * With vitc_target_options.release_constants, a constant's memory goes back to the system after the last
 * node reading it is compiled: by then the emitters have packed what they read, and what a kernel reads
 * unpacked is in the blob (emit_kernels adds it there at once rather than when NAME_run is written). So
 * a model's constants shrink as its blob grows. Constants may share memory (a folded Reshape keeps its
 * input's data), so memory is given back by ranges: overlapping constants form one range, given back
 * after the last node reading any of them. Graph outputs are kept (NAME_run copies them). */

typedef struct const_range {
  uintptr_t start, end;
  int last; /* the last node reading it; INT_MAX: kept */
} const_range;

typedef struct releases {
  const_range *range; /* disjoint, by address */
  int nranges;
  int *of_tensor; /* per tensor: its range, -1 for none */
} releases;

static bool is_constant(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].producer < 0 && g->tensors[t].v.data && vitc_nbytes(&g->tensors[t].v);
}

static int by_start(const void *a, const void *b) {
  uintptr_t x = ((const const_range *)a)->start, y = ((const const_range *)b)->start;
  return (x > y) - (x < y);
}

/* The constants' ranges and their last readers; false when out of memory. */
static bool plan_releases(const vitc_graph *g, releases *r) {
  int nconst = 0;
  for (int t = 0; t < g->ntensors; t++) nconst += is_constant(g, t);
  r->range = malloc(sizeof *r->range * ((size_t)nconst + 1));
  r->of_tensor = malloc(sizeof *r->of_tensor * ((size_t)g->ntensors + 1));
  r->nranges = 0;
  if (!r->range || !r->of_tensor) return false;
  for (int t = 0; t < g->ntensors; t++)
    if (is_constant(g, t)) {
      uintptr_t start = (uintptr_t)g->tensors[t].v.data;
      r->range[r->nranges++] = (const_range){start, start + vitc_nbytes(&g->tensors[t].v), -1};
    }
  qsort(r->range, (size_t)r->nranges, sizeof *r->range, by_start);
  int n = 0; /* merge overlapping ranges */
  for (int k = 0; k < r->nranges; k++)
    if (n && r->range[k].start < r->range[n - 1].end) {
      if (r->range[k].end > r->range[n - 1].end) r->range[n - 1].end = r->range[k].end;
    } else {
      r->range[n++] = r->range[k];
    }
  r->nranges = n;
  for (int t = 0; t < g->ntensors; t++) { /* binary search: the last range starting at or before t's data */
    r->of_tensor[t] = -1;
    if (!is_constant(g, t)) continue;
    uintptr_t at = (uintptr_t)g->tensors[t].v.data;
    int lo = 0, hi = r->nranges - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (r->range[mid].start <= at) lo = mid;
      else hi = mid - 1;
    }
    r->of_tensor[t] = lo;
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && r->of_tensor[t] >= 0) r->range[r->of_tensor[t]].last = i;
    }
  for (int k = 0; k < g->noutputs; k++)
    if (r->of_tensor[g->outputs[k]] >= 0) r->range[r->of_tensor[g->outputs[k]]].last = INT_MAX;
  return true;
}

/* Gives back the ranges whose last reader is node i (-1: those no node reads). */
static void release_after(const vitc_graph *g, const releases *r, int i) {
  if (i < 0) {
    for (int k = 0; k < r->nranges; k++)
      if (r->range[k].last < 0) vitc_drop_pages((const void *)r->range[k].start, r->range[k].end - r->range[k].start);
    return;
  }
  for (int k = 0; k < g->nodes[i].nin; k++) {
    int t = g->nodes[i].in[k], x = t >= 0 ? r->of_tensor[t] : -1;
    if (x >= 0 && r->range[x].last == i) {
      vitc_drop_pages((const void *)r->range[x].start, r->range[x].end - r->range[x].start);
      r->range[x].last = -2; /* given back (a node may read one range twice) */
    }
  }
}

/* ---------------------------------------------------------------- equal kernels merged as they are written
 *
 * Every MERGE_EVERY kernels, MergeFunctions runs over the module, so that the IR of a graph's equal
 * kernels is not all held at once (a chain of 50,000 Relu and Neg nodes wrote 50,000 functions for 2
 * kernels). It replaces a function by an equal one outright, whichever it keeps: the kernels written so
 * far (one per set of equal ones, `live`) are held in a global array for the run, which it updates, and
 * read back from it. Each node's kernel is found through `same` (union-find over the kernels written). */

enum { MERGE_EVERY = 64 };

typedef struct kernel_table {
  LLVMValueRef *fn; /* per kernel written: its function, while it is live */
  int *same;        /* per kernel written: an equal kernel written before it, or itself */
  int *live, nlive, n;
} kernel_table;

static int kernel_find(const kernel_table *k, int x) {
  while (k->same[x] != x) x = k->same[x] = k->same[k->same[x]];
  return x;
}

/* Merges the live kernels that are equal. */
static vitc_status merge_live(vitc_cg *cg, LLVMTargetMachineRef tm, kernel_table *k, vitc_error *err) {
  LLVMValueRef *fns = malloc(sizeof *fns * ((size_t)k->nlive + 1));
  if (!fns) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int j = 0; j < k->nlive; j++) fns[j] = k->fn[k->live[j]];
  LLVMValueRef table = LLVMConstArray(cg->ptr, fns, (unsigned)k->nlive);
  LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(table), "vitc.kernels");
  LLVMSetInitializer(gv, table);
  LLVMSetLinkage(gv, LLVMInternalLinkage);
  vitc_status st = vitc_llvm_run_passes(cg->mod, "mergefunc", tm, err);
  table = LLVMGetInitializer(gv);
  int kept = 0;
  for (int j = 0; !st && j < k->nlive; j++) {
    LLVMValueRef f = LLVMGetOperand(table, (unsigned)j);
    int first = 0;
    while (first < kept && k->fn[k->live[first]] != f) first++;
    if (first < kept) {
      k->same[k->live[j]] = k->live[first];
    } else {
      k->fn[k->live[j]] = f;
      k->live[kept++] = k->live[j];
    }
  }
  if (!st) k->nlive = kept;
  LLVMDeleteGlobal(gv);
  free(fns);
  return st;
}

/* Every node's kernel (node_fn[i], NULL for a view: it shares its input's memory, plan.h), and where each
 * node's constants start in the blob (node_blob[i]). The constants a kernel reads unpacked go into the
 * blob with it. */
static vitc_status emit_kernels(vitc_cg *cg, LLVMTargetMachineRef tm, const vitc_row_groups *rg, LLVMValueRef *node_fn,
                                size_t *node_blob, vitc_error *err) {
  const vitc_graph *g = cg->g;
  releases r = {0};
  bool release = cg->target->release_constants;
  size_t nn = (size_t)g->nnodes + 1;
  int *node_kernel = malloc(sizeof *node_kernel * nn);
  kernel_table k = {.fn = malloc(sizeof *k.fn * nn), .same = malloc(sizeof *k.same * nn),
                    .live = malloc(sizeof *k.live * nn)};
  vitc_status st = (release && !plan_releases(g, &r)) || !node_kernel || !k.fn || !k.same || !k.live
                       ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory")
                       : VITC_OK;
  if (release && !st) release_after(g, &r, -1);
  size_t dropped_at = 0; /* blob size when the model file's pages were last dropped */
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    node_kernel[i] = -1;
    if (vitc_view_base(g, i) < 0) st = emit_node(cg, rg, i, &node_fn[i], &node_blob[i], err);
    for (int j = 0; node_fn[i] && j < g->nodes[i].nin && st == VITC_OK; j++)
      if (is_constant(g, g->nodes[i].in[j]) && LLVMGetFirstUse(LLVMGetParam(node_fn[i], (unsigned)(2 + j))))
        st = add_constant(cg, g->nodes[i].in[j], err);
    if (node_fn[i] && st == VITC_OK) {
      k.fn[k.n] = node_fn[i];
      k.same[k.n] = k.n;
      k.live[k.nlive++] = node_kernel[i] = k.n++;
      if (k.n % MERGE_EVERY == 0) st = merge_live(cg, tm, &k, err);
    }
    if (release && st == VITC_OK) release_after(g, &r, i);
    /* The aligned copies' memory (cg->copy_buf) stays resident for the next node, unless the blob is in
     * memory: beside a blob that only grows it would add the largest weight to the compilation's peak
     * (`vitc compile` of ViT-B/16: 9 MB). */
    if (!cg->blob_in_file) vitc_drop_pages(cg->copy_buf.data, cg->copy_buf.cap);
    /* Constants read from the mapped model file are in the blob now (as they are, or packed): their
     * pages need not stay resident beside it. A constant read again later is mapped again. The emitters'
     * scratch buffers and the kernels merged away are freed heap memory, which goes back too. */
    if (cg->blob_size - dropped_at > BLOB_DROP_STEP) {
      vitc_graph_drop_mapped_pages(g);
      cg_drop_blob_pages(cg);
      vitc_give_back_heap();
      dropped_at = cg->blob_size;
    }
    if (cg->target->progress) cg->target->progress(cg->target->progress_user, "kernels", i + 1, g->nnodes);
  }
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++)
    node_fn[i] = node_kernel[i] < 0 ? NULL : k.fn[kernel_find(&k, node_kernel[i])];
  free(node_kernel);
  free(k.fn);
  free(k.same);
  free(k.live);
  free(r.range);
  free(r.of_tensor);
  return st;
}

/* Node kernels left after merging: NAME.nI, not their tasks NAME.nI.tJ. */
static int count_kernels(const vitc_module *m) {
  size_t prefix = strlen(m->name), len;
  int n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) {
    const char *name = LLVMGetValueName2(f, &len);
    n += len > prefix + 2 && !strncmp(name, m->name, prefix) && !strncmp(name + prefix, ".n", 2) &&
         !strchr(name + prefix + 2, '.');
  }
  return n;
}

/* ---------------------------------------------------------------- NAME_run
 *
 * NAME_run calls NAME.partP(ctx, in…, out…) for each run of NODES_PER_PART nodes, which call the nodes'
 * kernels: LLVM's passes and instruction selection take time that grows faster than a function's size,
 * so no function grows with the graph. */

#define NODES_PER_PART 256

static LLVMValueRef add_constant_bytes(vitc_cg *cg, const char *name, const void *data, size_t n) {
  LLVMValueRef init = LLVMConstStringInContext(cg->llvm, data, (unsigned)n, true);
  LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, true);
  LLVMSetAlignment(gv, 1);
  return gv;
}

typedef struct entry_state {
  LLVMValueRef weights, scratch, fn, ctx; /* of the function being written (a part or NAME_run) */
  int part;                               /* its number: tensor_ptr is valid within one function */
  LLVMValueRef *tensor_ptr;               /* address of each tensor in that function, filled lazily */
  int *ptr_part;                          /* the function tensor_ptr[t] belongs to */
  int *io_param;                          /* per tensor: its parameter (1 + input or output index), 0 if none */
  size_t *offsets;                        /* of the scratch tensors in the arena */
  size_t *node_offsets;                   /* of the nodes' work spaces */
  /* The nodes' labels for vitc_rt_node_done, one string after another in one constant (one symbol for
   * the JIT to link, not one per node: 50,000 of them took ~250 MB to link), pointed at through a
   * stand-in until the text is complete. */
  strbuf labels;
  LLVMValueRef labels_gv;
} entry_state;

static vitc_status tensor_address(vitc_cg *cg, entry_state *es, int t, LLVMValueRef *out, vitc_error *err) {
  if (es->ptr_part[t] == es->part) {
    *out = es->tensor_ptr[t];
    return VITC_OK;
  }
  const vitc_graph *g = cg->g;
  const vitc_tensor *tt = &g->tensors[t];
  LLVMValueRef p = es->io_param[t] ? LLVMGetParam(es->fn, (unsigned)es->io_param[t]) : NULL;
  if (!p && tt->producer < 0) {
    if (!tt->v.data)
      return vitc_fail(err, VITC_ERR_INTERNAL, "%s: tensor '%s' has neither producer nor value", g->path, tt->name);
    vitc_status st = add_constant(cg, t, err);
    if (st) return st;
    p = cg_gep(cg, cg->i8, es->weights, cg_i64(cg, cg->const_offset[t]));
  }
  if (!p) p = cg_gep(cg, cg->i8, es->scratch, cg_i64(cg, (int64_t)es->offsets[t]));
  es->tensor_ptr[t] = p;
  es->ptr_part[t] = es->part;
  *out = p;
  return VITC_OK;
}

/* The parameter of NAME_run each tensor is: a graph input, or an output its producer writes in place
 * (outputs that are inputs or constants are copied, emit_output_copies). */
static void map_io_params(const vitc_graph *g, int *io_param) {
  for (int k = g->noutputs - 1; k >= 0; k--)
    if (g->tensors[g->outputs[k]].producer >= 0) io_param[g->outputs[k]] = 1 + g->ninputs + k;
  for (int k = g->ninputs - 1; k >= 0; k--) io_param[g->inputs[k]] = 1 + k;
}

/* A field of the runtime context (runtime/vitc_rt.h: pointer-sized fields at fixed indices). */
static LLVMValueRef load_ctx_field(vitc_cg *cg, LLVMValueRef ctx, int field) {
  return vec_load1(cg, cg->ptr, cg_gep(cg, cg->ptr, ctx, cg_i64(cg, field)));
}

/* Continues writing fn (NAME_run or a part) at the end of its last block. */
static void begin_function(vitc_cg *cg, entry_state *es, LLVMValueRef fn) {
  LLVMBasicBlockRef bb = LLVMGetLastBasicBlock(fn);
  LLVMPositionBuilderAtEnd(cg->b, bb ? bb : LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  es->fn = fn;
  es->part++;
  es->ctx = LLVMGetParam(fn, 0);
  es->weights = load_ctx_field(cg, es->ctx, VITC_RT_CTX_WEIGHTS);
  es->scratch = load_ctx_field(cg, es->ctx, VITC_RT_CTX_SCRATCH);
}

/* if (status) return status; the builder continues after it. */
static void return_if_nonzero(vitc_cg *cg, LLVMValueRef fn, LLVMValueRef status) {
  LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(cg->llvm, fn, "failed");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->llvm, fn, "next");
  LLVMBuildCondBr(cg->b, vec_icmp(cg, LLVMIntNE, status, cg_i32(cg, 0)), fail, next);
  LLVMPositionBuilderAtEnd(cg->b, fail);
  LLVMBuildRet(cg->b, status);
  LLVMPositionBuilderAtEnd(cg->b, next);
}

/* The arguments of node i's kernel fn: ctx, constants, in…, out…, scratch. */
static vitc_status node_args(vitc_cg *cg, entry_state *es, int i, LLVMValueRef fn, const size_t *node_blob,
                             LLVMValueRef *args, vitc_error *err) {
  const vitc_graph *g = cg->g;
  const vitc_node *n = &g->nodes[i];
  args[0] = es->ctx;
  args[1] = cg_gep(cg, cg->i8, es->weights, cg_i64(cg, (int64_t)node_blob[i]));
  for (int k = 0; k < n->nin + n->nout; k++) {
    int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
    /* A kernel that never reads a constant input (it packed its own copy, e.g. GEMM panels) does not
     * get it, so the raw data stays out of the weights blob. */
    bool unused = !LLVMGetFirstUse(LLVMGetParam(fn, (unsigned)(2 + k)));
    vitc_status st = VITC_OK;
    if (t < 0 || (unused && k < n->nin && g->tensors[t].producer < 0)) args[2 + k] = LLVMConstNull(cg->ptr);
    else st = tensor_address(cg, es, t, &args[2 + k], err);
    if (st) return st;
  }
  args[2 + n->nin + n->nout] = cg->node_scratch[i]
                                   ? cg_gep(cg, cg->i8, es->scratch, cg_i64(cg, (int64_t)es->node_offsets[i]))
                                   : LLVMConstNull(cg->ptr);
  return VITC_OK;
}

/* vitc_rt_node_done for node i, its kernel's time start_ns ago; then, if its kernel may record an error,
 * the run's return when it did. */
static void emit_node_done(vitc_cg *cg, entry_state *es, int i, LLVMValueRef start) {
  const vitc_node *n = &cg->g->nodes[i];
  char label[300];
  snprintf(label, sizeof label, "%s (%s)", n->name, vitc_ops[n->op].name);
  LLVMValueRef at = cg_gep(cg, cg->i8, es->labels_gv, cg_i64(cg, (int64_t)es->labels.len));
  sb_append(&es->labels, label, strlen(label) + 1);
  LLVMValueRef done[4] = {es->ctx, cg_i32(cg, i), at, start};
  cg_call(cg, "vitc_rt_node_done", cg->void_t, done, 4);
  if (cg->node_checks[i]) { /* a bad index stops the run here, before anything reads this node's output */
    snprintf(label, sizeof label, "node '%s' (%s)", n->name, vitc_ops[n->op].name);
    LLVMValueRef failed_args[2] = {es->ctx, LLVMBuildGlobalStringPtr(cg->b, label, "node")};
    LLVMValueRef failed = cg_call(cg, "vitc_rt_node_failed", cg->i32, failed_args, 2);
    return_if_nonzero(cg, es->fn, failed);
  }
}

/* NAME.nK(ctx, constants, in…, out…, scratch) between the timing calls (vitc_rt_node_start). */
static vitc_status emit_node_call(vitc_cg *cg, entry_state *es, int i, LLVMValueRef fn, const size_t *node_blob,
                                  LLVMValueRef *args, vitc_error *err) {
  const vitc_node *n = &cg->g->nodes[i];
  vitc_status st = node_args(cg, es, i, fn, node_blob, args, err);
  if (st) return st;
  LLVMValueRef start = cg_call(cg, "vitc_rt_node_start", cg->i64, &es->ctx, 1);
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)(3 + n->nin + n->nout), "");
  emit_node_done(cg, es, i, start);
  return VITC_OK;
}

/* The run of row groups starting at node `first` (plan.h): for each group of rows, every node of the run
 * on that group (its tensors' addresses that many groups further, but for constants and one-group
 * tensors). Each node's times over the groups are summed and reported once, after the run, so that a
 * trace still sees each node once per run and in order. */
static vitc_status emit_group_run(vitc_cg *cg, entry_state *es, const vitc_row_groups *rg, int first,
                                  LLVMValueRef *node_fn, const size_t *node_blob, LLVMValueRef *args, vitc_error *err) {
  const vitc_graph *g = cg->g;
  int last = rg->last[first];
  cg_mut *spent = malloc(sizeof *spent * (size_t)(last - first + 1));
  if (!spent) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_status st = VITC_OK;
  /* every address before the loop: made inside it, it would not reach the uses after it */
  for (int j = first; j <= last && st == VITC_OK; j++) {
    spent[j - first] = cg_mut_new(cg, cg->i64, cg_i64(cg, 0));
    if (node_fn[j]) st = node_args(cg, es, j, node_fn[j], node_blob, args, err);
  }
  cg_loop group = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rg->groups[first]), 1);
  for (int j = first; j <= last && st == VITC_OK; j++) {
    const vitc_node *n = &g->nodes[j];
    if (!node_fn[j] || (st = node_args(cg, es, j, node_fn[j], node_blob, args, err))) continue;
    for (int k = 0; k < n->nin + n->nout; k++) {
      int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
      if (t < 0 || is_constant(g, t) || rg->one_group[t]) continue;
      int64_t bytes = (int64_t)vitc_nbytes(&g->tensors[t].v) / rg->groups[j];
      args[2 + k] = cg_gep(cg, cg->i8, args[2 + k], ix_mulk(cg, group.iv, bytes));
    }
    LLVMValueRef start = cg_call(cg, "vitc_rt_node_start", cg->i64, &es->ctx, 1);
    LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(node_fn[j]), node_fn[j], args, (unsigned)(3 + n->nin + n->nout), "");
    LLVMValueRef took = ix_sub(cg, cg_call(cg, "vitc_rt_node_start", cg->i64, &es->ctx, 1), start);
    cg_set(cg, spent[j - first], ix_add(cg, cg_get(cg, spent[j - first]), took));
  }
  cg_loop_end(cg, &group);
  for (int j = first; j <= last && st == VITC_OK; j++)
    if (node_fn[j]) {
      LLVMValueRef now = cg_call(cg, "vitc_rt_node_start", cg->i64, &es->ctx, 1);
      emit_node_done(cg, es, j, ix_sub(cg, now, cg_get(cg, spent[j - first])));
    }
  free(spent);
  return st;
}

/* Outputs not written by a node in place: graph inputs, constants, and repeats of an earlier output. */
static vitc_status emit_output_copies(vitc_cg *cg, entry_state *es, vitc_error *err) {
  const vitc_graph *g = cg->g;
  for (int k = 0; k < g->noutputs; k++) {
    int t = g->outputs[k];
    if (es->io_param[t] == 1 + g->ninputs + k) continue;
    LLVMValueRef src;
    vitc_status st = tensor_address(cg, es, t, &src, err);
    if (st) return st;
    cg_memcpy(cg, LLVMGetParam(es->fn, (unsigned)(1 + g->ninputs + k)), src,
              cg_i64(cg, (int64_t)vitc_nbytes(&g->tensors[t].v)));
  }
  return VITC_OK;
}

/* i32 NAME_run_batch(ptr ctx, i64 n, ptr in0, …, ptr out0, …) for a graph of one image of a symbolic batch
 * (vitc_graph_per_image): image i is NAME_run on the i-th per-image slice of every buffer, stopping at the
 * first failure. Each image's products keep the rows of one image, whose weights stay in cache across the
 * layers of a block; one run of the batch-n graph would fold the images into the rows instead. */
static void emit_run_batch(vitc_cg *cg, LLVMValueRef run, LLVMTypeRef *params, LLVMValueRef *args) {
  const vitc_graph *g = cg->g;
  int nio = g->ninputs + g->noutputs;
  char name[300];
  snprintf(name, sizeof name, "%s_run_batch", cg->name);
  params[1] = cg->i64;
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->i32, params, (unsigned)(2 + nio), false));
  params[1] = cg->ptr;
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  cg_loop images = cg_loop_begin(cg, cg_i64(cg, 0), LLVMGetParam(fn, 1), 1);
  args[0] = LLVMGetParam(fn, 0);
  for (int k = 0; k < nio; k++) {
    int t = k < g->ninputs ? g->inputs[k] : g->outputs[k - g->ninputs];
    LLVMValueRef offset = ix_mul(cg, images.iv, cg_i64(cg, (int64_t)vitc_nbytes(&g->tensors[t].v)));
    args[1 + k] = cg_gep(cg, cg->i8, LLVMGetParam(fn, (unsigned)(2 + k)), offset);
  }
  return_if_nonzero(cg, fn, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(run), run, args, (unsigned)(1 + nio), ""));
  cg_loop_end(cg, &images);
  LLVMBuildRet(cg->b, cg_i32(cg, 0));
}

/* NAME_run and its parts, calling the node kernels (node_fn) in graph order. */
static vitc_status emit_run(vitc_cg *cg, entry_state *es, const vitc_row_groups *rg, LLVMValueRef *node_fn,
                            const size_t *node_blob, vitc_error *err) {
  const vitc_graph *g = cg->g;
  int nparams = 1 + g->ninputs + g->noutputs, max_args = 3;
  for (int i = 0; i < g->nnodes; i++)
    if (3 + g->nodes[i].nin + g->nodes[i].nout > max_args) max_args = 3 + g->nodes[i].nin + g->nodes[i].nout;
  LLVMTypeRef *params;
  LLVMValueRef *args;
  /* one parameter more for NAME_run_batch's image count */
  if (pointer_params(cg, nparams + 1, max_args > nparams ? max_args : nparams, &params, &args))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  char name[300];
  snprintf(name, sizeof name, "%s_run", cg->name);
  LLVMValueRef run = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->i32, params, (unsigned)nparams, false));
  /* NAME_run and its parts only call kernels: a clean-up is all they need (O3 took Swin-T's ~30 ms) */
  LLVMAddTargetDependentFunctionAttr(run, VITC_OPT_LEVEL_ATTR, "1");
  LLVMTypeRef part_type = LLVMFunctionType(cg->i32, params, (unsigned)nparams, false);
  unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
  vitc_status st = VITC_OK;
  snprintf(name, sizeof name, "%s.labels.pending", cg->name);
  es->labels_gv = LLVMAddGlobal(cg->mod, cg->i8, name);
  begin_function(cg, es, run);
  cg_call(cg, "vitc_rt_run_begin", cg->void_t, &es->ctx, 1);
  for (int first = 0, next, nparts = 0; first < g->nnodes && st == VITC_OK; first = next) {
    snprintf(name, sizeof name, "%s.part%d", cg->name, nparts++);
    LLVMValueRef part = LLVMAddFunction(cg->mod, name, part_type);
    LLVMSetLinkage(part, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(part, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->llvm, noinline, 0));
    LLVMAddTargetDependentFunctionAttr(part, VITC_OPT_LEVEL_ATTR, "1");
    begin_function(cg, es, part);
    /* a run of row groups is never cut between parts */
    for (next = first; next < g->nnodes && next < first + NODES_PER_PART && st == VITC_OK; next = rg->last[next] + 1)
      if (rg->groups[next] > 1) st = emit_group_run(cg, es, rg, next, node_fn, node_blob, args, err);
      else if (node_fn[next]) st = emit_node_call(cg, es, next, node_fn[next], node_blob, args, err);
    LLVMBuildRet(cg->b, cg_i32(cg, 0));
    begin_function(cg, es, run);
    for (int k = 0; k < nparams; k++) args[k] = LLVMGetParam(run, (unsigned)k);
    return_if_nonzero(cg, run, LLVMBuildCall2(cg->b, part_type, part, args, (unsigned)nparams, ""));
  }
  if (st == VITC_OK && !es->labels.s) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (st == VITC_OK) {
    snprintf(name, sizeof name, "%s.labels", cg->name);
    LLVMValueRef labels = add_constant_bytes(cg, name, es->labels.s, es->labels.len);
    LLVMSetLinkage(labels, LLVMPrivateLinkage);
    LLVMReplaceAllUsesWith(es->labels_gv, labels);
    LLVMDeleteGlobal(es->labels_gv);
  }
  begin_function(cg, es, run);
  if (st == VITC_OK) st = emit_output_copies(cg, es, err);
  if (st == VITC_OK) LLVMBuildRet(cg->b, cg_i32(cg, 0));
  if (st == VITC_OK && vitc_graph_per_image(g)) emit_run_batch(cg, run, params, args);
  free(params);
  free(args);
  return st;
}

/* The kernels, the arena's plan (its size to *scratch_size), and NAME_run calling them. */
static vitc_status emit_entry(vitc_cg *cg, LLVMTargetMachineRef tm, size_t *scratch_size, vitc_error *err) {
  const vitc_graph *g = cg->g;
  size_t nt = (size_t)g->ntensors + 1, nn = (size_t)g->nnodes + 1;
  entry_state es = {.tensor_ptr = malloc(sizeof *es.tensor_ptr * nt), .ptr_part = calloc(nt, sizeof *es.ptr_part),
                    .io_param = calloc(nt, sizeof *es.io_param), .offsets = malloc(sizeof *es.offsets * nt),
                    .node_offsets = malloc(sizeof *es.node_offsets * nn), .labels = {malloc(4096), 0, 4096}};
  LLVMValueRef *node_fn = calloc(nn, sizeof *node_fn);
  size_t *node_blob = calloc(nn, sizeof *node_blob);
  vitc_row_groups rg = {0};
  vitc_status st = VITC_OK;
  if (!es.tensor_ptr || !es.ptr_part || !es.io_param || !es.offsets || !es.node_offsets || !node_fn || !node_blob)
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!st && !(st = vitc_plan_row_groups(g, cg->target->row_group_bytes, &rg, err)) &&
      !(st = emit_kernels(cg, tm, &rg, node_fn, node_blob, err)) &&
      !(st = vitc_plan_memory(g, cg->node_scratch, &rg, es.offsets, es.node_offsets, scratch_size, err))) {
    map_io_params(g, es.io_param);
    st = emit_run(cg, &es, &rg, node_fn, node_blob, err);
  }
  vitc_row_groups_free(&rg);
  free(es.tensor_ptr);
  free(es.ptr_part);
  free(es.io_param);
  free(es.offsets);
  free(es.node_offsets);
  free(es.labels.s);
  free(node_fn);
  free(node_blob);
  return st;
}

/* In a NAME_create*: returns NULL unless this CPU has every feature the code was built for (an object
 * built for AVX-512 refuses on an AVX2 machine with the feature's name instead of dying of SIGILL). */
static void emit_cpu_check(vitc_cg *cg, LLVMValueRef features, LLVMValueRef err, LLVMValueRef errlen) {
  LLVMValueRef args[3] = {features, err, errlen}, fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(cg->b));
  LLVMValueRef failed = vec_icmp(cg, LLVMIntNE, cg_call(cg, "vitc_rt_require_cpu", cg->i32, args, 3), cg_i32(cg, 0));
  LLVMBasicBlockRef refuse = LLVMAppendBasicBlockInContext(cg->llvm, fn, "refuse");
  LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(cg->llvm, fn, "go");
  LLVMBuildCondBr(cg->b, failed, refuse, go);
  LLVMPositionBuilderAtEnd(cg->b, refuse);
  LLVMBuildRet(cg->b, LLVMConstNull(cg->ptr));
  LLVMPositionBuilderAtEnd(cg->b, go);
}

/* NAME_create / NAME_create_mapped / NAME_destroy, NAME_signature, NAME_cpu_features and NAME_precision.
 * Returns the global NAME_create_mapped reads the weights' hash from (NULL with embedded weights): its
 * value is set once the hash is known (hash_blob). */
static LLVMValueRef emit_context_api(vitc_cg *cg, vitc_module *m, bool embed_weights) {
  LLVMValueRef hash = NULL;
  char name[300];
  LLVMValueRef args[7];
  snprintf(name, sizeof name, "%s_cpu_features", cg->name);
  LLVMValueRef features = add_constant_bytes(cg, name, m->cpu_features, strlen(m->cpu_features) + 1);
  if (embed_weights) {
    /* Zeros of the blob's size, in a section of their own: vitc_emit writes the blob over them in the
     * object file (an LLVM constant would copy it, and the assembler again). Externally initialised, so
     * that no pass reads the zeros as the weights' values. */
    snprintf(name, sizeof name, "%s_weights", cg->name);
    LLVMValueRef blob = LLVMAddGlobal(cg->mod, LLVMArrayType(cg->i8, (unsigned)(m->weights_size ? m->weights_size : 1)),
                                      name);
    LLVMSetInitializer(blob, LLVMConstNull(LLVMGlobalGetValueType(blob)));
    LLVMSetGlobalConstant(blob, true);
    LLVMSetExternallyInitialized(blob, true);
    LLVMSetAlignment(blob, 64);
    snprintf(name, sizeof name, VITC_WEIGHTS_SECTION "%s_weights", cg->name);
    LLVMSetSection(blob, name);
    LLVMSetLinkage(blob, LLVMInternalLinkage);
    m->weights_gv = blob;
    snprintf(name, sizeof name, "%s_create_threads", cg->name);
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, &cg->i32, 1, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
    emit_cpu_check(cg, features, LLVMConstNull(cg->ptr), cg_i64(cg, 0));
    args[0] = cg_i64(cg, (int64_t)m->scratch_size);
    args[1] = blob;
    args[2] = LLVMGetParam(fn, 0);
    LLVMBuildRet(cg->b, cg_call(cg, "vitc_rt_ctx_new", cg->ptr, args, 3));
    snprintf(name, sizeof name, "%s_create", cg->name); /* the runtime's default thread count */
    LLVMValueRef plain = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, NULL, 0, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, plain, "entry"));
    args[0] = cg_i32(cg, 0);
    LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, 1, ""));
  } else {
    snprintf(name, sizeof name, "%s_create_mapped_threads", cg->name);
    LLVMTypeRef params[4] = {cg->ptr, cg->i32, cg->ptr, cg->i64};
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, params, 4, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
    emit_cpu_check(cg, features, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    args[0] = cg_i64(cg, (int64_t)m->scratch_size);
    args[1] = LLVMGetParam(fn, 0);
    args[2] = cg_i64(cg, (int64_t)m->weights_size);
    snprintf(name, sizeof name, "%s.weights_hash", cg->name);
    hash = LLVMAddGlobal(cg->mod, cg->i64, name);
    LLVMSetInitializer(hash, cg_i64(cg, 0));
    LLVMSetLinkage(hash, LLVMInternalLinkage);
    args[3] = LLVMBuildLoad2(cg->b, cg->i64, hash, "");
    args[4] = LLVMGetParam(fn, 1);
    args[5] = LLVMGetParam(fn, 2);
    args[6] = LLVMGetParam(fn, 3);
    LLVMBuildRet(cg->b, cg_call(cg, "vitc_rt_ctx_new_mapped", cg->ptr, args, 7));
    snprintf(name, sizeof name, "%s_create_mapped", cg->name);
    LLVMTypeRef plain_params[3] = {cg->ptr, cg->ptr, cg->i64};
    LLVMValueRef plain = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, plain_params, 3, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, plain, "entry"));
    LLVMValueRef pass[4] = {LLVMGetParam(plain, 0), cg_i32(cg, 0), LLVMGetParam(plain, 1), LLVMGetParam(plain, 2)};
    LLVMBuildRet(cg->b, LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, pass, 4, ""));
  }
  snprintf(name, sizeof name, "%s_destroy", cg->name);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->void_t, &cg->ptr, 1, false));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  args[0] = LLVMGetParam(fn, 0);
  cg_call(cg, "vitc_rt_ctx_free", cg->void_t, args, 1);
  LLVMBuildRetVoid(cg->b);
  snprintf(name, sizeof name, "%s_last_error", cg->name);
  fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, &cg->ptr, 1, false));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  args[0] = LLVMGetParam(fn, 0);
  LLVMBuildRet(cg->b, cg_call(cg, "vitc_rt_error", cg->ptr, args, 1));
  snprintf(name, sizeof name, "%s_signature", cg->name);
  add_constant_bytes(cg, name, m->signature, strlen(m->signature) + 1);
  /* which arithmetic the products use, so that a caller can tell a bf16 object from a float32 one */
  snprintf(name, sizeof name, "%s_precision", cg->name);
  const char *precision = cg->g->precision == VITC_PRECISION_BF16 ? "bf16" : "fp32";
  add_constant_bytes(cg, name, precision, strlen(precision) + 1);
  return hash;
}

/* An empty module for tm in a context ORC owns from the start, so that the JIT can take it as it is. */
static void create_module(vitc_module *m, LLVMTargetMachineRef tm) {
  m->tsc = LLVMOrcCreateNewThreadSafeContext();
  m->llvm = LLVMOrcThreadSafeContextGetContext(m->tsc);
  m->mod = LLVMModuleCreateWithNameInContext(m->name, m->llvm);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(m->mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  char *layout_str = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(m->mod, layout_str);
  LLVMDisposeMessage(layout_str);
  LLVMDisposeTargetData(layout);
}

static void init_cg(vitc_cg *cg, const vitc_graph *g, vitc_module *m) {
  cg->g = g;
  cg->llvm = m->llvm;
  cg->mod = m->mod;
  cg->b = LLVMCreateBuilderInContext(m->llvm);
  cg->name = m->name;
  cg->void_t = LLVMVoidTypeInContext(m->llvm);
  cg->ptr = LLVMPointerTypeInContext(m->llvm, 0);
  cg->i1 = LLVMInt1TypeInContext(m->llvm);
  cg->i8 = LLVMInt8TypeInContext(m->llvm);
  cg->i16 = LLVMInt16TypeInContext(m->llvm);
  cg->i32 = LLVMInt32TypeInContext(m->llvm);
  cg->i64 = LLVMInt64TypeInContext(m->llvm);
  cg->f16 = LLVMHalfTypeInContext(m->llvm);
  cg->f32 = LLVMFloatTypeInContext(m->llvm);
  cg->f64 = LLVMDoubleTypeInContext(m->llvm);
}

/* Verifies the module and merges equal kernels (counting what is left). */
static vitc_status merge_kernels(const vitc_graph *g, vitc_module *m, LLVMTargetMachineRef tm, vitc_error *err) {
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    vitc_status st = vitc_fail(err, VITC_ERR_INTERNAL, "%s: generated LLVM IR does not verify: %.700s", g->path, msg);
    LLVMDisposeMessage(msg);
    return st;
  }
  LLVMDisposeMessage(msg);
  vitc_status st = vitc_llvm_run_passes(m->mod, "mergefunc", tm, err);
  if (!st) m->nkernels = count_kernels(m);
  return st;
}

static vitc_status check_static(const vitc_graph *g, vitc_error *err) {
  int dynamic = vitc_graph_first_dynamic_node(g);
  if (dynamic < 0) return vitc_verify(g, true, err);
  const vitc_node *n = &g->nodes[dynamic];
  return vitc_fail(err, VITC_ERR_DATA_DEPENDENT,
                   "%s: node '%s' (%s): its shapes depend on values known only at run time; compiled code "
                   "needs static shapes (make those inputs constants, or use the evaluator: --interp)",
                   g->path, n->name, vitc_ops[n->op].name);
}

vitc_status vitc_codegen(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm, int opt_level,
                         bool embed_weights, vitc_module **out, vitc_error *err) {
  vitc_target_options t = {.opt_level = opt_level};
  return vitc_codegen_for(g, name, tm, &t, embed_weights, out, err);
}

vitc_status vitc_codegen_for(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm,
                             const vitc_target_options *t, bool embed_weights, vitc_module **out, vitc_error *err) {
  vitc_status st = vitc_codegen_ir(g, name, tm, t, embed_weights, out, err);
  if (st) return st;
  if (t->progress) t->progress(t->progress_user, "optimising", 0, 0);
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", t->opt_level < 0 ? 0 : t->opt_level > 3 ? 3 : t->opt_level);
  vitc_stage_time since = vitc_stage_clock();
  st = vitc_llvm_run_passes((*out)->mod, passes, tm, err);
  vitc_stage_add(&(*out)->times.optimise, since);
  if (st) {
    vitc_module_free(*out);
    *out = NULL;
  }
  return st;
}

/* A blob in a file is hashed a piece at a time, each piece's pages given back once read: all of it would
 * otherwise come back into memory at once, beside the module's IR. */
static void drop_hashed(void *user, const void *start, size_t bytes) {
  (void)user;
  vitc_drop_pages(start, bytes);
}

/* The finished blob's hash, computed on a thread of its own while equal kernels are merged: both are
 * serial work (Swin-T: 23 ms hashing, 21 ms merging), which would otherwise leave a core idle before the
 * compilation runs on all of them. */
typedef struct blob_hash {
  const vitc_module *m;
  uint64_t hash;
  pthread_t thread;
  bool joinable;
} blob_hash;

static void *hash_blob(void *arg) {
  blob_hash *h = arg;
  h->hash = vitc_rt_hash_pieces(h->m->weights, h->m->weights_size, BLOB_DROP_STEP,
                                h->m->weights_mapping_len ? drop_hashed : NULL, NULL);
  return NULL;
}

vitc_status vitc_codegen_ir(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm,
                            const vitc_target_options *t, bool embed_weights, vitc_module **out, vitc_error *err) {
  *out = NULL;
  vitc_status st = check_static(g, err);
  if (st) return st;
  vitc_int8_dot int8_dot = vitc_target_int8_dot(tm);
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == VITC_OP_Int8Gemm && int8_dot == VITC_INT8_NONE)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED,
                       "%s: node '%s' (Int8Gemm) needs an x86-64 target with avx2 (vpmaddwd) or avx512vnni; this "
                       "target lacks them (choose a CPU or features that have one, or --disable-pass fuse_qdq)",
                       g->path, g->nodes[i].name);
  vitc_module *m = calloc(1, sizeof *m);
  vitc_cg cg = {0};
  cg.const_offset = malloc(sizeof(int64_t) * ((size_t)g->ntensors + 1));
  cg.node_scratch = calloc((size_t)g->nnodes + 1, sizeof *cg.node_scratch);
  cg.node_checks = calloc((size_t)g->nnodes + 1, sizeof *cg.node_checks);
  char *features = LLVMGetTargetMachineFeatureString(tm);
  if (m && features) m->cpu_features = strdup(features);
  LLVMDisposeMessage(features);
  if (!m || !cg.const_offset || !cg.node_scratch || !cg.node_checks || !(m->name = strdup(name)) ||
      !(m->signature = make_signature(g)) || !m->cpu_features) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int t = 0; t < g->ntensors; t++) cg.const_offset[t] = -1;
  create_module(m, tm);
  init_cg(&cg, g, m);
  cg.target = t;
  cg.blob_in_file = t->weights_file != NULL;
  cg.vlanes = vitc_target_lanes(tm);
  cg.vregs = vitc_target_vector_registers(tm);
  cg.dpbf16 = vitc_features_dpbf16(m->cpu_features);
  cg.int8_dot = int8_dot;
  cg.times = &m->times;
  vitc_stage_time since = vitc_stage_clock();
  st = emit_entry(&cg, tm, &m->scratch_size, err);
  free(cg.copy_buf.data);
  if (st == VITC_OK) {
    m->weights = cg.blob;
    m->weights_size = cg.blob_size;
    m->weights_mapping_len = cg.blob_in_file ? cg.blob_cap : 0;
    cg.blob = NULL;
    /* Kept read-only from here: in a file, the blob is the compile cache entry's. */
    if (m->weights_mapping_len) mprotect(m->weights, m->weights_mapping_len, PROT_READ);
    blob_hash hash = {.m = m};
    hash.joinable = !pthread_create(&hash.thread, NULL, hash_blob, &hash);
    m->per_image = vitc_graph_per_image(g);
    LLVMValueRef hash_gv = emit_context_api(&cg, m, embed_weights);
    vitc_stage_add(&m->times.ir, since);
    since = vitc_stage_clock();
    st = merge_kernels(g, m, tm, err);
    if (hash.joinable) pthread_join(hash.thread, NULL);
    else hash_blob(&hash); /* no thread to spare */
    m->weights_hash = hash.hash;
    if (hash_gv) {
      LLVMSetInitializer(hash_gv, LLVMConstInt(cg.i64, m->weights_hash, false));
      LLVMSetGlobalConstant(hash_gv, true);
    }
    vitc_stage_add(&m->times.optimise, since);
  }
  LLVMDisposeBuilder(cg.b);
  if (st) goto fail;
  free(cg.const_offset);
  free(cg.node_scratch);
  free(cg.node_checks);
  *out = m;
  return VITC_OK;
fail:
  cg_free_blob(&cg);
  free(cg.const_offset);
  free(cg.node_scratch);
  free(cg.node_checks);
  vitc_module_free(m);
  return st;
}
