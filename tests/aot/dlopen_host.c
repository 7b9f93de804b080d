/* dlopen_host.c — loads a model built by `vitc compile --emit shared` knowing only its name: reads the
 * inputs and outputs from NAME_signature, then runs NAME_run on DATA_DIR's input_K.pb and compares with
 * output_K.pb. The library must carry the runtime: this host links nothing but libdl and libm. It calls NAME_run
 * through a prototype with two inputs and two outputs (tests/graphs/aot_two_io); a host for any arity
 * would call it through libffi as `vitc run` does.
 *
 * usage: dlopen_host LIB.so NAME DATA_DIR   exit 0 match, 1 mismatch, 2 error (message on stderr) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_io.h"

enum { MAX_IO = 4 };

typedef struct io {
  char kind[4], name[256], dtype[32];
  size_t count;
} io;

/* One "in|out NAME DTYPE D0xD1..." line; false when it does not parse. */
static int parse_line(const char *line, io *d, char *dims_text, size_t n) {
  char dims[256];
  if (sscanf(line, "%3s %255s %31s %255s", d->kind, d->name, d->dtype, dims) != 4) return 0;
  d->count = 1;
  dims_text[0] = 0;
  for (char *p = dims, *end; *p; p = *end ? end + 1 : end) {
    long long v = strtoll(p, &end, 10);
    if (end == p || (*end && *end != 'x') || v < 0) return 0;
    d->count *= (size_t)v;
    size_t len = strlen(dims_text);
    snprintf(dims_text + len, n - len, len ? ",%lld" : "%lld", v);
  }
  return !strcmp(d->kind, "in") || !strcmp(d->kind, "out");
}

static void *symbol(void *lib, const char *name, const char *suffix) {
  char full[512];
  snprintf(full, sizeof full, "%s%s", name, suffix);
  void *p = dlsym(lib, full);
  if (!p) fprintf(stderr, "%s\n", dlerror());
  return p;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s LIB.so NAME DATA_DIR\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 2;
  }
  const char *signature = symbol(lib, argv[2], "_signature");
  void *(*create)(void) = (void *(*)(void))symbol(lib, argv[2], "_create");
  void (*destroy)(void *) = (void (*)(void *))symbol(lib, argv[2], "_destroy");
  int (*run)(void *, const float *, const float *, float *, float *) =
      (int (*)(void *, const float *, const float *, float *, float *))symbol(lib, argv[2], "_run");
  if (!signature || !create || !destroy || !run) return 2;

  io ios[MAX_IO];
  int nin = 0, nout = 0;
  for (const char *line = signature; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char text[512], dims[256];
    snprintf(text, sizeof text, "%.*s", (int)len, line);
    io *d = &ios[nin + nout];
    if (nin + nout == MAX_IO || !parse_line(text, d, dims, sizeof dims) || strcmp(d->dtype, "float32") ||
        (d->kind[0] == 'i' && nout)) {
      fprintf(stderr, "%s_signature: cannot use line \"%s\"\n", argv[2], text);
      return 2;
    }
    int k = d->kind[0] == 'i' ? nin++ : nout++;
    printf("%s %d: %s %s [%s]\n", d->kind[0] == 'i' ? "input" : "output", k, d->name, d->dtype, dims);
    line += len + (nl != NULL);
  }
  if (nin != 2 || nout != 2) {
    fprintf(stderr, "%s_signature: %d inputs and %d outputs, this host calls 2 and 2\n", argv[2], nin, nout);
    return 2;
  }

  float *data[2 * MAX_IO] = {0}, *got[MAX_IO] = {0};
  char path[4096], err[512];
  int status = 0;
  for (int i = 0; i < nin + nout && !status; i++) {
    snprintf(path, sizeof path, "%s/%s_%d.pb", argv[3], i < nin ? "input" : "output", i < nin ? i : i - nin);
    if (!(data[i] = host_read_f32(path, ios[i].count, err, sizeof err))) status = 2;
    if (i >= nin && !status && !(got[i - nin] = calloc(ios[i].count, sizeof(float)))) {
      snprintf(err, sizeof err, "out of memory");
      status = 2;
    }
  }
  void *ctx = status ? NULL : create();
  if (!status && !ctx) {
    snprintf(err, sizeof err, "%s_create: out of memory", argv[2]);
    status = 2;
  }
  if (!status && run(ctx, data[0], data[1], got[0], got[1])) {
    snprintf(err, sizeof err, "%s_run failed", argv[2]);
    status = 2;
  }
  if (status) fprintf(stderr, "%s\n", err);
  for (int k = 0; k < nout && !status; k++) {
    double d = host_max_abs_diff(got[k], data[nin + k], ios[nin + k].count);
    printf("output %d: max |difference| %.3g: %s\n", k, d, d <= 1e-5 ? "match" : "MISMATCH");
    if (d > 1e-5) status = 1;
  }
  if (ctx) destroy(ctx);
  for (int i = 0; i < nin + nout; i++) free(data[i]);
  for (int k = 0; k < nout; k++) free(got[k]);
  dlclose(lib);
  return status;
}
