/* rt_internal.h — what the runtime's files share and generated code does not see. */
#ifndef VITC_RT_INTERNAL_H
#define VITC_RT_INTERNAL_H

#include "vitc_rt.h"

vitc_rt_pool *vitc_rt_pool_new(int nthreads); /* NULL when out of memory or threads cannot start */
void vitc_rt_pool_free(vitc_rt_pool *p);
/* CLOCK_MONOTONIC in nanoseconds: node timing and traces. */
uint64_t vitc_rt_clock_ns(void);

#endif
