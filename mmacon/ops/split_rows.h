// split_rows: thread tid's share [r0, r1) of rows, the first rows % nt threads taking one
// more; a fixed split for a given thread count keeps the reductions deterministic.
// Shared by acon_c_cpu.cpp and meta_acon_cpu.cpp.
#pragma once
#include <cstdint>

static inline void split_rows(int64_t rows, int nt, int tid, int64_t* r0, int64_t* r1) {
    const int64_t q = rows / nt, rem = rows % nt;
    *r0 = tid * q + (tid < rem ? tid : rem);
    *r1 = *r0 + q + (tid < rem ? 1 : 0);
}
