/* host_io.c — see host_io.h. */
#include "host_io.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The whole file in a malloc'd buffer. */
static unsigned char *read_all(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  unsigned char *buf = NULL;
  long size = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
  if (size >= 0 && !fseek(f, 0, SEEK_SET) && (buf = malloc((size_t)size + 1)) &&
      fread(buf, 1, (size_t)size, f) == (size_t)size) {
    fclose(f);
    *len = (size_t)size;
    return buf;
  }
  snprintf(err, errlen, "%s: cannot read", path);
  free(buf);
  fclose(f);
  return NULL;
}

static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7) {
    unsigned char b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* The float32 payload of a serialized TensorProto: field 2 data_type must be 1 (FLOAT); the values are
 * field 9 raw_data or field 4 float_data (packed). Every other field is skipped by its wire type. */
static int tensor_proto_floats(const unsigned char *p, size_t len, const unsigned char **data, size_t *nbytes) {
  const unsigned char *end = p + len;
  uint64_t dtype = 0;
  *data = NULL;
  while (p < end) {
    uint64_t key, v;
    if (read_varint(&p, end, &key)) return -1;
    switch (key & 7) {
    case 0:
      if (read_varint(&p, end, &v)) return -1;
      if (key >> 3 == 2) dtype = v;
      break;
    case 1: p += 8; break;
    case 5: p += 4; break;
    case 2:
      if (read_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
      if (key >> 3 == 9 || key >> 3 == 4) {
        *data = p;
        *nbytes = (size_t)v;
      }
      p += v;
      break;
    default: return -1;
    }
  }
  return p == end && dtype == 1 && *data ? 0 : -1;
}

/* The payload of a numpy .npy file (format versions 1 to 3) holding little-endian float32 in C order:
 * the magic, the version, the header's length, then a Python dict literal describing the array. */
static int npy_floats(const unsigned char *p, size_t len, const unsigned char **data, size_t *nbytes) {
  if (len < 10 || memcmp(p, "\x93NUMPY", 6) || p[6] < 1 || p[6] > 3) return -1;
  size_t start = p[6] == 1 ? 10 : 12;
  if (len < start) return -1;
  size_t hlen = p[8] | p[9] << 8;
  if (p[6] > 1) hlen |= (size_t)p[10] << 16 | (size_t)p[11] << 24;
  if (hlen > len - start) return -1;
  char header[4096];
  int shown = (int)(hlen < sizeof header ? hlen : sizeof header - 1);
  snprintf(header, sizeof header, "%.*s", shown, (const char *)p + start);
  if (!strstr(header, "'descr': '<f4'") || !strstr(header, "'fortran_order': False")) return -1;
  *data = p + start + hlen;
  *nbytes = len - start - hlen;
  return 0;
}

float *host_read_f32(const char *path, size_t count, char *err, size_t errlen) {
  size_t len;
  unsigned char *file = read_all(path, &len, err, errlen);
  if (!file) return NULL;
  size_t nbytes = len;
  const unsigned char *data = file;
  size_t plen = strlen(path);
  float *out = NULL;
  if (len >= 6 && !memcmp(file, "\x93NUMPY", 6)) {
    if (npy_floats(file, len, &data, &nbytes)) {
      snprintf(err, errlen, "%s: not a float32 (little-endian, C order) .npy", path);
      free(file);
      return NULL;
    }
  } else if (plen > 3 && !strcmp(path + plen - 3, ".pb")) {
    if (tensor_proto_floats(file, len, &data, &nbytes)) {
      snprintf(err, errlen, "%s: not a float32 TensorProto", path);
      free(file);
      return NULL;
    }
  }
  if (nbytes != count * sizeof(float))
    snprintf(err, errlen, "%s: holds %zu bytes of float32 data, expected %zu (%zu values)", path, nbytes,
             count * sizeof(float), count);
  else if (!(out = malloc(nbytes ? nbytes : 1)))
    snprintf(err, errlen, "%s: out of memory", path);
  else
    memcpy(out, data, nbytes);
  free(file);
  return out;
}

int host_argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

/* Line `index` of a labels file (without its newline) into buf, or the number when there is none. */
static void label_of(const char *labels_path, int index, char *buf, size_t n) {
  snprintf(buf, n, "class %d", index);
  FILE *f = labels_path ? fopen(labels_path, "r") : NULL;
  if (!f) return;
  char line[256];
  for (int i = 0; fgets(line, sizeof line, f); i++)
    if (i == index) {
      line[strcspn(line, "\r\n")] = 0;
      snprintf(buf, n, "%s", line);
      break;
    }
  fclose(f);
}

void host_print_top_k(const float *logits, int n, int k, const char *labels_path) {
  char *taken = calloc((size_t)n, 1), label[256];
  if (!taken) return;
  for (int rank = 1; rank <= k && rank <= n; rank++) {
    int best = -1;
    for (int i = 0; i < n; i++)
      if (!taken[i] && (best < 0 || logits[i] > logits[best])) best = i;
    taken[best] = 1;
    label_of(labels_path, best, label, sizeof label);
    printf("  %d. %-16s logit %9.5f  (class %d)\n", rank, label, logits[best], best);
  }
  free(taken);
}

double host_max_abs_diff(const float *got, const float *want, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= worst)) worst = d; /* NaN wins */
  }
  return worst;
}

int host_check_reference(const float *logits, int n, const char *ref_path) {
  char err[512];
  float *ref = host_read_f32(ref_path, (size_t)n, err, sizeof err);
  if (!ref) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  double scale = 0;
  for (int i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
  double diff = host_max_abs_diff(logits, ref, (size_t)n);
  int top = host_argmax(logits, n), ref_top = host_argmax(ref, n);
  int ok = top == ref_top && diff <= 1e-3 * fmax(scale, 1e-30);
  printf("reference %s: top-1 class %d, ours %d; max |difference| %.3g (%.2g of the largest logit): %s\n",
         ref_path, ref_top, top, diff, diff / fmax(scale, 1e-30), ok ? "match" : "MISMATCH");
  free(ref);
  return ok ? 0 : 1;
}

double host_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
