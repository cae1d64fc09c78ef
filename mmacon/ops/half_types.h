// Storage types for float16 and bfloat16 tensors and their conversions to and from the
// float in which the kernels compute. Shared by acon_c_cpu.cpp and meta_acon_cpu.cpp.
//
//   bf16_t: the bits of a bfloat16 (uint16_t). To float: the high half of a float. From
//           float: rounded to nearest, ties to even, as torch does; NaN stays NaN.
//   f16_t:  _Float16 (GCC >= 12 / clang on x86-64 and AArch64; F16C converts it in
//           vector registers).
// ld<T>(v) reads a stored value as T, st<S>(v) writes T v as storage type S; both are
// plain casts for float and double.
#pragma once
#include <cstdint>
#include <cstring>

typedef uint16_t bf16_t;
typedef _Float16 f16_t;

template <typename T, typename S>
static inline T ld(S v) { return (T)v; }

template <typename S, typename T>
static inline S st(T v) { return (S)v; }

template <>
inline float ld<float, bf16_t>(bf16_t v) {
    const uint32_t u = (uint32_t)v << 16;
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
}

template <>
inline double ld<double, bf16_t>(bf16_t v) { return (double)ld<float, bf16_t>(v); }

template <>
inline bf16_t st<bf16_t, float>(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof(u));
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const uint32_t nan = (u >> 16) | 0x40u;  // quiet NaN, sign and payload's top kept
    return (bf16_t)((u & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

template <>
inline bf16_t st<bf16_t, double>(double v) { return st<bf16_t, float>((float)v); }
