// Fused one-pass CPU kernels for ACON-C (see mmacon/ops/cpu_acon.py for the Python side).
//
//   d = p1 - p2,  u = d * x,  t = beta * u,  s = sigmoid(t)
//   forward:  y = x * (d * s + p2)
//   backward: g = s + t * s * (1 - s)
//             grad_x = grad * (d * g + p2)
//             grad_p1 = sum(grad * x * g),  grad_p2 = sum(grad * x) - grad_p1
//             grad_beta = sum(grad * u^2 * s * (1 - s))
//
// Layout: the input is R rows of K contiguous elements: NCHW rows are (n, c) with
// K = H * W; channels_last rows are (n, h, w) with K = C. A coefficient (p1, p2, beta,
// contiguous) is addressed as o1 * s1 + o2 * s2 + k * sk with (o1, o2) = divmod(row, O2);
// sk is 0 (constant along the row) or 1 (contiguous along it), chosen at compile time.
// Plain C++ without torch headers: it builds in a second or two. Reductions accumulate
// in per-thread float64 buffers, summed in a fixed order (deterministic for a given
// thread count), and are written in the coefficients' type.
//
// Types: S stores x, y, grad and grad_x; T is what the kernel computes in and the
// coefficients' (and their gradients') type. (S, T) is (float, float), (double,
// double), or (bfloat16, float) and (float16, float): low-precision tensors are read
// and written in their own type and computed in float32 (half_types.h).
//
// Denormals are flushed to zero (FTZ and DAZ, each thread, for the call only): with
// them on, this CPU's microcode assists made a call on rows of 4 to 64 elements 4x
// slower (e.g. channels_last rows of C). A denormal input (|x| < 1.2e-38 in float32)
// is read as 0, so its output is 0 where the formula gives a denormal.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include <omp.h>

#include "flush_denormals.h"
#include "half_types.h"
#include "split_rows.h"

typedef int64_t i64;

// exp for float that the compiler can vectorise: Cephes-style range reduction
// exp(x) = 2^n * exp(r), |r| <= ln2 / 2, degree-6 polynomial (rel. error ~1e-7).
static inline float vexpf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    std::memcpy(&scale, &e, sizeof(scale));
    return p * scale;
}
static inline float ex(float x) { return vexpf(x); }
static inline double ex(double x) { return std::exp(x); }

template <typename T>
static inline T sigm(T t) { return T(1) / (T(1) + ex(-t)); }

// geo: rows, K, O2, then (s1, s2, sk) for p1, p2 and beta.
struct Geo {
    i64 rows, K, O2;
    i64 s1[3], s2[3], sk[3];
    explicit Geo(const i64* g) : rows(g[0]), K(g[1]), O2(g[2]) {
        for (int i = 0; i < 3; ++i) { s1[i] = g[3 + 3 * i]; s2[i] = g[4 + 3 * i]; sk[i] = g[5 + 3 * i]; }
    }
    i64 off(int i, i64 r) const { return (r / O2) * s1[i] + (r % O2) * s2[i]; }
};

// The row functions are kept out of line: inlined into the row walkers, GCC schedules
// their vector loop about 1.7x slower.
template <typename S, typename T, bool V1, bool V2, bool VB>
__attribute__((noinline)) static void fwd_row(const S* __restrict x, S* __restrict y, i64 K,
                                              const T* __restrict p1, const T* __restrict p2,
                                              const T* __restrict b) {
    const T a0 = p1[0], c0 = p2[0], b0 = b[0];
#pragma omp simd
    for (i64 k = 0; k < K; ++k) {
        const T av = V1 ? p1[k] : a0, pv = V2 ? p2[k] : c0, bv = VB ? b[k] : b0;
        const T dv = av - pv, xv = ld<T>(x[k]);
        y[k] = st<S>(xv * (dv * sigm(bv * dv * xv) + pv));
    }
}

// Backward of one row: writes grad_x (if WGX) and adds the row's contributions to the
// accumulators A for p1, p2 and beta (offsets already applied).
template <typename S, typename T, typename A, bool WGX, bool V1, bool V2, bool VB>
__attribute__((noinline)) static void bwd_row(const S* __restrict go, const S* __restrict x,
                                              S* __restrict gx, i64 K, const T* __restrict p1,
                                              const T* __restrict p2, const T* __restrict b,
                                              A* __restrict g1, A* __restrict g2,
                                              A* __restrict gb) {
    const T a0 = p1[0], c0 = p2[0], b0 = b[0];
    T s1 = 0, s2 = 0, sb = 0;  // row sums for coefficients constant along the row
#pragma omp simd reduction(+:s1, s2, sb)
    for (i64 k = 0; k < K; ++k) {
        const T av = V1 ? p1[k] : a0, pv = V2 ? p2[k] : c0, bv = VB ? b[k] : b0;
        const T dv = av - pv, xv = ld<T>(x[k]), gov = ld<T>(go[k]);
        const T u = dv * xv;
        const T t = bv * u;
        const T s = sigm(t);
        const T ds = s * (T(1) - s);           // sigmoid'(t)
        const T gg = s + t * ds;               // d(u * s)/du
        if (WGX) gx[k] = st<S>(gov * (dv * gg + pv));
        const T gox = gov * xv;
        const T v1 = gox * gg, v2 = gox - v1, vb = gov * u * u * ds;
        if (V1) g1[k] += v1; else s1 += v1;
        if (V2) g2[k] += v2; else s2 += v2;
        if (VB) gb[k] += vb; else sb += vb;
    }
    if (!V1) g1[0] += s1;
    if (!V2) g2[0] += s2;
    if (!VB) gb[0] += sb;
}


template <typename S, typename T, bool V1, bool V2, bool VB>
static void fwd_rows(const S* x, S* y, const T* p1, const T* p2, const T* b, const Geo& g,
                     i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r)
        fwd_row<S, T, V1, V2, VB>(x + r * g.K, y + r * g.K, g.K, p1 + g.off(0, r),
                               p2 + g.off(1, r), b + g.off(2, r));
}

// Rows whose coefficients vary along the row (channels_last rows of C; spatial
// coefficients in NCHW) accumulate in blocks of kBlockRows rows into float buffers that
// stay in L1, flushed to the float64 ones at each block's end: adding every element
// into float64 buffers cost 3x the rest of the pass.
constexpr i64 kBlockRows = 32;
constexpr i64 kBlockMaxK = 4096;

template <typename S, typename T, bool WGX, bool V1, bool V2, bool VB>
static void bwd_rows(const S* go, const S* x, S* gx, const T* p1, const T* p2, const T* b,
                     double* g1, double* g2, double* gb, const Geo& g, i64 r0, i64 r1) {
    constexpr bool blocked = (V1 || V2 || VB) && sizeof(T) == 4;
    if (!blocked || g.K > kBlockMaxK) {
        for (i64 r = r0; r < r1; ++r) {
            const i64 o1 = g.off(0, r), o2 = g.off(1, r), ob = g.off(2, r);
            bwd_row<S, T, double, WGX, V1, V2, VB>(go + r * g.K, x + r * g.K,
                                                WGX ? gx + r * g.K : nullptr, g.K, p1 + o1,
                                                p2 + o2, b + ob, g1 + o1, g2 + o2, gb + ob);
        }
        return;
    }
    const i64 K = g.K, n1 = V1 ? K : 1, n2 = V2 ? K : 1, nb = VB ? K : 1;
    std::vector<T> acc((size_t)(n1 + n2 + nb), T(0));
    T *a1 = acc.data(), *a2 = a1 + n1, *ab = a2 + n2;
    i64 o1 = -1, o2 = -1, ob = -1, count = 0;
    auto flush = [&]() {
        for (i64 k = 0; k < n1; ++k) { g1[o1 + k] += (double)a1[k]; a1[k] = T(0); }
        for (i64 k = 0; k < n2; ++k) { g2[o2 + k] += (double)a2[k]; a2[k] = T(0); }
        for (i64 k = 0; k < nb; ++k) { gb[ob + k] += (double)ab[k]; ab[k] = T(0); }
        count = 0;
    };
    for (i64 r = r0; r < r1; ++r) {
        const i64 q1 = g.off(0, r), q2 = g.off(1, r), qb = g.off(2, r);
        if (count && (q1 != o1 || q2 != o2 || qb != ob || count == kBlockRows)) flush();
        o1 = q1; o2 = q2; ob = qb;
        bwd_row<S, T, T, WGX, V1, V2, VB>(go + r * K, x + r * K, WGX ? gx + r * K : nullptr, K,
                                       p1 + q1, p2 + q2, b + qb, a1, a2, ab);
        ++count;
    }
    if (count) flush();
}

#define CASE(A, B, C, CALL) \
    if (v1 == A && v2 == B && vb == C) { CALL(A, B, C); return; }
#define ALL8(CALL) \
    CASE(0, 0, 0, CALL) CASE(0, 0, 1, CALL) CASE(0, 1, 0, CALL) CASE(0, 1, 1, CALL) \
    CASE(1, 0, 0, CALL) CASE(1, 0, 1, CALL) CASE(1, 1, 0, CALL) CASE(1, 1, 1, CALL)

template <typename S, typename T>
static void fwd_range(const S* x, S* y, const T* p1, const T* p2, const T* b, const Geo& g,
                      i64 r0, i64 r1) {
    const bool v1 = g.sk[0] != 0, v2 = g.sk[1] != 0, vb = g.sk[2] != 0;
#define FWD(A, B, C) fwd_rows<S, T, A, B, C>(x, y, p1, p2, b, g, r0, r1)
    ALL8(FWD)
#undef FWD
}

template <typename S, typename T>
static void bwd_range(const S* go, const S* x, S* gx, const T* p1, const T* p2, const T* b,
                      double* g1, double* g2, double* gb, const Geo& g, i64 r0, i64 r1) {
    const bool v1 = g.sk[0] != 0, v2 = g.sk[1] != 0, vb = g.sk[2] != 0;
#define BWD(A, B, C) \
    if (gx) bwd_rows<S, T, true, A, B, C>(go, x, gx, p1, p2, b, g1, g2, gb, g, r0, r1); \
    else bwd_rows<S, T, false, A, B, C>(go, x, gx, p1, p2, b, g1, g2, gb, g, r0, r1)
    ALL8(BWD)
#undef BWD
}

template <typename S, typename T>
static void fwd(const S* x, S* y, const T* p1, const T* p2, const T* b, const i64* geo, int nt) {
    const FlushDenormals ftz;
    const Geo g(geo);
    if (nt <= 1) {  // small inputs: no parallel region (its wake-up costs more)
        fwd_range<S, T>(x, y, p1, p2, b, g, 0, g.rows);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const FlushDenormals thread_ftz;
        i64 r0, r1;
        split_rows(g.rows, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
        fwd_range<S, T>(x, y, p1, p2, b, g, r0, r1);
    }
}

// n: elements of p1, p2, beta (their gradients' sizes).
template <typename S, typename T>
static void bwd(const S* go, const S* x, S* gx, const T* p1, const T* p2, const T* b,
                T* g1, T* g2, T* gb, const i64* geo, const i64* n, int nt) {
    const FlushDenormals ftz;
    const Geo g(geo);
    const i64 width = n[0] + n[1] + n[2];
    if (nt < 1) nt = 1;
    std::vector<double> acc((size_t)(nt * width), 0.0);  // per thread: [p1 | p2 | beta]
    int used = 1;
    if (nt == 1) {
        bwd_range<S, T>(go, x, gx, p1, p2, b, acc.data(), acc.data() + n[0],
                     acc.data() + n[0] + n[1], g, 0, g.rows);
    } else {
#pragma omp parallel num_threads(nt)
        {
            const FlushDenormals thread_ftz;
            const int tid = omp_get_thread_num(), tn = omp_get_num_threads();
            if (tid == 0) used = tn;
            double* a = acc.data() + tid * width;
            i64 r0, r1;
            split_rows(g.rows, tn, tid, &r0, &r1);
            bwd_range<S, T>(go, x, gx, p1, p2, b, a, a + n[0], a + n[0] + n[1], g, r0, r1);
        }
    }
    T* outs[3] = {g1, g2, gb};
    i64 start = 0;
    for (int i = 0; i < 3; ++i) {
        for (i64 j = 0; j < n[i]; ++j) {
            double s = 0.0;
            for (int t = 0; t < used; ++t) s += acc[(size_t)(t * width + start + j)];
            outs[i][j] = (T)s;
        }
        start += n[i];
    }
}

#define ACON_C_API(SUF, S, T) \
    void acon_c_fwd_##SUF(const S* x, S* y, const T* p1, const T* p2, const T* b, \
                          const i64* geo, int nt) { fwd<S, T>(x, y, p1, p2, b, geo, nt); } \
    void acon_c_bwd_##SUF(const S* go, const S* x, S* gx, const T* p1, const T* p2, \
                          const T* b, T* g1, T* g2, T* gb, const i64* geo, const i64* n, \
                          int nt) { bwd<S, T>(go, x, gx, p1, p2, b, g1, g2, gb, geo, n, nt); }

extern "C" {
ACON_C_API(f32, float, float)
ACON_C_API(f64, double, double)
ACON_C_API(bf16, bf16_t, float)
ACON_C_API(f16, f16_t, float)
}
