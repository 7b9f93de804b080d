/* test_npy.c — numpy's .npy and .npz files: fixtures written by numpy itself (tests/graphs/npy/make.py,
 * whose docstring gives every element's value), files vitc writes read back by vitc and by numpy, and
 * one error per malformed input. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "frontend/frontend.h"

#define FIXTURES "tests/graphs/npy/"

/* What make.py stores at row-major position k. */
static double fixture_value(vitc_dtype t, int64_t k) {
  if (t == VITC_BOOL) return k % 3 == 0;
  if (vitc_dtype_is_float(t)) return (double)k * 0.5 - 3;
  return (double)(k - 5);
}

static void check_fixture(const char *file, vitc_dtype dtype, int rank, const int64_t *dims) {
  vitc_value v;
  vitc_error err = {0};
  char *name = NULL;
  char path[256];
  snprintf(path, sizeof path, FIXTURES "%s", file);
  vitc_status st = vitc_read_tensor_file(path, &v, &name, &err);
  CHECK(st == VITC_OK);
  if (st) {
    fprintf(stderr, "  %s\n", err.msg);
    return;
  }
  CHECK(v.dtype == dtype && v.rank == rank && name && !*name);
  for (int d = 0; d < rank && d < v.rank; d++) CHECK(v.dims[d] == dims[d]);
  int64_t bad = 0;
  for (int64_t k = 0; k < vitc_numel(&v); k++) {
    double got = vitc_dtype_is_float(dtype) ? vitc_load_f(&v, k) : (double)vitc_load_i(&v, k);
    bad += got != fixture_value(dtype, k);
  }
  CHECK(bad == 0);
  free(v.data);
  free(name);
}

static void test_numpy_written(void) {
  check_fixture("f4_2x3x4.npy", VITC_F32, 3, (int64_t[]){2, 3, 4});
  check_fixture("f4_fortran_3x5.npy", VITC_F32, 2, (int64_t[]){3, 5}); /* transposed to row-major */
  check_fixture("f2_7.npy", VITC_F16, 1, (int64_t[]){7});
  check_fixture("f8_scalar.npy", VITC_F64, 0, NULL);
  check_fixture("i8_2x5.npy", VITC_I64, 2, (int64_t[]){2, 5});
  check_fixture("b1_4x2.npy", VITC_BOOL, 2, (int64_t[]){4, 2});
  vitc_value u8;
  vitc_error err = {0};
  CHECK(vitc_read_tensor_file(FIXTURES "u1_6.npy", &u8, NULL, &err) == VITC_OK);
  CHECK(u8.dtype == VITC_U8 && u8.rank == 1 && u8.dims[0] == 6 && ((uint8_t *)u8.data)[5] == 35);
  free(u8.data);
}

/* Collects a .npz's arrays in order. */
typedef struct collected {
  int n;
  char names[4][32];
  vitc_value values[4];
} collected;

static vitc_status collect(void *user, const char *name, vitc_value *v, vitc_error *err) {
  collected *c = user;
  if (c->n == 4) return vitc_fail(err, VITC_ERR_INVALID, "more than 4 arrays");
  snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
  c->values[c->n++] = *v;
  return VITC_OK;
}

static void free_collected(collected *c) {
  for (int k = 0; k < c->n; k++) free(c->values[k].data);
}

static void check_pair(const char *path) {
  collected c = {0};
  vitc_error err = {0};
  vitc_status st = vitc_read_npz(path, collect, &c, &err);
  CHECK(st == VITC_OK);
  if (st) fprintf(stderr, "  %s\n", err.msg);
  CHECK(c.n == 2);
  if (c.n == 2) {
    CHECK(!strcmp(c.names[0], "x") && !strcmp(c.names[1], "ids"));
    CHECK(c.values[0].dtype == VITC_F32 && c.values[0].rank == 2 && c.values[0].dims[1] == 3);
    CHECK(c.values[1].dtype == VITC_I64 && c.values[1].rank == 1 && c.values[1].dims[0] == 4);
    CHECK(vitc_load_f(&c.values[0], 5) == 5 * 0.5 - 3 && vitc_load_i(&c.values[1], 3) == -2);
  }
  free_collected(&c);
}

static void test_npz(void) {
  check_pair(FIXTURES "pair.npz");
  check_pair(FIXTURES "pair_compressed.npz");
}

/* numpy reads what vitc writes: the same values and the same dtype. */
static void test_round_trip(const char *dir) {
  float xs[12];
  for (int k = 0; k < 12; k++) xs[k] = (float)(k * 0.5 - 3);
  int64_t ids[4] = {-5, -4, -3, -2};
  vitc_value values[2] = {{VITC_F32, 2, {3, 4}, xs}, {VITC_I64, 1, {4}, ids}};
  vitc_error err = {0};
  char npy[512], npz[512], cmd[2048];
  snprintf(npy, sizeof npy, "%s/x.npy", dir);
  snprintf(npz, sizeof npz, "%s/pair.npz", dir);
  CHECK(vitc_write_tensor_file(npy, "x", &values[0], &err) == VITC_OK);
  CHECK(vitc_write_npz(npz, (const char *[]){"x", "ids"}, values, 2, &err) == VITC_OK);

  vitc_value back;
  CHECK(vitc_read_tensor_file(npy, &back, NULL, &err) == VITC_OK);
  CHECK(back.rank == 2 && back.dims[0] == 3 && !memcmp(back.data, xs, sizeof xs));
  free(back.data);
  collected c = {0};
  CHECK(vitc_read_npz(npz, collect, &c, &err) == VITC_OK);
  CHECK(c.n == 2 && !memcmp(c.values[1].data, ids, sizeof ids));
  free_collected(&c);

  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import numpy as np, sys\n"
           "x = np.load('%s'); p = np.load('%s')\n"
           "want = (np.arange(12) * 0.5 - 3).reshape(3, 4).astype('<f4')\n"
           "ok = x.dtype == want.dtype and (x == want).all() and (p['x'] == want).all()\n"
           "ok = ok and p['ids'].dtype == np.int64 and list(p['ids']) == [-5, -4, -3, -2]\n"
           "sys.exit(0 if ok else 1)\"",
           npy, npz);
  CHECK(system(cmd) == 0);
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, n, f);
  fclose(f);
}

static void check_refused(const char *path, vitc_status want, const char *message) {
  vitc_value v;
  vitc_error err = {0};
  CHECK(vitc_read_tensor_file(path, &v, NULL, &err) == want);
  CHECK_MSG(err.msg, message);
  CHECK_MSG(err.msg, path);
}

static void test_errors(const char *dir) {
  check_refused(FIXTURES "f4_big_endian_3.npy", VITC_ERR_UNSUPPORTED, "big-endian .npy data");
  char path[512];
  snprintf(path, sizeof path, "%s/truncated.npy", dir);
  FILE *f = fopen(FIXTURES "f4_2x3x4.npy", "rb");
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  write_bytes(path, buf, n - 4);
  check_refused(path, VITC_ERR_PARSE, ".npy data holds 92 bytes where its shape needs 96");
  write_bytes(path, buf, 20);
  check_refused(path, VITC_ERR_PARSE, "truncated .npy header");
  memcpy(buf + 10 + 10, "'<c8'", 5); /* {'descr': '<f4', … → a complex dtype */
  write_bytes(path, buf, n);
  check_refused(path, VITC_ERR_UNSUPPORTED, "unsupported .npy dtype '<c8'");

  vitc_error err = {0};
  collected c = {0};
  snprintf(path, sizeof path, "%s/not.npz", dir);
  write_bytes(path, "PK\3\4 nothing else", 18);
  CHECK(vitc_read_npz(path, collect, &c, &err) == VITC_ERR_PARSE);
  CHECK_MSG(err.msg, "not a .npz archive (no zip directory)");
  CHECK(vitc_read_npz(FIXTURES "f4_2x3x4.npy", collect, &c, &err) == VITC_ERR_PARSE);
  free_collected(&c);

  vitc_value bf16 = {VITC_BF16, 1, {2}, (uint16_t[]){0, 0}};
  snprintf(path, sizeof path, "%s/bf16.npy", dir);
  CHECK(vitc_write_tensor_file(path, "b", &bf16, &err) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(err.msg, "numpy has no dtype for bfloat16");
  CHECK(access(path, F_OK) != 0); /* no partial file */
}

int main(void) {
  char dir[] = "/tmp/vitc_test_npy.XXXXXX";
  if (!mkdtemp(dir)) return 1;
  test_numpy_written();
  test_npz();
  test_round_trip(dir);
  test_errors(dir);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  CHECK_DONE();
}
