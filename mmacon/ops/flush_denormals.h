// FlushDenormals: FTZ and DAZ in MXCSR while alive, the caller's flags restored after.
// Shared by acon_c_cpu.cpp and meta_acon_cpu.cpp. With denormals on, this CPU's microcode
// assists made a kernel call on rows of 4 to 64 elements 4x slower; with them flushed a
// denormal input (|x| < 1.2e-38 in float32) reads as 0. MXCSR is per thread: construct
// one in each OpenMP thread too.
#pragma once
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

struct FlushDenormals {
#if defined(__SSE__)
    unsigned int saved;
    FlushDenormals() : saved(_mm_getcsr()) { _mm_setcsr(saved | 0x8040u); }
    ~FlushDenormals() { _mm_setcsr(saved); }
#endif
};
