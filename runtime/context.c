/* context.c — contexts: scratch arena, weights (embedded or a mapped side file), thread pool. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

vitc_rt_ctx *vitc_rt_ctx_new(size_t scratch_bytes, const void *weights, int nthreads) {
  int threads = vitc_rt_resolve_threads(nthreads);
  if (threads < 0) return NULL;
  vitc_rt_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx) ctx->weights = weights;
  size_t rounded = (scratch_bytes + 63) & ~(size_t)63;
  if (!ctx || !(ctx->scratch = aligned_alloc(64, rounded ? rounded : 64)) || !(ctx->pool = vitc_rt_pool_new(threads))) {
    vitc_rt_ctx_free(ctx);
    vitc_rt_set_last_error("out of memory creating a context");
    return NULL;
  }
  return ctx;
}

vitc_rt_ctx *vitc_rt_ctx_new_mapped(size_t scratch_bytes, const char *weights_path, uint64_t size, uint64_t hash,
                                    int nthreads, char *err, size_t errlen) {
  int fd = open(weights_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot open weights file: %s", weights_path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) || (uint64_t)st.st_size != size) {
    snprintf(err, errlen, "%s: weights file has %lld bytes, the model expects %llu", weights_path,
             (long long)st.st_size, (unsigned long long)size);
    close(fd);
    return NULL;
  }
  void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (map == MAP_FAILED) {
    snprintf(err, errlen, "%s: cannot map weights file: %s", weights_path, strerror(errno));
    return NULL;
  }
  if (vitc_rt_hash(map, size) != hash) {
    snprintf(err, errlen, "%s: weights file does not match the model (hash differs)", weights_path);
    if (map) munmap(map, size);
    return NULL;
  }
  vitc_rt_ctx *ctx = vitc_rt_ctx_new(scratch_bytes, map, nthreads);
  if (!ctx) {
    snprintf(err, errlen, "%s", vitc_rt_last_error());
    if (map) munmap(map, size);
    return NULL;
  }
  ctx->weights_mapping = map;
  ctx->weights_mapping_len = size;
  return ctx;
}

void vitc_rt_ctx_free(vitc_rt_ctx *ctx) {
  if (!ctx) return;
  vitc_rt_pool_free(ctx->pool);
  if (ctx->weights_mapping) munmap(ctx->weights_mapping, ctx->weights_mapping_len);
  free(ctx->scratch);
  free(ctx);
}

/* 64-bit multiply-rotate steps over 8-byte words, in four lanes of a 32-byte block so that each lane's
 * multiplies need not wait for the others' (one lane: 160 ms for ViT-B/16's 346 MB of weights, which the
 * compile cache hashes when it stores an entry and again when it loads one); then the lanes, the words
 * and the bytes left. */
static uint64_t hash_step(uint64_t h, uint64_t w) {
  h ^= w * 0xff51afd7ed558ccdull;
  return (h << 27 | h >> 37) * 0xc4ceb9fe1a85ec53ull;
}

uint64_t vitc_rt_hash(const void *data, size_t len) { return vitc_rt_hash_pieces(data, len, len, NULL, NULL); }

uint64_t vitc_rt_hash_pieces(const void *data, size_t len, size_t piece,
                             void (*done)(void *user, const void *start, size_t bytes), void *user) {
  const unsigned char *p = data;
  uint64_t lane[4] = {0x9e3779b97f4a7c15ull ^ len, 0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull};
  size_t i = 0, blocks = len / 32 * 32;
  piece = piece < 32 ? 32 : piece / 32 * 32;
  while (i < blocks) {
    size_t start = i, end = blocks - i > piece ? i + piece : blocks;
    for (; i < end; i += 32)
      for (int k = 0; k < 4; k++) {
        uint64_t w;
        memcpy(&w, p + i + 8 * k, 8);
        lane[k] = hash_step(lane[k], w);
      }
    if (done) done(user, p + start, i - start);
  }
  uint64_t h = lane[0];
  for (int k = 1; k < 4; k++) h = hash_step(h, lane[k]);
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = hash_step(h, w);
  }
  for (; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

void vitc_rt_run_begin(vitc_rt_ctx *ctx) { ctx->error[0] = 0; }

void vitc_rt_index_error(vitc_rt_ctx *ctx, int64_t index, int64_t bound) {
  if (!ctx->error[0]) /* the first bad index of the node is the one reported */
    snprintf(ctx->error, sizeof ctx->error, "index %lld is out of range for an axis of size %lld", (long long)index,
             (long long)bound);
}

int vitc_rt_node_failed(vitc_rt_ctx *ctx, const char *node) {
  if (!ctx->error[0]) return 0;
  /* "node: " goes in front of the kernel's message, which is cut if both do not fit. */
  size_t cap = sizeof ctx->error, nl = strnlen(node, cap / 2), ml = strlen(ctx->error);
  if (nl + 2 + ml >= cap) ml = cap - nl - 3;
  memmove(ctx->error + nl + 2, ctx->error, ml);
  memcpy(ctx->error, node, nl);
  memcpy(ctx->error + nl, ": ", 2);
  ctx->error[nl + 2 + ml] = 0;
  return 1;
}

const char *vitc_rt_error(const vitc_rt_ctx *ctx) { return ctx->error; }

void vitc_rt_set_node_hook(vitc_rt_ctx *ctx, vitc_rt_node_hook hook, void *user) {
  ctx->hook = hook;
  ctx->hook_user = user;
}

uint64_t vitc_rt_clock_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t vitc_rt_node_start(const vitc_rt_ctx *ctx) { return ctx->hook ? vitc_rt_clock_ns() : 0; }

void vitc_rt_node_done(vitc_rt_ctx *ctx, int node, const char *label, uint64_t start_ns) {
  if (ctx->hook) ctx->hook(ctx->hook_user, node, label, vitc_rt_clock_ns() - start_ns);
}
