/* codegen.c — one LLVM module per graph: a function per node (written by the op's emitter), the entry
 * points NAME_run / NAME_create / NAME_create_mapped / NAME_destroy, the signature text and the weights.
 *
 *   i32 NAME_run(ptr ctx, ptr in0, …, ptr out0, …):
 *     weights = ctx->weights; scratch = ctx->scratch
 *     NAME.n0(ctx, <addresses of node 0's inputs and outputs>, <its work space>) …   in graph order
 *     copies for outputs that are inputs, constants or repeated
 *
 * The arena is planned (plan_memory.c) once the node functions exist, since their emitters say how much
 * work space they need (cg_scratch).
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emitters.h"
#include "plan.h"
#include "runtime/vitc_rt.h"

const vitc_emit_fn vitc_emitters[VITC_OP_COUNT] = {
#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn) \
  [VITC_OP_##id] = emit_fn,
#include "ir/ops.def"
#undef X
};

void vitc_module_free(vitc_module *m) {
  if (!m) return;
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->tsc) LLVMOrcDisposeThreadSafeContext(m->tsc);
  free(m->name);
  free(m->weights);
  free(m->signature);
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

typedef struct entry_state {
  LLVMValueRef weights, scratch, fn;
  LLVMValueRef *tensor_ptr; /* address of each tensor in NAME_run, filled lazily */
  size_t *offsets;          /* of the scratch tensors in the arena */
  size_t *node_offsets;     /* of the nodes' work spaces */
} entry_state;

static vitc_status tensor_address(vitc_cg *cg, entry_state *es, int t, LLVMValueRef *out, vitc_error *err) {
  if (es->tensor_ptr[t]) {
    *out = es->tensor_ptr[t];
    return VITC_OK;
  }
  const vitc_graph *g = cg->g;
  const vitc_tensor *tt = &g->tensors[t];
  LLVMValueRef p = NULL;
  for (int k = 0; k < g->ninputs && !p; k++)
    if (g->inputs[k] == t) p = LLVMGetParam(es->fn, (unsigned)(1 + k));
  for (int k = 0; k < g->noutputs && !p; k++)
    if (g->outputs[k] == t && tt->producer >= 0) p = LLVMGetParam(es->fn, (unsigned)(1 + g->ninputs + k));
  if (!p && tt->producer < 0) {
    if (!tt->v.data)
      return vitc_fail(err, VITC_ERR_INTERNAL, "%s: tensor '%s' has neither producer nor value", g->path, tt->name);
    if (cg->const_offset[t] < 0) {
      vitc_status st = cg_add_blob(cg, tt->v.data, vitc_nbytes(&tt->v), &cg->const_offset[t], err);
      if (st) return st;
    }
    LLVMValueRef idx = cg_i64(cg, cg->const_offset[t]);
    p = LLVMBuildInBoundsGEP2(cg->b, cg->i8, es->weights, &idx, 1, "");
  }
  if (!p) {
    LLVMValueRef idx = cg_i64(cg, (int64_t)es->offsets[t]);
    p = LLVMBuildInBoundsGEP2(cg->b, cg->i8, es->scratch, &idx, 1, "");
  }
  es->tensor_ptr[t] = p;
  *out = p;
  return VITC_OK;
}

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

/* Emits node i's kernel as `internal void NAME.nI(ptr ctx, ptr in…, ptr out…, ptr scratch)`. */
static vitc_status emit_node(vitc_cg *cg, int i, LLVMValueRef *fn_out, vitc_error *err) {
  const vitc_node *n = &cg->g->nodes[i];
  vitc_emit_fn emit = vitc_emitters[n->op];
  if (!emit && !all_outputs_known(cg->g, n)) {
    vitc_fail(err, VITC_ERR_UNSUPPORTED, "the LLVM backend has no code generator for %s yet (use --interp)",
              vitc_ops[n->op].name);
    vitc_node_error_prefix(cg->g, n, err);
    return err->status;
  }
  int nparams = 2 + n->nin + n->nout;
  LLVMTypeRef *params = malloc(sizeof *params * (size_t)nparams);
  LLVMValueRef *args = malloc(sizeof *args * (size_t)nparams);
  if (!params || !args) {
    free(params);
    free(args);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  for (int k = 0; k < nparams; k++) params[k] = cg->ptr;
  char name[300];
  snprintf(name, sizeof name, "%s.n%d", cg->name, i);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->void_t, params, (unsigned)nparams, false));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int k = 1; k < nparams; k++)
    LLVMAddAttributeAtIndex(fn, (unsigned)k + 1, LLVMCreateEnumAttribute(cg->llvm, noalias, 0));
  for (int k = 0; k < nparams; k++) args[k] = LLVMGetParam(fn, (unsigned)k);
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  cg->node = n;
  cg->fn = fn;
  cg->ctx_arg = args[0];
  cg->args = args + 1;
  cg->scratch_arg = args[nparams - 1];
  cg->weights = LLVMBuildLoad2(cg->b, cg->ptr, args[0], "weights");
  vitc_status st = all_outputs_known(cg->g, n) ? emit_known_outputs(cg, n, err) : emit(cg, n, err);
  if (st == VITC_OK) LLVMBuildRetVoid(cg->b);
  else if (!strstr(err->msg, n->name)) vitc_node_error_prefix(cg->g, n, err);
  free(params);
  free(args);
  cg->args = NULL;
  cg->scratch_arg = NULL;
  *fn_out = fn;
  return st;
}

/* The node functions, the arena's plan (its size to *scratch_size), and NAME_run calling them. */
static vitc_status emit_entry(vitc_cg *cg, size_t *scratch_size, vitc_error *err) {
  const vitc_graph *g = cg->g;
  int nparams = 1 + g->ninputs + g->noutputs;
  LLVMTypeRef *params = malloc(sizeof *params * (size_t)nparams);
  entry_state es = {0};
  es.tensor_ptr = calloc((size_t)g->ntensors + 1, sizeof *es.tensor_ptr);
  es.offsets = malloc(sizeof *es.offsets * ((size_t)g->ntensors + 1));
  es.node_offsets = malloc(sizeof *es.node_offsets * ((size_t)g->nnodes + 1));
  LLVMValueRef *node_fns = calloc((size_t)g->nnodes + 1, sizeof *node_fns);
  LLVMValueRef *call_args = NULL;
  vitc_status st = VITC_OK;
  if (!params || !es.tensor_ptr || !es.offsets || !es.node_offsets || !node_fns) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    goto out;
  }
  /* A view shares its input's memory (plan.h): no kernel, no call. */
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++)
    if (vitc_view_base(g, i) < 0) st = emit_node(cg, i, &node_fns[i], err);
  if (st || (st = vitc_plan_memory(g, cg->node_scratch, es.offsets, es.node_offsets, scratch_size, err))) goto out;

  for (int k = 0; k < nparams; k++) params[k] = cg->ptr;
  char name[300];
  snprintf(name, sizeof name, "%s_run", cg->name);
  es.fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->i32, params, (unsigned)nparams, false));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, es.fn, "entry"));
  LLVMValueRef ctx = LLVMGetParam(es.fn, 0);
  es.weights = LLVMBuildLoad2(cg->b, cg->ptr, ctx, "weights");
  LLVMValueRef eight = cg_i64(cg, 8);
  es.scratch = LLVMBuildLoad2(cg->b, cg->ptr, LLVMBuildInBoundsGEP2(cg->b, cg->i8, ctx, &eight, 1, ""), "scratch");
  int max_args = 2;
  for (int i = 0; i < g->nnodes; i++)
    if (2 + g->nodes[i].nin + g->nodes[i].nout > max_args) max_args = 2 + g->nodes[i].nin + g->nodes[i].nout;
  if (!(call_args = malloc(sizeof *call_args * (size_t)max_args))) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    const vitc_node *n = &g->nodes[i];
    if (!node_fns[i]) continue;
    call_args[0] = ctx;
    for (int k = 0; k < n->nin + n->nout && st == VITC_OK; k++) {
      int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
      /* A kernel that never reads a constant input (it packed its own copy, e.g. GEMM panels) does not
       * get it, so the raw data stays out of the weights blob. */
      bool unused = !LLVMGetFirstUse(LLVMGetParam(node_fns[i], (unsigned)(1 + k)));
      if (t < 0 || (unused && k < n->nin && g->tensors[t].producer < 0)) call_args[1 + k] = LLVMConstNull(cg->ptr);
      else st = tensor_address(cg, &es, t, &call_args[1 + k], err);
    }
    if (st) break;
    LLVMValueRef work = cg_i64(cg, (int64_t)es.node_offsets[i]);
    call_args[1 + n->nin + n->nout] = cg->node_scratch[i]
                                          ? LLVMBuildInBoundsGEP2(cg->b, cg->i8, es.scratch, &work, 1, "")
                                          : LLVMConstNull(cg->ptr);
    /* With a timing hook installed (ctx->hook, offset 16) the node is timed; without, one branch. */
    LLVMValueRef sixteen = cg_i64(cg, 16);
    LLVMValueRef hook = LLVMBuildLoad2(cg->b, cg->ptr, LLVMBuildInBoundsGEP2(cg->b, cg->i8, ctx, &sixteen, 1, ""), "hook");
    LLVMValueRef timed = LLVMBuildICmp(cg->b, LLVMIntNE, hook, LLVMConstNull(cg->ptr), "");
    LLVMValueRef start = cg_var(cg, cg->i64, cg_i64(cg, 0));
    cg_if when = cg_if_begin(cg, timed);
    LLVMBuildStore(cg->b, cg_call(cg, "vitc_rt_now_ns", cg->i64, NULL, 0), start);
    cg_if_end(cg, &when);
    LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(node_fns[i]), node_fns[i], call_args,
                   (unsigned)(2 + n->nin + n->nout), "");
    char label[300];
    snprintf(label, sizeof label, "%s (%s)", n->name, vitc_ops[n->op].name);
    LLVMValueRef label_str = LLVMBuildGlobalStringPtr(cg->b, label, "label");
    when = cg_if_begin(cg, timed);
    LLVMValueRef args[4] = {ctx, cg_i32(cg, i), label_str, LLVMBuildLoad2(cg->b, cg->i64, start, "")};
    cg_call(cg, "vitc_rt_node_done", cg->void_t, args, 4);
    cg_if_end(cg, &when);
  }
  /* Outputs not written by a node in place: graph inputs, constants, and repeats of an earlier output. */
  for (int k = 0; k < g->noutputs && st == VITC_OK; k++) {
    int t = g->outputs[k];
    bool first = g->tensors[t].producer >= 0;
    for (int j = 0; j < k; j++) first &= g->outputs[j] != t;
    if (first) continue;
    LLVMValueRef src;
    if ((st = tensor_address(cg, &es, t, &src, err))) break;
    bool earlier = false;
    for (int j = 0; j < k; j++) earlier |= g->outputs[j] == t;
    if (earlier && g->tensors[t].producer >= 0) src = es.tensor_ptr[t];
    cg_memcpy(cg, LLVMGetParam(es.fn, (unsigned)(1 + g->ninputs + k)), src,
              cg_i64(cg, (int64_t)vitc_nbytes(&g->tensors[t].v)));
  }
  if (st == VITC_OK) LLVMBuildRet(cg->b, cg_i32(cg, 0));
out:
  free(params);
  free(es.tensor_ptr);
  free(es.offsets);
  free(es.node_offsets);
  free(node_fns);
  free(call_args);
  return st;
}

static LLVMValueRef add_constant_bytes(vitc_cg *cg, const char *name, const void *data, size_t n, unsigned align) {
  LLVMValueRef init = LLVMConstStringInContext(cg->llvm, data, (unsigned)n, true);
  LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, true);
  LLVMSetAlignment(gv, align);
  return gv;
}

/* NAME_create / NAME_create_mapped / NAME_destroy and NAME_signature. */
static void emit_context_api(vitc_cg *cg, vitc_module *m, bool embed_weights) {
  char name[300];
  LLVMValueRef args[7];
  if (embed_weights) {
    snprintf(name, sizeof name, "%s_weights", cg->name);
    static const unsigned char no_weights[1];
    LLVMValueRef blob = add_constant_bytes(cg, name, m->weights_size ? m->weights : no_weights,
                                           m->weights_size ? m->weights_size : 1, 64);
    LLVMSetLinkage(blob, LLVMInternalLinkage);
    snprintf(name, sizeof name, "%s_create", cg->name);
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, NULL, 0, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
    args[0] = cg_i64(cg, (int64_t)m->scratch_size);
    args[1] = blob;
    args[2] = cg_i32(cg, 0);
    LLVMBuildRet(cg->b, cg_call(cg, "vitc_rt_ctx_new", cg->ptr, args, 3));
  } else {
    snprintf(name, sizeof name, "%s_create_mapped", cg->name);
    LLVMTypeRef params[3] = {cg->ptr, cg->ptr, cg->i64};
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->ptr, params, 3, false));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
    args[0] = cg_i64(cg, (int64_t)m->scratch_size);
    args[1] = LLVMGetParam(fn, 0);
    args[2] = cg_i64(cg, (int64_t)m->weights_size);
    args[3] = LLVMConstInt(cg->i64, m->weights_hash, false);
    args[4] = cg_i32(cg, 0);
    args[5] = LLVMGetParam(fn, 1);
    args[6] = LLVMGetParam(fn, 2);
    LLVMBuildRet(cg->b, cg_call(cg, "vitc_rt_ctx_new_mapped", cg->ptr, args, 7));
  }
  snprintf(name, sizeof name, "%s_destroy", cg->name);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->void_t, &cg->ptr, 1, false));
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
  args[0] = LLVMGetParam(fn, 0);
  cg_call(cg, "vitc_rt_ctx_free", cg->void_t, args, 1);
  LLVMBuildRetVoid(cg->b);
  snprintf(name, sizeof name, "%s_signature", cg->name);
  add_constant_bytes(cg, name, m->signature, strlen(m->signature) + 1, 1);
}

vitc_status vitc_codegen(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm, int opt_level,
                         bool embed_weights, vitc_module **out, vitc_error *err) {
  *out = NULL;
  int dynamic = vitc_graph_first_dynamic_node(g);
  if (dynamic >= 0) {
    const vitc_node *n = &g->nodes[dynamic];
    return vitc_fail(err, VITC_ERR_DATA_DEPENDENT,
                     "%s: node '%s' (%s): its shapes depend on values known only at run time; compiled code "
                     "needs static shapes (make those inputs constants, or use the evaluator: --interp)",
                     g->path, n->name, vitc_ops[n->op].name);
  }
  vitc_status st = vitc_verify(g, true, err);
  if (st) return st;
  vitc_module *m = calloc(1, sizeof *m);
  vitc_cg cg = {0};
  cg.const_offset = malloc(sizeof(int64_t) * ((size_t)g->ntensors + 1));
  cg.node_scratch = calloc((size_t)g->nnodes + 1, sizeof *cg.node_scratch);
  if (!m || !cg.const_offset || !cg.node_scratch || !(m->name = strdup(name)) || !(m->signature = make_signature(g))) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int t = 0; t < g->ntensors; t++) cg.const_offset[t] = -1;

  /* The context belongs to ORC from the start so that the JIT can take the module as it is. */
  m->tsc = LLVMOrcCreateNewThreadSafeContext();
  m->llvm = LLVMOrcThreadSafeContextGetContext(m->tsc);
  m->mod = LLVMModuleCreateWithNameInContext(name, m->llvm);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(m->mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  char *layout_str = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(m->mod, layout_str);
  LLVMDisposeMessage(layout_str);
  LLVMDisposeTargetData(layout);

  cg.g = g;
  cg.llvm = m->llvm;
  cg.mod = m->mod;
  cg.b = LLVMCreateBuilderInContext(m->llvm);
  cg.name = m->name;
  cg.void_t = LLVMVoidTypeInContext(m->llvm);
  cg.ptr = LLVMPointerTypeInContext(m->llvm, 0);
  cg.i1 = LLVMInt1TypeInContext(m->llvm);
  cg.i8 = LLVMInt8TypeInContext(m->llvm);
  cg.i16 = LLVMInt16TypeInContext(m->llvm);
  cg.i32 = LLVMInt32TypeInContext(m->llvm);
  cg.i64 = LLVMInt64TypeInContext(m->llvm);
  cg.f16 = LLVMHalfTypeInContext(m->llvm);
  cg.f32 = LLVMFloatTypeInContext(m->llvm);
  cg.f64 = LLVMDoubleTypeInContext(m->llvm);
  cg.vlanes = vitc_target_lanes(tm);

  st = emit_entry(&cg, &m->scratch_size, err);
  if (st == VITC_OK) {
    m->weights = cg.blob;
    m->weights_size = cg.blob_size;
    cg.blob = NULL;
    m->weights_hash = vitc_rt_hash(m->weights, m->weights_size);
    emit_context_api(&cg, m, embed_weights);
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
      st = vitc_fail(err, VITC_ERR_INTERNAL, "%s: generated LLVM IR does not verify: %.700s", g->path, msg);
    } else {
      char passes[32];
      snprintf(passes, sizeof passes, "default<O%d>", opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level);
      LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
      LLVMErrorRef e = LLVMRunPasses(m->mod, passes, tm, po);
      LLVMDisposePassBuilderOptions(po);
      if (e) {
        char *em = LLVMGetErrorMessage(e);
        st = vitc_fail(err, VITC_ERR_INTERNAL, "LLVM optimisation failed: %s", em);
        LLVMDisposeErrorMessage(em);
      }
    }
    LLVMDisposeMessage(msg);
  }
  LLVMDisposeBuilder(cg.b);
  if (st) goto fail;
  free(cg.const_offset);
  free(cg.node_scratch);
  *out = m;
  return VITC_OK;
fail:
  free(cg.blob);
  free(cg.const_offset);
  free(cg.node_scratch);
  vitc_module_free(m);
  return st;
}
