/* call.c — calling a compiled model whose signature is learnt at run time: parse NAME_signature, then
 * call NAME_run(ctx, in…, out…) through libffi with a call interface built for that arity. */
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static vitc_status parse_line(const char *line, size_t len, vitc_io_desc *d, vitc_error *err) {
  /* The sscanf widths below are these sizes minus one. */
  char name[768], dtype[32], dims[400], kind[8];
  char buf[sizeof name + sizeof dtype + sizeof dims + 16];
  if (len >= sizeof buf) return vitc_fail(err, VITC_ERR_PARSE, "signature line too long");
  memcpy(buf, line, len);
  buf[len] = 0;
  if (sscanf(buf, "%7s %767s %31s %399s", kind, name, dtype, dims) != 4)
    return vitc_fail(err, VITC_ERR_PARSE, "malformed signature line '%s'", buf);
  size_t k = 0;
  for (const char *c = name; *c && k + 1 < sizeof d->name; c++) {
    unsigned byte;
    if (*c == '%' && sscanf(c + 1, "%2x", &byte) == 1) {
      d->name[k++] = (char)byte;
      c += 2;
    } else {
      d->name[k++] = *c;
    }
  }
  d->name[k] = 0;
  d->dtype = VITC_UNDEFINED;
  for (int code = 1; code < 32; code++)
    if (vitc_dtype_name((vitc_dtype)code) && !strcmp(vitc_dtype_name((vitc_dtype)code), dtype)) d->dtype = (vitc_dtype)code;
  if (!d->dtype) return vitc_fail(err, VITC_ERR_PARSE, "unknown dtype '%s' in signature", dtype);
  d->rank = 0;
  if (strcmp(dims, "scalar")) {
    for (char *p = dims; *p;) {
      if (d->rank == VITC_MAX_RANK) return vitc_fail(err, VITC_ERR_PARSE, "too many dims in signature");
      char *end;
      d->dims[d->rank++] = strtoll(p, &end, 10);
      if (end == p || (*end && *end != 'x')) return vitc_fail(err, VITC_ERR_PARSE, "bad dims '%s' in signature", dims);
      p = *end ? end + 1 : end;
    }
  }
  return VITC_OK;
}

vitc_status vitc_parse_signature(const char *text, vitc_io_desc *ins, int max_in, int *nin, vitc_io_desc *outs,
                                 int max_out, int *nout, vitc_error *err) {
  *nin = *nout = 0;
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    bool is_out = !strncmp(line, "out ", 4);
    if (!is_out && strncmp(line, "in ", 3)) return vitc_fail(err, VITC_ERR_PARSE, "malformed signature");
    int *count = is_out ? nout : nin;
    if (*count >= (is_out ? max_out : max_in)) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "too many model inputs or outputs");
    vitc_status st = parse_line(line, len, is_out ? &outs[*count] : &ins[*count], err);
    if (st) return st;
    ++*count;
    line += len + (nl != NULL);
  }
  return VITC_OK;
}

/* fn(ctx, [*images,] in…, out…): NAME_run, or NAME_run_batch when images is given. */
static int call_run(void *fn, void *ctx, const int64_t *images, void *const *inputs, int nin, void *const *outputs,
                    int nout) {
  int first = images ? 2 : 1, nargs = first + nin + nout;
  ffi_type **types = malloc(sizeof *types * (size_t)nargs);
  void **values = malloc(sizeof *values * (size_t)nargs);
  void **slots = malloc(sizeof *slots * (size_t)nargs); /* ffi takes the address of each argument */
  ffi_cif cif;
  ffi_arg ret = (ffi_arg)-1;
  if (types && values && slots) {
    for (int i = 0; i < nargs; i++) {
      types[i] = &ffi_type_pointer;
      slots[i] = i == 0 ? ctx : i < first ? NULL : i < first + nin ? inputs[i - first] : outputs[i - first - nin];
      values[i] = &slots[i];
    }
    if (images) {
      types[1] = &ffi_type_sint64;
      values[1] = (void *)images;
    }
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)nargs, &ffi_type_sint32, types) == FFI_OK)
      ffi_call(&cif, FFI_FN(fn), &ret, values);
  }
  free(types);
  free(values);
  free(slots);
  return (int)(int32_t)ret;
}

int vitc_ffi_call_run(void *run_fn, void *ctx, void *const *inputs, int nin, void *const *outputs, int nout) {
  return call_run(run_fn, ctx, NULL, inputs, nin, outputs, nout);
}

int vitc_ffi_call_run_batch(void *run_batch_fn, void *ctx, int64_t images, void *const *inputs, int nin,
                            void *const *outputs, int nout) {
  return call_run(run_batch_fn, ctx, &images, inputs, nin, outputs, nout);
}
