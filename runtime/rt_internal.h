/* rt_internal.h — what the runtime's files share and generated code does not see. */
#ifndef VITC_RT_INTERNAL_H
#define VITC_RT_INTERNAL_H

#include "vitc_rt.h"

vitc_rt_pool *vitc_rt_pool_new(int nthreads); /* NULL when out of memory or threads cannot start */
void vitc_rt_pool_free(vitc_rt_pool *p);
/* CLOCK_MONOTONIC in nanoseconds: node timing and traces. */
uint64_t vitc_rt_clock_ns(void);
/* Sets what vitc_rt_last_error() returns on this thread. */
void vitc_rt_set_last_error(const char *msg);

#endif
