/* cg.c — the small builders emitters use: constants, element access with dtype conversion, loops,
 * branches, calls, blob constants and parallel tasks. */
#define _GNU_SOURCE /* mremap */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <llvm-c/DebugInfo.h>

#include "cg.h"

LLVMValueRef cg_in(vitc_cg *cg, int k) {
  return k < cg->node->nin && cg->node->in[k] >= 0 ? cg->args[k] : NULL;
}

LLVMValueRef cg_out(vitc_cg *cg, int k) { return cg->node->out[k] >= 0 ? cg->args[cg->node->nin + k] : NULL; }

const vitc_value *cg_in_value(vitc_cg *cg, int k) {
  if (k >= cg->node->nin || cg->node->in[k] < 0) return NULL;
  if (cg->in_values) return cg->in_values[k];
  return cg->grouped ? &cg->grouped[k] : &cg->g->tensors[cg->node->in[k]].v;
}

const vitc_value *cg_out_value(vitc_cg *cg, int k) {
  if (cg->node->out[k] < 0) return NULL;
  return cg->grouped ? &cg->grouped[cg->node->nin + k] : &cg->g->tensors[cg->node->out[k]].v;
}

LLVMValueRef cg_i64(vitc_cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, true); }
LLVMValueRef cg_i32(vitc_cg *cg, int32_t v) { return LLVMConstInt(cg->i32, (unsigned long long)(int64_t)v, true); }
LLVMValueRef cg_f32(vitc_cg *cg, float v) { return LLVMConstReal(cg->f32, v); }

LLVMValueRef cg_const(vitc_cg *cg, LLVMTypeRef t, double v) {
  LLVMTypeKind k = LLVMGetTypeKind(t);
  if (k == LLVMFloatTypeKind || k == LLVMDoubleTypeKind || k == LLVMHalfTypeKind) return LLVMConstReal(t, v);
  return LLVMConstInt(t, (unsigned long long)(int64_t)v, true);
}

LLVMTypeRef cg_storage_type(vitc_cg *cg, vitc_dtype t) {
  switch (t) {
  case VITC_F32: return cg->f32;
  case VITC_F64: return cg->f64;
  case VITC_F16: case VITC_BF16: case VITC_I16: case VITC_U16: return cg->i16;
  case VITC_I32: case VITC_U32: return cg->i32;
  case VITC_I64: case VITC_U64: return cg->i64;
  default: return cg->i8; /* I8 U8 BOOL */
  }
}

LLVMTypeRef cg_compute_type(vitc_cg *cg, vitc_dtype t) {
  if (t == VITC_F64) return cg->f64;
  if (vitc_dtype_is_float(t)) return cg->f32;
  if (t == VITC_BOOL) return cg->i1;
  return cg->i64;
}

LLVMValueRef cg_gep(vitc_cg *cg, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildInBoundsGEP2(cg->b, elem, base, &index, 1, "");
}

/* bf16 is the top half of an f32: widening is a shift, narrowing rounds to nearest even (NaN kept). */
static LLVMValueRef bf16_to_f32(vitc_cg *cg, LLVMValueRef bits) {
  LLVMValueRef wide = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, bits, cg->i32, ""), cg_i32(cg, 16), "");
  return LLVMBuildBitCast(cg->b, wide, cg->f32, "");
}

static LLVMValueRef f32_to_bf16(vitc_cg *cg, LLVMValueRef f) {
  LLVMValueRef x = LLVMBuildBitCast(cg->b, f, cg->i32, "");
  LLVMValueRef lsb = LLVMBuildAnd(cg->b, LLVMBuildLShr(cg->b, x, cg_i32(cg, 16), ""), cg_i32(cg, 1), "");
  LLVMValueRef rounded = LLVMBuildAdd(cg->b, x, LLVMBuildAdd(cg->b, lsb, cg_i32(cg, 0x7fff), ""), "");
  LLVMValueRef is_nan = LLVMBuildFCmp(cg->b, LLVMRealUNO, f, f, "");
  LLVMValueRef quiet = LLVMBuildOr(cg->b, x, cg_i32(cg, 0x400000), "");
  LLVMValueRef bits = LLVMBuildSelect(cg->b, is_nan, quiet, rounded, "");
  return LLVMBuildTrunc(cg->b, LLVMBuildLShr(cg->b, bits, cg_i32(cg, 16), ""), cg->i16, "");
}

LLVMValueRef cg_load(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, vitc_dtype t) {
  LLVMTypeRef st = cg_storage_type(cg, t);
  LLVMValueRef v = LLVMBuildLoad2(cg->b, st, cg_gep(cg, st, base, i), "");
  switch (t) {
  case VITC_F32: case VITC_F64: case VITC_I64: case VITC_U64: return v;
  case VITC_F16: return LLVMBuildFPExt(cg->b, LLVMBuildBitCast(cg->b, v, cg->f16, ""), cg->f32, "");
  case VITC_BF16: return bf16_to_f32(cg, v);
  case VITC_BOOL: return LLVMBuildICmp(cg->b, LLVMIntNE, v, LLVMConstInt(cg->i8, 0, false), "");
  default:
    return vitc_dtype_is_signed(t) ? LLVMBuildSExt(cg->b, v, cg->i64, "") : LLVMBuildZExt(cg->b, v, cg->i64, "");
  }
}

void cg_store(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, vitc_dtype t, LLVMValueRef v) {
  LLVMTypeRef st = cg_storage_type(cg, t);
  switch (t) {
  case VITC_F32: case VITC_F64: case VITC_I64: case VITC_U64: break;
  case VITC_F16: v = LLVMBuildBitCast(cg->b, LLVMBuildFPTrunc(cg->b, v, cg->f16, ""), cg->i16, ""); break;
  case VITC_BF16: v = f32_to_bf16(cg, v); break;
  case VITC_BOOL: v = LLVMBuildZExt(cg->b, v, cg->i8, ""); break;
  default: v = LLVMBuildTrunc(cg->b, v, st, ""); break;
  }
  LLVMBuildStore(cg->b, v, cg_gep(cg, st, base, i));
}

LLVMValueRef cg_convert(vitc_cg *cg, LLVMValueRef v, vitc_dtype from, vitc_dtype to) {
  LLVMTypeRef src = cg_compute_type(cg, from), dst = cg_compute_type(cg, to);
  bool ff = vitc_dtype_is_float(from), tf = vitc_dtype_is_float(to);
  if (to == VITC_BOOL) {
    if (from == VITC_BOOL) return v;
    return ff ? LLVMBuildFCmp(cg->b, LLVMRealUNE, v, LLVMConstReal(src, 0), "")
              : LLVMBuildICmp(cg->b, LLVMIntNE, v, LLVMConstInt(src, 0, false), "");
  }
  if (from == VITC_BOOL) return tf ? LLVMBuildUIToFP(cg->b, v, dst, "") : LLVMBuildZExt(cg->b, v, dst, "");
  if (ff && tf) return src == dst ? v : src == cg->f64 ? LLVMBuildFPTrunc(cg->b, v, dst, "") : LLVMBuildFPExt(cg->b, v, dst, "");
  if (ff) { /* float to integer saturates, NaN gives 0: defined where C's conversion is not */
    LLVMTypeRef types[2] = {cg->i64, src};
    return cg_intrinsic(cg, to == VITC_U64 ? "llvm.fptoui.sat" : "llvm.fptosi.sat", types, 2, &v, 1);
  }
  if (tf) return from == VITC_U64 ? LLVMBuildUIToFP(cg->b, v, dst, "") : LLVMBuildSIToFP(cg->b, v, dst, "");
  return v; /* integers all compute in i64; narrowing happens at the store */
}

LLVMValueRef cg_intrinsic(vitc_cg *cg, const char *iname, LLVMTypeRef *types, int ntypes, LLVMValueRef *args,
                          int nargs) {
  unsigned id = LLVMLookupIntrinsicID(iname, strlen(iname));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, types, (size_t)ntypes);
  return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->llvm, id, types, (size_t)ntypes), fn, args, (unsigned)nargs, "");
}

LLVMValueRef cg_call(vitc_cg *cg, const char *fname, LLVMTypeRef ret, LLVMValueRef *args, int nargs) {
  LLVMTypeRef params[16];
  for (int i = 0; i < nargs; i++) params[i] = LLVMTypeOf(args[i]);
  LLVMTypeRef ft = LLVMFunctionType(ret, params, (unsigned)nargs, false);
  LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, fname);
  if (!fn) fn = LLVMAddFunction(cg->mod, fname, ft);
  return LLVMBuildCall2(cg->b, ft, fn, args, (unsigned)nargs, "");
}

void cg_memcpy(vitc_cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes) {
  LLVMBuildMemCpy(cg->b, dst, 1, src, 1, bytes);
}

void cg_memzero(vitc_cg *cg, LLVMValueRef dst, LLVMValueRef bytes) {
  LLVMBuildMemSet(cg->b, dst, LLVMConstInt(cg->i8, 0, false), bytes, 1);
}

static LLVMValueRef current_fn(vitc_cg *cg) { return LLVMGetBasicBlockParent(LLVMGetInsertBlock(cg->b)); }

cg_loop cg_loop_begin(vitc_cg *cg, LLVMValueRef lo, LLVMValueRef hi, int64_t step) {
  cg_loop l = {0};
  LLVMValueRef fn = current_fn(cg);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  l.header = LLVMAppendBasicBlockInContext(cg->llvm, fn, "loop");
  l.body = LLVMAppendBasicBlockInContext(cg->llvm, fn, "body");
  l.exit = LLVMAppendBasicBlockInContext(cg->llvm, fn, "done");
  l.step = cg_i64(cg, step);
  LLVMBuildBr(cg->b, l.header);
  LLVMPositionBuilderAtEnd(cg->b, l.header);
  l.iv = LLVMBuildPhi(cg->b, cg->i64, "i");
  LLVMAddIncoming(l.iv, &lo, &pre, 1);
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, l.iv, hi, ""), l.body, l.exit);
  LLVMPositionBuilderAtEnd(cg->b, l.body);
  return l;
}

void cg_loop_end(vitc_cg *cg, cg_loop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(cg->b, l->iv, l->step, "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMValueRef br = LLVMBuildBr(cg->b, l->header);
  if (l->rolled) {
    /* the loop's ID: a distinct node whose first operand is itself, then the hint */
    LLVMMetadataRef self = LLVMTemporaryMDNode(cg->llvm, NULL, 0);
    LLVMMetadataRef hint = LLVMMDStringInContext2(cg->llvm, "llvm.loop.unroll.disable", 24);
    LLVMMetadataRef ops[2] = {self, LLVMMDNodeInContext2(cg->llvm, &hint, 1)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(cg->llvm, ops, 2);
    LLVMMetadataReplaceAllUsesWith(self, id);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(cg->llvm, "llvm.loop", 9), LLVMMetadataAsValue(cg->llvm, id));
  }
  LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

cg_if cg_if_begin(vitc_cg *cg, LLVMValueRef cond) {
  cg_if c;
  LLVMValueRef fn = current_fn(cg);
  c.then_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "then");
  c.join_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "join");
  c.branch = LLVMBuildCondBr(cg->b, cond, c.then_bb, c.join_bb);
  LLVMPositionBuilderAtEnd(cg->b, c.then_bb);
  return c;
}

void cg_if_else(vitc_cg *cg, cg_if *c) {
  LLVMBasicBlockRef else_bb = LLVMInsertBasicBlockInContext(cg->llvm, c->join_bb, "else");
  LLVMBuildBr(cg->b, c->join_bb);
  LLVMSetSuccessor(c->branch, 1, else_bb);
  LLVMPositionBuilderAtEnd(cg->b, else_bb);
}

void cg_if_end(vitc_cg *cg, cg_if *c) {
  LLVMBuildBr(cg->b, c->join_bb);
  LLVMPositionBuilderAtEnd(cg->b, c->join_bb);
}

cg_while cg_while_begin(vitc_cg *cg) {
  cg_while w;
  LLVMValueRef fn = current_fn(cg);
  w.test = LLVMAppendBasicBlockInContext(cg->llvm, fn, "while");
  w.body = LLVMAppendBasicBlockInContext(cg->llvm, fn, "while.body");
  w.done = LLVMAppendBasicBlockInContext(cg->llvm, fn, "while.done");
  LLVMBuildBr(cg->b, w.test);
  LLVMPositionBuilderAtEnd(cg->b, w.test);
  return w;
}

void cg_while_test(vitc_cg *cg, cg_while *w, LLVMValueRef cond) {
  LLVMBuildCondBr(cg->b, cond, w->body, w->done);
  LLVMPositionBuilderAtEnd(cg->b, w->body);
}

void cg_while_end(vitc_cg *cg, cg_while *w) {
  LLVMBuildBr(cg->b, w->test);
  LLVMPositionBuilderAtEnd(cg->b, w->done);
}

LLVMValueRef cg_var(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef init) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(cg->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(current_fn(cg));
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(cg->b, first);
  else LLVMPositionBuilderAtEnd(cg->b, entry);
  LLVMValueRef slot = LLVMBuildAlloca(cg->b, t, "");
  LLVMPositionBuilderAtEnd(cg->b, here);
  if (init) LLVMBuildStore(cg->b, init, slot);
  return slot;
}

cg_mut cg_mut_new(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef init) { return (cg_mut){cg_var(cg, t, init), t}; }
LLVMValueRef cg_get(vitc_cg *cg, cg_mut m) { return LLVMBuildLoad2(cg->b, m.t, m.slot, ""); }
void cg_set(vitc_cg *cg, cg_mut m, LLVMValueRef v) { LLVMBuildStore(cg->b, v, m.slot); }

LLVMValueRef cg_scratch(vitc_cg *cg, size_t bytes) {
  size_t *used = &cg->node_scratch[cg->node - cg->g->nodes];
  LLVMValueRef p = cg_gep(cg, cg->i8, cg->scratch_arg, cg_i64(cg, (int64_t)*used));
  *used += (bytes + 63) & ~(size_t)63;
  return p;
}

void cg_index_error(vitc_cg *cg, LLVMValueRef index, int64_t bound) {
  cg->node_checks[cg->node - cg->g->nodes] = true;
  LLVMValueRef args[3] = {cg->ctx_arg, index, cg_i64(cg, bound)};
  cg_call(cg, "vitc_rt_index_error", cg->void_t, args, 3);
}

/* The blob in its file grown to cap bytes: the file's blocks allocated (a write through the mapping to a
 * block a full disk cannot give would fault), the mapping grown, moved if need be. NULL if either fails. */
static unsigned char *grow_file_blob(vitc_cg *cg, size_t cap) {
  const vitc_weights_file *f = cg->target->weights_file;
  if (posix_fallocate(f->fd, (off_t)(f->offset + cg->blob_cap), (off_t)(cap - cg->blob_cap))) return NULL;
  void *p = cg->blob ? mremap(cg->blob, cg->blob_cap, cap, MREMAP_MAYMOVE)
                     : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)f->offset);
  return p == MAP_FAILED ? NULL : p;
}

/* The blob at cap bytes: in its file while that can grow, else in memory (the compile cache then writes it
 * out itself, as it does a blob built in memory). */
static unsigned char *grow(vitc_cg *cg, size_t cap) {
  unsigned char *grown = cg->blob_in_file ? grow_file_blob(cg, cap) : realloc(cg->blob, cap);
  if (grown || !cg->blob_in_file) return grown;
  if ((grown = malloc(cap)) && cg->blob) {
    memcpy(grown, cg->blob, cg->blob_size);
    munmap(cg->blob, cg->blob_cap);
  }
  cg->blob_in_file = !grown;
  return grown;
}

void cg_drop_blob_pages(vitc_cg *cg) {
  if (cg->blob_in_file && cg->blob) madvise(cg->blob, cg->blob_cap, MADV_DONTNEED);
}

void cg_free_blob(vitc_cg *cg) {
  if (cg->blob_in_file && cg->blob) munmap(cg->blob, cg->blob_cap);
  else free(cg->blob);
  cg->blob = NULL;
}

/* `bytes` more at the end of the blob, 64-byte aligned; *at is where they begin. */
static vitc_status grow_blob(vitc_cg *cg, size_t bytes, size_t *at, vitc_error *err) {
  *at = (cg->blob_size + 63) & ~(size_t)63;
  int64_t limit = vitc_graph_memory_limit(cg->g);
  if (*at + bytes > (uint64_t)limit) /* before growing the blob to that size */
    return vitc_fail(err, VITC_ERR_INVALID, "the weights need at least %zu bytes, above the memory limit of %lld bytes",
                     *at + bytes, (long long)limit);
  if (*at + bytes > cg->blob_cap) {
    size_t cap = cg->blob_cap ? cg->blob_cap : 1 << 16;
    while (cap < *at + bytes) cap *= 2;
    unsigned char *grown = grow(cg, cap);
    if (!grown) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory packing %zu bytes of weights", bytes);
    cg->blob = grown;
    cg->blob_cap = cap;
  }
  if (*at > cg->blob_size) memset(cg->blob + cg->blob_size, 0, *at - cg->blob_size);
  cg->blob_size = *at + bytes;
  return VITC_OK;
}

vitc_status cg_add_blob(vitc_cg *cg, const void *data, size_t bytes, int64_t *offset, vitc_error *err) {
  vitc_stage_time since = vitc_stage_clock(); /* copying reads the mapped model file: it is the weights' load */
  size_t at;
  vitc_status st = grow_blob(cg, bytes, &at, err);
  if (!st && bytes) memcpy(cg->blob + at, data, bytes);
  *offset = (int64_t)(at - cg->blob_base);
  if (cg->times) vitc_stage_add(&cg->times->weights, since);
  return st;
}

vitc_status cg_reserve_blob(vitc_cg *cg, size_t bytes, int64_t *offset, void **data, vitc_error *err) {
  size_t at;
  vitc_status st = grow_blob(cg, bytes, &at, err);
  *data = st || !bytes ? NULL : memset(cg->blob + at, 0, bytes); /* no blob yet when bytes is 0 */
  *offset = (int64_t)(at - cg->blob_base);
  return st;
}

void *cg_blob_data(vitc_cg *cg, int64_t offset) { return cg->blob + cg->blob_base + offset; }

LLVMValueRef cg_blob_ptr(vitc_cg *cg, int64_t offset) { return cg_gep(cg, cg->i8, cg->weights, cg_i64(cg, offset)); }

vitc_status cg_add_sizes(vitc_cg *cg, const int64_t *sizes, int n, LLVMValueRef *table, int64_t *offset,
                         vitc_error *err) {
  int64_t at;
  vitc_status st = cg_add_blob(cg, sizes, sizeof *sizes * (size_t)n, &at, err);
  *table = st ? NULL : cg_blob_ptr(cg, at);
  if (offset) *offset = at;
  return st;
}

LLVMValueRef cg_size(vitc_cg *cg, LLVMValueRef table, int i) {
  return LLVMBuildLoad2(cg->b, cg->i64, cg_gep(cg, cg->i64, table, cg_i64(cg, i)), "");
}

/* The task function is `void task(ptr captured, i64 begin, i64 end)`; captured values travel in a
 * stack array of pointer-sized slots (integers widened to i64). */
cg_task cg_task_begin(vitc_cg *cg, const LLVMValueRef *captured, int ncaptured) {
  cg_task t;
  memset(&t, 0, sizeof t);
  t.nvals = ncaptured;
  t.outer_fn = current_fn(cg);
  t.outer_bb = LLVMGetInsertBlock(cg->b);
  for (int i = 0; i < ncaptured; i++) t.outer_captured[i] = captured[i];
  char name[256];
  snprintf(name, sizeof name, "%s.t%d", LLVMGetValueName2(cg->fn, &(size_t){0}), cg->fresh++);
  LLVMTypeRef params[3] = {cg->ptr, cg->i64, cg->i64};
  t.task_fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->void_t, params, 3, false));
  LLVMSetLinkage(t.task_fn, LLVMInternalLinkage);
  LLVMSetUnnamedAddress(t.task_fn, LLVMGlobalUnnamedAddr); /* equal tasks merge (codegen.c) */
  LLVMAttributeRef level = LLVMGetStringAttributeAtIndex(cg->fn, LLVMAttributeFunctionIndex, VITC_OPT_LEVEL_ATTR,
                                                         (unsigned)strlen(VITC_OPT_LEVEL_ATTR));
  if (level) LLVMAddAttributeAtIndex(t.task_fn, LLVMAttributeFunctionIndex, level); /* its kernel's */
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->llvm, t.task_fn, "entry"));
  LLVMValueRef slots = LLVMGetParam(t.task_fn, 0);
  t.begin = LLVMGetParam(t.task_fn, 1);
  t.end = LLVMGetParam(t.task_fn, 2);
  for (int i = 0; i < ncaptured; i++) {
    LLVMTypeRef ty = LLVMTypeOf(captured[i]);
    LLVMValueRef slot = cg_gep(cg, cg->i64, slots, cg_i64(cg, i));
    t.vals[i] = LLVMBuildLoad2(cg->b, ty, slot, "");
  }
  return t;
}

void cg_task_end(vitc_cg *cg, cg_task *t, int64_t n) { cg_task_end_n(cg, t, cg_i64(cg, n)); }

void cg_task_end_n(vitc_cg *cg, cg_task *t, LLVMValueRef n) {
  LLVMBuildRetVoid(cg->b);
  LLVMPositionBuilderAtEnd(cg->b, t->outer_bb);
  LLVMValueRef slots = cg_var(cg, LLVMArrayType(cg->i64, (unsigned)(t->nvals ? t->nvals : 1)), NULL);
  for (int i = 0; i < t->nvals; i++)
    LLVMBuildStore(cg->b, t->outer_captured[i], cg_gep(cg, cg->i64, slots, cg_i64(cg, i)));
  LLVMValueRef args[4] = {cg->ctx_arg, t->task_fn, slots, n};
  cg_call(cg, "vitc_rt_parallel_for", cg->void_t, args, 4);
}
