// Storage types for float16 and bfloat16 tensors and their conversions to and from the
// float in which the kernels compute. Shared by acon_c_cpu.cpp and meta_acon_cpu.cpp.
//
//   bf16_t: the bits of a bfloat16 (uint16_t). To float: the high half of a float. From
//           float: rounded to nearest, ties to even, as torch does; NaN stays NaN.
//   f16_t:  the bits of an IEEE half. Converted with integer and float operations that
//           the compiler vectorises (GCC 12 converts _Float16 one element at a time);
//           to float exactly, from float rounded to nearest, ties to even; NaN stays NaN,
//           overflow gives inf, as torch does.
// ld<T>(v) reads a stored value as T, st<S>(v) writes T v as storage type S; both are
// plain casts for float and double.
#pragma once
#include <cstdint>
#include <cstring>

typedef uint16_t bf16_t;
struct f16_t { uint16_t bits; };

static inline float as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t as_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

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

template <>
inline float ld<float, f16_t>(f16_t v) {
    const uint32_t h = v.bits;
    const uint32_t em = (h & 0x7FFFu) << 13;                  // exponent and mantissa
    const uint32_t e = em & 0x0F800000u;
    const uint32_t normal = em + ((127u - 15u) << 23);
    const uint32_t special = em + ((255u - 31u) << 23);       // inf and NaN
    const float sub = as_float(em + (113u << 23)) - as_float(113u << 23);  // 0, subnormal
    const uint32_t o = e == 0x0F800000u ? special : (e == 0 ? as_bits(sub) : normal);
    return as_float(o | ((h & 0x8000u) << 16));
}

template <>
inline double ld<double, f16_t>(f16_t v) { return (double)ld<float, f16_t>(v); }

template <>
inline f16_t st<f16_t, float>(float f) {
    uint32_t u = as_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    u &= 0x7FFFFFFFu;
    const uint32_t big = u > 0x7F800000u ? 0x7E00u : 0x7C00u;      // NaN; inf or overflow
    const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
    const uint32_t sub = as_bits(as_float(u) + as_float(magic)) - magic;  // |f| < 2^-14
    const uint32_t odd = (u >> 13) & 1u;
    const uint32_t norm = (u + ((uint32_t)(15 - 127) << 23) + 0xFFFu + odd) >> 13;
    const uint32_t o = u >= ((127u + 16u) << 23) ? big : (u < (113u << 23) ? sub : norm);
    return f16_t{(uint16_t)(o | sign)};
}

template <>
inline f16_t st<f16_t, double>(double v) { return st<f16_t, float>((float)v); }
