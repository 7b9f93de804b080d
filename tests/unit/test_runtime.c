/* test_runtime.c — runtime/: parallel_for covers its range exactly once on any thread count (also when the
 * workers start late and the caller runs their shares), weights
 * side files are checked, and the per-node timing hook sees every node of a compiled model. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/backend.h"
#include "check.h"
#include "passes/passes.h"
#include "runtime/vitc_rt.h"

static atomic_int hits[1000];

static void mark(void *arg, int64_t begin, int64_t end) {
  (void)arg;
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&hits[i], 1);
}

static void test_parallel_for(void) {
  for (int threads = 1; threads <= 4; threads++) {
    vitc_rt_ctx *ctx = vitc_rt_ctx_new(100, NULL, threads);
    CHECK(ctx && vitc_rt_num_threads(ctx) == threads);
    for (int n = 0; n <= 1000; n += 333) {
      for (int i = 0; i < 1000; i++) atomic_store(&hits[i], 0);
      for (int round = 0; round < 3; round++) vitc_rt_parallel_for(ctx, mark, NULL, n);
      int wrong = 0;
      for (int i = 0; i < 1000; i++) wrong += atomic_load(&hits[i]) != (i < n ? 3 : 0);
      CHECK(wrong == 0);
    }
    vitc_rt_ctx_free(ctx);
  }
}

/* Shares of n = 7 on 4 threads: [0, 2), [2, 4), [4, 6), [6, 7); any other range is counted as bad. */
static atomic_int bad_ranges;

static void mark_share(void *arg, int64_t begin, int64_t end) {
  if (begin % 2 || end != (begin + 2 < 7 ? begin + 2 : 7)) atomic_fetch_add(&bad_ranges, 1);
  mark(arg, begin, end);
}

/* Back-to-back jobs on more threads than the machine may give: workers start late, the caller claims their
 * shares, a late worker may claim the next job's. Every element still runs once per job, in the same shares. */
static void test_late_workers(void) {
  enum { JOBS = 3000 };
  vitc_rt_ctx *ctx = vitc_rt_ctx_new(100, NULL, 4);
  CHECK(ctx != NULL);
  for (int i = 0; i < 7; i++) atomic_store(&hits[i], 0);
  for (int job = 0; ctx && job < JOBS; job++) vitc_rt_parallel_for(ctx, mark_share, NULL, 7);
  int wrong = 0;
  for (int i = 0; i < 7; i++) wrong += atomic_load(&hits[i]) != JOBS;
  CHECK(wrong == 0 && atomic_load(&bad_ranges) == 0);
  vitc_rt_ctx_free(ctx);
}

/* vitc_rt_hash_pieces: the pieces it reports, in order, one after another. */
typedef struct pieces {
  const unsigned char *next;
  int count;
  bool in_order;
} pieces;

static void record_piece(void *user, const void *start, size_t bytes) {
  pieces *p = user;
  p->in_order &= start == p->next && bytes > 0;
  p->next = (const unsigned char *)start + bytes;
  p->count++;
}

/* Hashed piece by piece, any data gives vitc_rt_hash's value, and every whole 32-byte block is reported in
 * pieces of the size asked (rounded down to blocks; the last shorter); the bytes after them are not. */
static void test_hash_pieces(void) {
  static unsigned char data[1000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 131 + 7);
  static const size_t lens[] = {0, 31, 32, 33, 320, 999, 1000}, sizes[] = {1, 32, 33, 64, 100, 1000, 5000};
  for (size_t a = 0; a < sizeof lens / sizeof *lens; a++)
    for (size_t b = 0; b < sizeof sizes / sizeof *sizes; b++) {
      size_t len = lens[a], piece = sizes[b] < 32 ? 32 : sizes[b] / 32 * 32, blocks = len / 32 * 32;
      pieces p = {data, 0, true};
      CHECK(vitc_rt_hash_pieces(data, len, sizes[b], record_piece, &p) == vitc_rt_hash(data, len));
      CHECK(p.in_order && p.next == data + blocks && p.count == (int)((blocks + piece - 1) / piece));
    }
  CHECK(vitc_rt_hash_pieces(data, 999, 64, NULL, NULL) == vitc_rt_hash(data, 999));
  CHECK(vitc_rt_hash(data, 999) != vitc_rt_hash(data, 1000));
}

static void test_mapped_weights(void) {
  char path[] = "/tmp/vitc-rt-XXXXXX", err[512];
  int fd = mkstemp(path);
  static const char data[] = "weights of a model";
  CHECK(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data);
  close(fd);
  uint64_t hash = vitc_rt_hash(data, sizeof data);
  CHECK(hash != vitc_rt_hash(data, sizeof data - 1));
  /* the lanes of a 32-byte block are told apart: its words swapped hash differently */
  uint64_t words[8] = {1, 2, 3, 4, 5, 6, 7, 8}, swapped[8] = {2, 1, 3, 4, 5, 6, 7, 8};
  CHECK(vitc_rt_hash(words, sizeof words) != vitc_rt_hash(swapped, sizeof swapped));
  vitc_rt_ctx *ctx = vitc_rt_ctx_new_mapped(64, path, sizeof data, hash, 1, err, sizeof err);
  CHECK(ctx && !memcmp(ctx->weights, data, sizeof data));
  vitc_rt_ctx_free(ctx);
  CHECK(!vitc_rt_ctx_new_mapped(64, path, sizeof data, hash + 1, 1, err, sizeof err));
  CHECK_MSG(err, "does not match the model");
  CHECK(!vitc_rt_ctx_new_mapped(64, path, sizeof data + 1, hash, 1, err, sizeof err));
  CHECK_MSG(err, "the model expects");
  unlink(path);
  CHECK(!vitc_rt_ctx_new_mapped(64, path, sizeof data, hash, 1, err, sizeof err));
  CHECK_MSG(err, "cannot open weights file");
}

typedef struct hook_log {
  int calls, adds;
} hook_log;

static void count_node(void *user, int node, const char *label, uint64_t ns) {
  hook_log *log = user;
  log->calls++;
  log->adds += strstr(label, "(Add)") != NULL;
}

/* Three traced runs of the two-node model: six events in memory and in the JSON file, which Python's
 * json module must parse; a trace of capacity 3 keeps three and counts the rest as dropped. */
static void test_trace(vitc_compiled *c, const vitc_graph *g, const vitc_value *in) {
  vitc_error err = {0};
  vitc_value out;
  char path[] = "/tmp/vitc-trace-XXXXXX", msg[256], cmd[1024];
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  for (int k = 0; k < 2; k++) {
    size_t capacity = k ? 3 : 100;
    vitc_rt_trace *t = vitc_rt_trace_new(capacity);
    vitc_compiled_set_node_hook(c, vitc_rt_trace_record, t);
    for (int run = 0; run < 3; run++) {
      CHECK(vitc_compiled_run_once(c, g, 1, in, &out, &err) == VITC_OK);
      free(out.data);
    }
    vitc_compiled_set_node_hook(c, NULL, NULL);
    size_t n;
    const vitc_rt_trace_event *e = vitc_rt_trace_events(t, &n);
    CHECK(n == (capacity == 100 ? 6 : 3));
    CHECK(e[0].run == 0 && e[0].node == 0 && strstr(e[0].label, "(Add)") && e[1].node == 1);
    CHECK(n < 6 || (e[5].run == 2 && e[4].start_ns >= e[1].start_ns + e[1].duration_ns));
    CHECK(vitc_rt_trace_write(t, path, msg, sizeof msg) == 0);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json, sys\n"
             "d = json.load(open('%s')); ev = d['traceEvents']\n"
             "ok = len(ev) == %zu and d['otherData'] == {'runs': 3, 'dropped_events': %zu}\n"
             "ok = ok and all(e['ph'] == 'X' and e['dur'] >= 0 and e['cat'] in ('Add', 'Relu') for e in ev)\n"
             "ok = ok and ev[0]['args'] == {'run': 0, 'node': 0, 'name': 'add'} and ev[1]['name'] == 'relu (Relu)'\n"
             "sys.exit(0 if ok else 1)\"",
             path, n, 6 - n);
    CHECK(system(cmd) == 0);
    vitc_rt_trace_free(t);
  }
  vitc_rt_trace *empty = vitc_rt_trace_new(1);
  CHECK(vitc_rt_trace_write(empty, "/nonexistent-dir/t.json", msg, sizeof msg) == -1);
  CHECK_MSG(msg, "/nonexistent-dir/t.json: cannot create a temporary file");
  vitc_rt_trace_free(empty);
  unlink(path);
}

/* y = relu(x + x): two nodes, so two hook calls per run. */
static void test_node_hook(void) {
  vitc_graph *g = vitc_graph_new("hook.onnx");
  int x = vitc_graph_add_tensor(g, "x"), s = vitc_graph_add_tensor(g, "s"), y = vitc_graph_add_tensor(g, "y");
  g->tensors[x].v = (vitc_value){.dtype = VITC_F32, .rank = 1, .dims = {5}};
  g->tensors[x].shape_known = true;
  int add_in[2] = {x, x};
  vitc_graph_add_node(g, VITC_OP_Add, "add", add_in, 2, &s, 1, NULL, 0);
  vitc_graph_add_node(g, VITC_OP_Relu, "relu", &s, 1, &y, 1, NULL, 0);
  g->inputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->inputs[g->ninputs++] = x;
  g->outputs[g->noutputs++] = y;
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 0};
  CHECK(vitc_run_passes(g, &po, &err) == VITC_OK);
  vitc_target_options host = {NULL, NULL, NULL, 2};
  vitc_compiled *c = NULL;
  CHECK(vitc_compile_jit(g, &host, &c, &err) == VITC_OK);
  hook_log log = {0};
  float xs[5] = {-3, -1, 0, 1, 2.5f};
  vitc_value in = g->tensors[x].v, out;
  in.data = xs;
  if (c) {
    CHECK(vitc_compiled_run_once(c, g, 1, &in, &out, &err) == VITC_OK);
    CHECK(log.calls == 0); /* no hook installed: nothing is timed */
    free(out.data);
    vitc_compiled_set_node_hook(c, count_node, &log);
    CHECK(vitc_compiled_run_once(c, g, 1, &in, &out, &err) == VITC_OK);
    CHECK(log.calls == 2 && log.adds == 1);
    CHECK_NEAR(((float *)out.data)[0], 0, 0);
    CHECK_NEAR(((float *)out.data)[4], 5, 0);
    free(out.data);
    test_trace(c, g, &in);
  }
  vitc_compiled_free(c);
  vitc_graph_free(g);
}

/* Reshape to a shape given as an input: the evaluator runs it, compiled code refuses it by name. */
static void test_dynamic_shape_refused(void) {
  vitc_graph *g = vitc_graph_new("dyn.onnx");
  int x = vitc_graph_add_tensor(g, "x"), s = vitc_graph_add_tensor(g, "s"), y = vitc_graph_add_tensor(g, "y");
  g->tensors[x].v = (vitc_value){.dtype = VITC_F32, .rank = 1, .dims = {6}};
  g->tensors[s].v = (vitc_value){.dtype = VITC_I64, .rank = 1, .dims = {2}};
  g->tensors[x].shape_known = g->tensors[s].shape_known = true;
  int in[2] = {x, s};
  vitc_graph_add_node(g, VITC_OP_Reshape, "reshape", in, 2, &y, 1, NULL, 0);
  g->inputs = vitc_arena_alloc(g->arena, 2 * sizeof(int));
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->inputs[g->ninputs++] = x;
  g->inputs[g->ninputs++] = s;
  g->outputs[g->noutputs++] = y;
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 1, .verify_each = true};
  CHECK(vitc_run_passes(g, &po, &err) == VITC_OK);
  CHECK(!g->tensors[y].shape_known);
  vitc_target_options host = {NULL, NULL, NULL, 2};
  vitc_compiled *c = NULL;
  CHECK(vitc_compile_jit(g, &host, &c, &err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(err.msg, "dyn.onnx: node 'reshape' (Reshape): its shapes depend on values known only at run time");
  float xs[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {3, 2};
  vitc_value inputs[2] = {g->tensors[x].v, g->tensors[s].v}, out;
  inputs[0].data = xs;
  inputs[1].data = shape;
  CHECK(vitc_eval_graph(g, inputs, &out, &err) == VITC_OK);
  CHECK(out.rank == 2 && out.dims[0] == 3 && out.dims[1] == 2 && ((float *)out.data)[5] == 6);
  free(out.data);
  vitc_graph_free(g);
}

/* The default thread count follows VITC_NUM_THREADS, else the affinity mask (as under `taskset -c 0`). */
static void test_default_threads(void) {
  cpu_set_t all, one;
  CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
  unsetenv("VITC_NUM_THREADS");
  int usable = vitc_rt_default_threads();
  CHECK(usable >= 1 && usable <= CPU_COUNT(&all));
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &all)) {
      CPU_SET(c, &one);
      break;
    }
  CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
  CHECK(vitc_rt_default_threads() == 1);
  vitc_rt_ctx *ctx = vitc_rt_ctx_new(64, NULL, 0);
  CHECK(ctx && vitc_rt_num_threads(ctx) == 1);
  vitc_rt_ctx_free(ctx);
  setenv("VITC_NUM_THREADS", "3", 1); /* the host's word beats the mask */
  CHECK(vitc_rt_default_threads() == 3);
  ctx = vitc_rt_ctx_new(64, NULL, 0);
  CHECK(ctx && vitc_rt_num_threads(ctx) == 3);
  vitc_rt_ctx_free(ctx);
  ctx = vitc_rt_ctx_new(64, NULL, 2); /* and an explicit count beats both */
  CHECK(ctx && vitc_rt_num_threads(ctx) == 2);
  vitc_rt_ctx_free(ctx);
  setenv("VITC_NUM_THREADS", "0x2", 1);
  CHECK(vitc_rt_default_threads() == 1);
  /* but a context asked for the default refuses a VITC_NUM_THREADS it cannot read, saying why */
  CHECK(vitc_rt_resolve_threads(0) == -1 && strstr(vitc_rt_last_error(), "VITC_NUM_THREADS is '0x2'"));
  CHECK(vitc_rt_ctx_new(64, NULL, 0) == NULL && strstr(vitc_rt_last_error(), "VITC_NUM_THREADS is '0x2'"));
  ctx = vitc_rt_ctx_new(64, NULL, 2); /* an explicit count does not read it */
  CHECK(ctx && vitc_rt_num_threads(ctx) == 2);
  vitc_rt_ctx_free(ctx);
  CHECK(vitc_rt_resolve_threads(VITC_RT_MAX_THREADS + 1) == -1 && strstr(vitc_rt_last_error(), "at most"));
  unsetenv("VITC_NUM_THREADS");
  CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
  CHECK(vitc_rt_parse_threads("4") == 4 && vitc_rt_parse_threads("") == 0 && vitc_rt_parse_threads(NULL) == 0);
  CHECK(vitc_rt_parse_threads("-1") == -1 && vitc_rt_parse_threads("2x") == -1 &&
        vitc_rt_parse_threads("1025") == -1);
}

/* The runtime's answer for x86 features agrees with the kernel's flags in /proc/cpuinfo. */
static void test_cpu_features(void) {
  static const char *const pairs[][2] = {{"avx2", "avx2"},           {"fma", "fma"},
                                         {"avx512f", "avx512f"},     {"avx512bw", "avx512bw"},
                                         {"avx512vnni", "avx512_vnni"}, {"avx512bf16", "avx512_bf16"},
                                         {"avx512fp16", "avx512_fp16"}};
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192] = "", flags[8192] = "";
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "flags", 5)) {
      snprintf(flags, sizeof flags, " %s ", strchr(line, ':') + 1);
      break;
    }
  if (f) fclose(f);
  char missing[64], list[64], word[64];
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs && *flags; i++) {
    snprintf(list, sizeof list, "+%s,-sse4a", pairs[i][0]);
    snprintf(word, sizeof word, " %s", pairs[i][1]);
    char *at = strstr(flags, word);
    bool listed = at && (at[strlen(word)] == ' ' || at[strlen(word)] == '\n');
    CHECK(vitc_rt_cpu_supports(list, missing, sizeof missing) == listed);
    if (!listed) CHECK(!strcmp(missing, pairs[i][0]));
  }
  CHECK(vitc_rt_cpu_supports("", missing, sizeof missing));
  CHECK(vitc_rt_cpu_supports("+some-tuning-flag,-avx512f", missing, sizeof missing)); /* untestable, and minus */
}

int main(void) {
  test_cpu_features();
  test_default_threads();
  test_dynamic_shape_refused();
  test_parallel_for();
  test_late_workers();
  test_hash_pieces();
  test_mapped_weights();
  test_node_hook();
  CHECK_DONE();
}
