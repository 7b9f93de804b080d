/* test_api_concurrency.c — one compiled model shared by 8 host threads, each running it 100 times on its
 * own context, gives results bit-identical to a single-threaded run of the same inputs; two models
 * compile at the same time in one process; load/compile/run/free cycles leave nothing behind (run this
 * file under LeakSanitizer: `make test-sanitize`, or VITC_API_CYCLES=100 with -fsanitize=address).
 * Runs from the source directory (ctest's working directory). */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "vitc.h"

#define MODEL "tests/graphs/aot_two_io/model.onnx" /* pixel.values f32[4,64], residual f32[64,4] -> logits, both */
#define OTHER_MODEL "tests/graphs/gather_rows/model.onnx"
#define NTHREADS 8
#define RUNS 100
#define INPUTS 4 /* distinct inputs the runs cycle through */

enum { X_COUNT = 4 * 64, Z_COUNT = 64 * 4, LOGITS_COUNT = 64 * 4, BOTH_COUNT = 64 * 8 };

static float x[INPUTS][X_COUNT], z[INPUTS][Z_COUNT];
static float want_logits[INPUTS][LOGITS_COUNT], want_both[INPUTS][BOTH_COUNT];

static void fill(float *v, int n, unsigned seed) {
  for (int i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (float)((int)(seed >> 9) % 2001 - 1000) / 250.0f;
  }
}

typedef struct worker {
  const vitc_model *m;
  int index;
  int mismatches; /* checked by the main thread: CHECK's counters are not thread-safe */
  vitc_status status;
  char message[512];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  float logits[LOGITS_COUNT], both[BOTH_COUNT];
  vitc_context *c = NULL;
  if ((w->status = vitc_context_new(w->m, &c))) goto done;
  for (int r = 0; r < RUNS && !w->status; r++) {
    int k = (w->index + r) % INPUTS;
    if ((w->status = vitc_run(c, (const void *[]){x[k], z[k]}, (void *[]){logits, both}))) break;
    w->mismatches += memcmp(logits, want_logits[k], sizeof logits) != 0;
    w->mismatches += memcmp(both, want_both[k], sizeof both) != 0;
  }
done:
  if (w->status) snprintf(w->message, sizeof w->message, "%s", vitc_last_error());
  vitc_context_free(c);
  return NULL;
}

static void test_shared_model(void) {
  vitc_options o = {.opt_level = VITC_OPT_DEFAULT, .nthreads = 1};
  vitc_model *m = NULL;
  vitc_context *c = NULL;
  CHECK(vitc_model_load(MODEL, &o, &m) == VITC_OK);
  if (!m) return;
  CHECK(vitc_context_new(m, &c) == VITC_OK);
  for (int k = 0; k < INPUTS; k++) {
    fill(x[k], X_COUNT, 17u * (unsigned)k + 1);
    fill(z[k], Z_COUNT, 31u * (unsigned)k + 2);
    CHECK(vitc_run(c, (const void *[]){x[k], z[k]}, (void *[]){want_logits[k], want_both[k]}) == VITC_OK);
  }
  vitc_context_free(c);
  worker workers[NTHREADS];
  pthread_t threads[NTHREADS];
  for (int t = 0; t < NTHREADS; t++) {
    workers[t] = (worker){.m = m, .index = t};
    CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
  }
  for (int t = 0; t < NTHREADS; t++) pthread_join(threads[t], NULL);
  for (int t = 0; t < NTHREADS; t++) {
    if (workers[t].status) fprintf(stderr, "thread %d: %s\n", t, workers[t].message);
    CHECK(workers[t].status == VITC_OK);
    CHECK(workers[t].mismatches == 0);
  }
  vitc_model_free(m);
}

typedef struct compiler {
  const char *path;
  vitc_model *m;
  vitc_status status;
  char message[512];
} compiler;

static void *compile(void *arg) {
  compiler *cm = arg;
  vitc_options o = {.opt_level = VITC_OPT_DEFAULT, .nthreads = 1};
  if ((cm->status = vitc_model_load(cm->path, &o, &cm->m)))
    snprintf(cm->message, sizeof cm->message, "%s", vitc_last_error());
  return NULL;
}

/* Two JIT compilations at once, then each model runs correctly. */
static void test_concurrent_compiles(void) {
  compiler cms[2] = {{.path = MODEL}, {.path = OTHER_MODEL}};
  pthread_t threads[2];
  for (int t = 0; t < 2; t++) CHECK(pthread_create(&threads[t], NULL, compile, &cms[t]) == 0);
  for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
  for (int t = 0; t < 2; t++) {
    if (cms[t].status) fprintf(stderr, "%s: %s\n", cms[t].path, cms[t].message);
    CHECK(cms[t].status == VITC_OK);
  }
  vitc_context *c = NULL;
  float logits[LOGITS_COUNT], both[BOTH_COUNT], y[6];
  int64_t indices[2] = {3, -1};
  if (cms[0].m && !vitc_context_new(cms[0].m, &c)) {
    CHECK(vitc_run(c, (const void *[]){x[0], z[0]}, (void *[]){logits, both}) == VITC_OK);
    CHECK(!memcmp(logits, want_logits[0], sizeof logits) && !memcmp(both, want_both[0], sizeof both));
    vitc_context_free(c);
  }
  if (cms[1].m && !vitc_context_new(cms[1].m, &c)) {
    CHECK(vitc_run(c, (const void *[]){indices}, (void *[]){y}) == VITC_OK);
    CHECK(y[0] == 9 && y[2] == 11 && y[3] == 27 && y[5] == 29); /* rows 3 and 9 of arange(30) */
    vitc_context_free(c);
  }
  vitc_model_free(cms[0].m);
  vitc_model_free(cms[1].m);
}

/* Load, compile, run (a good run and a failing one) and free, `cycles` times; under LeakSanitizer the
 * process's exit reports anything left. */
static void test_cycles(int cycles) {
  for (int i = 0; i < cycles; i++) {
    vitc_model *m = NULL;
    vitc_context *c = NULL;
    vitc_options o = {.opt_level = VITC_OPT_DEFAULT, .nthreads = 2};
    float y[6];
    int64_t good[2] = {1, 2}, bad[2] = {0, 10};
    CHECK(vitc_model_load(OTHER_MODEL, &o, &m) == VITC_OK);
    if (m && !vitc_context_new(m, &c)) {
      CHECK(vitc_run(c, (const void *[]){good}, (void *[]){y}) == VITC_OK);
      CHECK(vitc_run(c, (const void *[]){bad}, (void *[]){y}) == VITC_ERR_INVALID);
    }
    vitc_context_free(c);
    vitc_model_free(m);
  }
}

int main(void) {
  const char *cycles = getenv("VITC_API_CYCLES"); /* 100 under the sanitizers; a few in the plain suite */
  test_shared_model();
  test_concurrent_compiles();
  test_cycles(cycles ? atoi(cycles) : 3);
  CHECK_DONE();
}
