/* test_cache.c — the compile cache as vitc_model_load uses it (backend/cache.c, api/driver.c): the first
 * load compiles and stores an entry and an index record; the next maps them without reading the model
 * and gives the same bits; a loaded model keeps no graph but its inputs and outputs; a model file written again, or other options, are not served the old
 * record; an entry compiled for other CPU features, put where the host's belongs, is compiled again;
 * storing trims the directory to its size limit; a model freed as soon as it is loaded leaves a whole entry.
 * Damaged entries and racing processes are tests/cli/cache.sh's. Runs from the source directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/driver.h"
#include "check.h"
#include "vitc.h"

#define MODEL "tests/graphs/aot_two_io/model.onnx" /* pixel.values f32[4,64], residual f32[64,4] -> logits, both */
enum { X_COUNT = 4 * 64, Z_COUNT = 64 * 4, LOGITS_COUNT = 64 * 4, BOTH_COUNT = 64 * 8 };

static char dir[64], model[128];
static uint64_t cache_max_bytes; /* the driver's target.cache_max_bytes (0: the default) */

static bool copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char buf[65536];
  size_t n;
  bool ok = in && out;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
  if (in) fclose(in);
  if (out && fclose(out)) ok = false;
  return ok;
}

/* Files in the cache directory ending in suffix; the path of one that is not `other` into path (if not
 * NULL). */
static int count_files(const char *suffix, const char *other, char *path, size_t n) {
  DIR *d = opendir(dir);
  int count = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    if (len <= sl || strcmp(e->d_name + len - sl, suffix)) continue;
    count++;
    char found[256];
    snprintf(found, sizeof found, "%s/%s", dir, e->d_name);
    if (path && (!other || strcmp(found, other))) snprintf(path, n, "%s", found);
  }
  if (d) closedir(d);
  return count;
}

/* Loads the model through the public API and runs it on fixed inputs; false on any failure. */
static bool load_and_run(const vitc_options *o, float *logits, float *both) {
  static float x[X_COUNT], z[Z_COUNT];
  for (int i = 0; i < X_COUNT; i++) x[i] = (float)((i * 37) % 101 - 50) / 25.0f;
  for (int i = 0; i < Z_COUNT; i++) z[i] = (float)((i * 53) % 89 - 44) / 20.0f;
  vitc_model *m = NULL;
  vitc_context *c = NULL;
  bool ok = !vitc_model_load(model, o, &m) && !vitc_context_new(m, &c) &&
            !vitc_run(c, (const void *[]){x, z}, (void *[]){logits, both});
  if (!ok) fprintf(stderr, "%s\n", vitc_last_error());
  vitc_context_free(c);
  vitc_model_free(m);
  return ok;
}

/* The index records as they are: their inodes (writing one renames a new file over it). */
static unsigned long long index_state(void) {
  DIR *d = opendir(dir);
  unsigned long long state = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len > 4 && !strcmp(e->d_name + len - 4, ".src")) state = state * 1000003u + e->d_ino;
  }
  if (d) closedir(d);
  return state;
}

/* How the driver served a load: 'i' mapped from the cache through the index (no index record written),
 * 'e' mapped from the cache after reading the graph (which writes the record), 'c' compiled; 0 on failure. */
static char served(const vitc_options *o) {
  vitc_driver_options d = {.passes = {.opt_level = o->opt_level},
                           .target = {.cpu = o->cpu, .features = o->features, .cache_max_bytes = cache_max_bytes},
                           .memory_limit = o->max_memory};
  vitc_graph *g = NULL;
  vitc_compiled *c = NULL;
  vitc_error err;
  char how = 0;
  unsigned long long before = index_state();
  if (!vitc_driver_load_compiled(model, &d, &g, &c, &err)) {
    how = !c->mapping ? 'c' : index_state() != before ? 'e' : 'i';
    CHECK(g->nnodes == 0 && g->ninputs == 2 && g->noutputs == 2); /* the graph keeps only its inputs and outputs */
  }
  vitc_compiled_free(c);
  vitc_graph_free(g);
  return how;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/vitc_cache_test.XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  CHECK(copy_file(MODEL, model));
  setenv("VITC_CACHE_DIR", dir, 1);
  vitc_options host = VITC_OPTIONS_DEFAULT, other = VITC_OPTIONS_DEFAULT;
  other.cpu = "x86-64"; /* SSE2 only: another feature list, another entry */

  /* A miss compiles and stores; the hit maps the entry through the index and gives the same bits. */
  static float logits[2][LOGITS_COUNT], both[2][BOTH_COUNT];
  char host_entry[256] = "", other_entry[256] = "";
  CHECK(load_and_run(&host, logits[0], both[0]));
  CHECK(count_files(".jit", NULL, host_entry, sizeof host_entry) == 1 && count_files(".src", NULL, NULL, 0) == 1);
  CHECK(served(&host) == 'i');
  CHECK(load_and_run(&host, logits[1], both[1]));
  CHECK(!memcmp(logits[0], logits[1], sizeof logits[0]) && !memcmp(both[0], both[1], sizeof both[0]));

  /* Without the cache: nothing is read (a compilation, not the entry) and nothing more is written. */
  vitc_options none = host;
  none.no_cache = 1;
  CHECK(load_and_run(&none, logits[1], both[1]));
  CHECK(!memcmp(logits[0], logits[1], sizeof logits[0]));
  CHECK(count_files(".jit", NULL, NULL, 0) == 1 && count_files(".src", NULL, NULL, 0) == 1);

  /* An entry compiled for x86-64 put at the host entry's path is not used: compiled again, and put right. */
  CHECK(served(&other) == 'c');
  CHECK(count_files(".jit", host_entry, other_entry, sizeof other_entry) == 2);
  CHECK(served(&other) == 'i');
  CHECK(copy_file(other_entry, host_entry));
  CHECK(served(&host) == 'c');
  CHECK(served(&host) == 'i');
  CHECK(load_and_run(&host, logits[1], both[1]));
  CHECK(!memcmp(logits[0], logits[1], sizeof logits[0]) && !memcmp(both[0], both[1], sizeof both[0]));

  /* Another memory limit is another compilation (the limit is checked while compiling) and record. */
  vitc_options limited = host;
  limited.max_memory = 1 << 30;
  CHECK(served(&limited) == 'c');
  CHECK(served(&limited) == 'i' && served(&host) == 'i');
  CHECK(count_files(".jit", NULL, NULL, 0) == 3 && count_files(".src", NULL, NULL, 0) == 3);

  /* The model file written again (same bytes, new times): its old record does not serve it, the graph's
   * entry does. */
  CHECK(copy_file(MODEL, model));
  struct timespec later[2] = {{.tv_sec = 1, .tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) + 5, .tv_nsec = 0}};
  CHECK(utimensat(AT_FDCWD, model, later, 0) == 0);
  CHECK(served(&host) == 'e');
  CHECK(served(&host) == 'i');

  /* Trimming: storing an entry with room for one removes the others (least recently used first) and a
   * temporary file its writer left long ago, but not one being written now. */
  char stale[128], fresh[128];
  snprintf(stale, sizeof stale, "%s/x.jit.tmp.old", dir);
  snprintf(fresh, sizeof fresh, "%s/x.jit.tmp.new", dir);
  CHECK(copy_file(MODEL, stale) && copy_file(MODEL, fresh));
  struct timespec old[2] = {{.tv_sec = 1, .tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) - 7200, .tv_nsec = 0}};
  CHECK(utimensat(AT_FDCWD, stale, old, 0) == 0);
  CHECK(count_files(".jit", NULL, NULL, 0) == 3);
  cache_max_bytes = 1;
  limited.max_memory = 1 << 29;
  CHECK(served(&limited) == 'c');
  CHECK(count_files(".jit", NULL, NULL, 0) == 1);
  CHECK(access(stale, F_OK) != 0 && access(fresh, F_OK) == 0);
  CHECK(served(&limited) == 'i');
  CHECK(served(&host) == 'c'); /* its entry went */
  cache_max_bytes = 0;         /* 4 GiB: both stay */
  CHECK(served(&limited) == 'c' && count_files(".jit", NULL, NULL, 0) == 2);

  /* A model freed right after loading, while its entry is written in the background, waits for it: the
   * next load maps a whole entry through the index. */
  vitc_options quick = host;
  quick.max_memory = 1 << 28;
  vitc_model *loaded = NULL;
  CHECK(vitc_model_load(model, &quick, &loaded) == VITC_OK);
  vitc_model_free(loaded);
  CHECK(count_files(".jit", NULL, NULL, 0) == 3);
  CHECK(served(&quick) == 'i');

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  CHECK_DONE();
}
