/* vitc_rt.h — the runtime that generated code links against (libvitc_rt.a), and all it needs.
 *
 * No LLVM here: an AOT-compiled model needs only this library and libc/libm/pthread.
 *
 * A context holds what one running instance of a compiled model owns: its scratch arena (the planned
 * activations and kernels' work space: a run never allocates), the model's packed weights, and a thread
 * pool. Generated code reads the first two fields directly (weights, scratch: pointer-sized slots
 * VITC_RT_CTX_* below, which backend/codegen.c uses by name), so their order is part of the ABI.
 * A context is used by one host thread at a time; several contexts of one model run concurrently. */
#ifndef VITC_RT_H
#define VITC_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vitc_rt_pool vitc_rt_pool;

/* Timing hook: called after each node of a run with the node's index, "name (Op)" and its wall time. */
typedef void (*vitc_rt_node_hook)(void *user, int node, const char *label, uint64_t nanoseconds);

typedef struct vitc_rt_ctx {
  const void *weights;    /* ABI: slot VITC_RT_CTX_WEIGHTS */
  void *scratch;          /* ABI: slot VITC_RT_CTX_SCRATCH */
  vitc_rt_node_hook hook; /* NULL: no timing (vitc_rt_node_start) */
  void *hook_user;
  vitc_rt_pool *pool;
  void *weights_mapping; /* non-NULL when the weights are a mapped side file */
  size_t weights_mapping_len;
  char error[512];
} vitc_rt_ctx;

/* The fields generated code reads, as indices of pointer-sized slots from the context's start. */
enum { VITC_RT_CTX_WEIGHTS = 0, VITC_RT_CTX_SCRATCH = 1 };
#ifndef __cplusplus
_Static_assert(offsetof(vitc_rt_ctx, weights) == VITC_RT_CTX_WEIGHTS * sizeof(void *), "vitc_rt_ctx ABI");
_Static_assert(offsetof(vitc_rt_ctx, scratch) == VITC_RT_CTX_SCRATCH * sizeof(void *), "vitc_rt_ctx ABI");
#endif

/* nthreads <= 0 picks vitc_rt_default_threads(). NULL when out of memory, when nthreads exceeds
 * VITC_RT_MAX_THREADS, or when nthreads <= 0 and VITC_NUM_THREADS is set to something else than a count
 * (a typo must not silently run on another number of threads): vitc_rt_last_error() says which. */

vitc_rt_ctx *vitc_rt_ctx_new(size_t scratch_bytes, const void *weights, int nthreads);
/* As vitc_rt_ctx_new, with weights mapped from a side file written by `vitc compile --weights=FILE`;
 * the file's size and hash must match. On failure returns NULL and writes the reason to err. */
vitc_rt_ctx *vitc_rt_ctx_new_mapped(size_t scratch_bytes, const char *weights_path, uint64_t size, uint64_t hash,
                                    int nthreads, char *err, size_t errlen);
void vitc_rt_ctx_free(vitc_rt_ctx *ctx);

/* Calls fn(arg, begin, end) over [0, n) split into contiguous chunks across the context's threads
 * (the caller's thread takes a share); returns when all are done. */
typedef void (*vitc_rt_task)(void *arg, int64_t begin, int64_t end);
void vitc_rt_parallel_for(vitc_rt_ctx *ctx, vitc_rt_task fn, void *arg, int64_t n);
int vitc_rt_num_threads(const vitc_rt_ctx *ctx);

/* Whether this CPU has every "+feature" of an LLVM feature list ("+avx2,+fma,-avx512f"); when not, writes
 * the first missing one to `missing`. Features the runtime cannot test count as present. */
#include <stdbool.h>
bool vitc_rt_cpu_supports(const char *features, char *missing, size_t missing_len);
/* What NAME_create / NAME_create_mapped check first: 0 when this CPU has every feature, else -1 with the
 * reason in err (when not NULL) and in vitc_rt_last_error(). */
int vitc_rt_require_cpu(const char *features, char *err, size_t errlen);
/* The calling thread's last runtime failure that had no error buffer to go to ("" when none). */
const char *vitc_rt_last_error(void);

#define VITC_RT_MAX_THREADS 1024
/* The threads a context starts by default: $VITC_NUM_THREADS when it holds a number in
 * 1..VITC_RT_MAX_THREADS, else the CPUs this process may run on (its affinity mask, capped by its
 * cgroup's CPU quota). */
int vitc_rt_default_threads(void);
/* The threads a context asked for nthreads runs: nthreads itself (1..VITC_RT_MAX_THREADS), or for
 * nthreads <= 0 vitc_rt_default_threads(); -1 with the reason in vitc_rt_last_error() when nthreads is
 * too large or VITC_NUM_THREADS is set but unreadable. */
int vitc_rt_resolve_threads(int nthreads);
/* A thread count as VITC_NUM_THREADS spells it: 1..VITC_RT_MAX_THREADS, 0 for
 * NULL or "", -1 for anything else. */
int vitc_rt_parse_threads(const char *text);

/* Errors of generated code: a kernel that meets bad input data (an index out of range) records it with
 * vitc_rt_index_error and goes on without touching memory outside its buffers; after that node the run
 * stops and NAME_run returns non-zero. The message, "node 'NAME' (Op): index … is out of range for an axis
 * of size …", stays in ctx->error (vitc_rt_error) until the next run, which vitc_rt_run_begin clears. */
void vitc_rt_run_begin(vitc_rt_ctx *ctx);
void vitc_rt_index_error(vitc_rt_ctx *ctx, int64_t index, int64_t bound);
/* Whether the node just run recorded an error; if so, names it (node: "node 'NAME' (Op)") in the message. */
int vitc_rt_node_failed(vitc_rt_ctx *ctx, const char *node);
/* The message of the last failed run of ctx, "" when it succeeded. */
const char *vitc_rt_error(const vitc_rt_ctx *ctx);

/* Installs (or, with NULL, removes) the timing hook of ctx. */
void vitc_rt_set_node_hook(vitc_rt_ctx *ctx, vitc_rt_node_hook hook, void *user);
/* What generated code calls around each node: start returns the time when a hook is installed (0 when
 * not), done calls the hook if there is one. Calls rather than branches keep NAME_run straight-line
 * code, which LLVM compiles in time linear in the number of nodes. */
uint64_t vitc_rt_node_start(const vitc_rt_ctx *ctx);
void vitc_rt_node_done(vitc_rt_ctx *ctx, int node, const char *label, uint64_t start_ns);

/* Tracing, for any context (JIT or AOT):
 *   vitc_rt_trace *t = vitc_rt_trace_new(100000);          events are allocated now: runs never allocate
 *   vitc_rt_set_node_hook(ctx, vitc_rt_trace_record, t);    one event per node per run, at most 100000
 *   … runs …
 *   vitc_rt_trace_write(t, "run.json", err, sizeof err);   Chrome trace-event JSON (Perfetto opens it)
 *   vitc_rt_set_node_hook(ctx, NULL, NULL); vitc_rt_trace_free(t);
 * vitc_rt_trace_new returns NULL when out of memory; vitc_rt_trace_write returns 0, or -1 with a message,
 * and replaces the file atomically. */
typedef struct vitc_rt_trace vitc_rt_trace;
typedef struct vitc_rt_trace_event {
  const char *label; /* "node (Op)" */
  uint64_t start_ns, duration_ns;
  int node, run;     /* run: 0 for the first run recorded */
  int thread;        /* the host thread's id (gettid) */
} vitc_rt_trace_event;
vitc_rt_trace *vitc_rt_trace_new(size_t max_events);
void vitc_rt_trace_record(void *trace, int node, const char *label, uint64_t nanoseconds);
int vitc_rt_trace_write(const vitc_rt_trace *t, const char *path, char *err, size_t errlen);
const vitc_rt_trace_event *vitc_rt_trace_events(const vitc_rt_trace *t, size_t *count);
void vitc_rt_trace_free(vitc_rt_trace *t);

/* The hash `vitc compile --weights` records for a weights file. */
uint64_t vitc_rt_hash(const void *data, size_t len);
/* The same hash, calling done(user, start, bytes) on each piece of about `piece` bytes once it is read (a
 * caller hashing a mapping gives back each piece's pages: they need not all be resident at once). */
uint64_t vitc_rt_hash_pieces(const void *data, size_t len, size_t piece,
                             void (*done)(void *user, const void *start, size_t bytes), void *user);

#ifdef __cplusplus
}
#endif
#endif
