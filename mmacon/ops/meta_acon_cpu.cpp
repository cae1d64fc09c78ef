// Meta-ACON's channel-wise generator on CPU, fused (see mmacon/ops/cpu_meta_acon.py).
//
//   m = mean_hw x                       (N, C)
//   h = m W1^T + b1,   a = norm1(h)     (N, H)
//   z = a W2^T + b2,   q = norm2(z)     (N, C)
//   beta = sigmoid(q)
//
// A norm is one of: 0 identity; 1 batch statistics over N (BatchNorm in training, or
// without running statistics), updating the running ones when given (momentum f,
// unbiased variance, as torch); 2 running statistics (BatchNorm in eval mode, or a
// training BN given one value per channel). With affine weight g and bias e:
// out = (in - mu) * r * g + e, r = 1 / sqrt(var + eps).
//
// The generator is a few thousand flops: one thread, float64 throughout, where ATen
// spends ~25 tiny ops and their autograd nodes on it. Its float64 intermediates live
// in a workspace the caller keeps for backward: [m | hh1 | r1 | a | hh2 | r2 | beta].
//
// Types (as acon_c_cpu.cpp): S stores x, y, grad and grad_x; T is the type of the
// coefficients, the generator's parameters and running statistics, and beta. (S, T) is
// (float, float), (double, double), (bfloat16, float) or (float16, float).
// Also here: the spatial sums of x (forward) and the broadcast add of the mean's
// gradient into grad_x (backward), the two full passes the generator needs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include <omp.h>

#include "flush_denormals.h"
#include "half_types.h"
#include "split_rows.h"

typedef int64_t i64;

// ---------------------------------------------------------------- full-size passes

// geo: layout (0: NCHW rows of K = H * W; 1: NHWC, K rows of C per sample), N, C, K.
// out[n * C + c] = sum over k of x[n, c, k]; deterministic for a given thread count.
template <typename S, typename T>
static void rowsum(const S* x, double* out, const i64* geo, int nt) {
    const i64 nhwc = geo[0], N = geo[1], C = geo[2], K = geo[3];
    if (nt < 1) nt = 1;
    if (!nhwc) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (i64 r = 0; r < N * C; ++r) {
            const S* row = x + r * K;
            double s = 0.0;
#pragma omp simd reduction(+:s)
            for (i64 k = 0; k < K; ++k) s += ld<double>(row[k]);
            out[r] = s;
        }
        return;
    }
    // NHWC: each thread sums a fixed slice of the N * K rows into its own buffer.
    std::vector<double> acc((size_t)nt * N * C, 0.0);
    int used = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num(), tn = omp_get_num_threads();
        if (tid == 0) used = tn;
        double* a = acc.data() + (size_t)tid * N * C;
        i64 r0, r1;
        split_rows(N * K, tn, tid, &r0, &r1);
        // blocks of up to 32 rows of one sample summed in T (in L1), then into float64
        std::vector<T> blk((size_t)C);
        for (i64 r = r0; r < r1;) {
            const i64 n = r / K, end = std::min(r1, std::min((n + 1) * K, r + 32));
            std::fill(blk.begin(), blk.end(), T(0));
            T* __restrict b = blk.data();
            for (; r < end; ++r) {
                const S* __restrict row = x + r * C;
#pragma omp simd
                for (i64 c = 0; c < C; ++c) b[c] += ld<T>(row[c]);
            }
            double* o = a + n * C;
            for (i64 c = 0; c < C; ++c) o[c] += (double)b[c];
        }
    }
    for (i64 j = 0; j < N * C; ++j) {
        double s = 0.0;
        for (int t = 0; t < used; ++t) s += acc[(size_t)t * N * C + j];
        out[j] = s;
    }
}

// gx[n, c, k] += g[n * C + c] (layout as rowsum), added in T.
template <typename S, typename T>
static void add_rows(S* gx, const double* g, const i64* geo, int nt) {
    const i64 nhwc = geo[0], N = geo[1], C = geo[2], K = geo[3];
    if (nt < 1) nt = 1;
    if (!nhwc) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (i64 r = 0; r < N * C; ++r) {
            S* row = gx + r * K;
            const T v = (T)g[r];
#pragma omp simd
            for (i64 k = 0; k < K; ++k) row[k] = st<S>(ld<T>(row[k]) + v);
        }
        return;
    }
    std::vector<T> v((size_t)(N * C));
    for (i64 j = 0; j < N * C; ++j) v[j] = (T)g[j];
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (i64 r = 0; r < N * K; ++r) {
        S* row = gx + r * C;
        const T* vr = v.data() + (r / K) * C;
#pragma omp simd
        for (i64 c = 0; c < C; ++c) row[c] = st<S>(ld<T>(row[c]) + vr[c]);
    }
}

// ---------------------------------------------------------------- the generator

template <typename T>
struct Norm {
    i64 mode;           // 0 identity, 1 batch statistics, 2 running statistics
    double eps, factor; // factor: the running average's momentum for this call
    const T* g;         // weight, or nullptr without affine
    const T* e;         // bias, or nullptr without affine
    T* rm;              // running mean, or nullptr (mode 1: then not updated)
    T* rv;              // running var, or nullptr
    bool affine() const { return g != nullptr; }
    bool update() const { return mode == 1 && rm != nullptr && rv != nullptr; }
};

// in, hh: (N, D) row-major; r: (D). Writes hh (normalised, before the affine) and out.
template <typename T>
static void norm_fwd(const Norm<T>& nm, const double* in, double* hh, double* r, double* out,
                     i64 N, i64 D) {
    if (nm.mode == 0) {
        for (i64 i = 0; i < N * D; ++i) { hh[i] = in[i]; out[i] = in[i]; }
        for (i64 d = 0; d < D; ++d) r[d] = 1.0;
        return;
    }
    for (i64 d = 0; d < D; ++d) {
        double mu, var;
        if (nm.mode == 1) {
            mu = 0.0;
            for (i64 n = 0; n < N; ++n) mu += in[n * D + d];
            mu /= (double)N;
            var = 0.0;
            for (i64 n = 0; n < N; ++n) { const double t = in[n * D + d] - mu; var += t * t; }
            var /= (double)N;
            if (nm.update()) {
                const double unbiased = N > 1 ? var * (double)N / (double)(N - 1) : var;
                nm.rm[d] = (T)((1.0 - nm.factor) * (double)nm.rm[d] + nm.factor * mu);
                nm.rv[d] = (T)((1.0 - nm.factor) * (double)nm.rv[d] + nm.factor * unbiased);
            }
        } else {
            mu = (double)nm.rm[d];
            var = (double)nm.rv[d];
        }
        r[d] = 1.0 / std::sqrt(var + nm.eps);
        const double gd = nm.affine() ? (double)nm.g[d] : 1.0, ed = nm.affine() ? (double)nm.e[d] : 0.0;
        for (i64 n = 0; n < N; ++n) {
            const double t = (in[n * D + d] - mu) * r[d];
            hh[n * D + d] = t;
            out[n * D + d] = t * gd + ed;
        }
    }
}

// gout: (N, D) gradient of the norm's output; writes gin and gg, ge where not null.
template <typename T>
static void norm_bwd(const Norm<T>& nm, const double* gout, const double* hh, const double* r,
                     double* gin, T* gg, T* ge, i64 N, i64 D) {
    if (nm.mode == 0) {
        for (i64 i = 0; i < N * D; ++i) gin[i] = gout[i];
        return;
    }
    for (i64 d = 0; d < D; ++d) {
        double sg = 0.0, sgh = 0.0;
        for (i64 n = 0; n < N; ++n) { sg += gout[n * D + d]; sgh += gout[n * D + d] * hh[n * D + d]; }
        if (gg) gg[d] = (T)sgh;
        if (ge) ge[d] = (T)sg;
        const double gd = nm.affine() ? (double)nm.g[d] : 1.0;
        if (nm.mode == 2) {
            for (i64 n = 0; n < N; ++n) gin[n * D + d] = gout[n * D + d] * gd * r[d];
        } else {  // d/d(in) of batch normalisation: the mean and variance depend on in
            const double k = gd * r[d], mg = sg / (double)N, mgh = sgh / (double)N;
            for (i64 n = 0; n < N; ++n)
                gin[n * D + d] = k * (gout[n * D + d] - mg - hh[n * D + d] * mgh);
        }
    }
}

// out (N, O) = in (N, I) W^T + b, W: (O, I) row-major.
template <typename T>
static void linear(const double* in, const T* W, const T* b, double* out, i64 N, i64 I, i64 O) {
    for (i64 n = 0; n < N; ++n)
        for (i64 o = 0; o < O; ++o) {
            double s = (double)b[o];
            const T* w = W + o * I;
            const double* v = in + n * I;
            for (i64 i = 0; i < I; ++i) s += (double)w[i] * v[i];
            out[n * O + o] = s;
        }
}

// Given gout (N, O): gW (O, I) = gout^T in, gb (O) = sum_n gout, gin (N, I) = gout W
// (gW, gb may be null: not needed).
template <typename T>
static void linear_bwd(const double* gout, const double* in, const T* W, T* gW, T* gb,
                       double* gin, i64 N, i64 I, i64 O) {
    for (i64 o = 0; o < O; ++o) {
        if (gb) {
            double sb = 0.0;
            for (i64 n = 0; n < N; ++n) sb += gout[n * O + o];
            gb[o] = (T)sb;
        }
        if (gW)
            for (i64 i = 0; i < I; ++i) {
                double s = 0.0;
                for (i64 n = 0; n < N; ++n) s += gout[n * O + o] * in[n * I + i];
                gW[o * I + i] = (T)s;
            }
    }
    for (i64 n = 0; n < N; ++n)
        for (i64 i = 0; i < I; ++i) {
            double s = 0.0;
            for (i64 o = 0; o < O; ++o) s += gout[n * O + o] * (double)W[o * I + i];
            gin[n * I + i] = s;
        }
}

// cfg: N, C, H, then each norm's mode; cfgd: per norm (eps, factor), 1 / (H * W).
// ptrs: W1, b1, g1, e1, rm1, rv1, W2, b2, g2, e2, rm2, rv2 (unused ones may be null).
template <typename T>
struct Gen {
    i64 N, C, H;
    double inv_k;
    const T *W1, *b1, *W2, *b2;
    Norm<T> n1, n2;
    Gen(const i64* cfg, const double* cfgd, void* const* p) {
        N = cfg[0]; C = cfg[1]; H = cfg[2]; inv_k = cfgd[4];
        W1 = (const T*)p[0]; b1 = (const T*)p[1]; W2 = (const T*)p[6]; b2 = (const T*)p[7];
        n1 = Norm<T>{cfg[3], cfgd[0], cfgd[1], (const T*)p[2], (const T*)p[3], (T*)p[4],
                     (T*)p[5]};
        n2 = Norm<T>{cfg[4], cfgd[2], cfgd[3], (const T*)p[8], (const T*)p[9], (T*)p[10],
                     (T*)p[11]};
    }
    // workspace offsets
    double* m(double* w) const { return w; }
    double* hh1(double* w) const { return w + N * C; }
    double* r1(double* w) const { return w + N * C + N * H; }
    double* a(double* w) const { return w + N * C + N * H + H; }
    double* hh2(double* w) const { return w + N * C + 2 * N * H + H; }
    double* r2(double* w) const { return w + 2 * N * C + 2 * N * H + H; }
    double* beta(double* w) const { return w + 2 * N * C + 2 * N * H + H + C; }
};

// sums: (N, C) spatial sums of x. Writes beta (N, C) in T and the workspace.
template <typename T>
static void gen_fwd(const double* sums, T* beta, double* ws, const i64* cfg, const double* cfgd,
                    void* const* p) {
    const FlushDenormals ftz;
    const Gen<T> G(cfg, cfgd, p);
    const i64 N = G.N, C = G.C, H = G.H;
    double* m = G.m(ws);
    for (i64 i = 0; i < N * C; ++i) m[i] = sums[i] * G.inv_k;
    std::vector<double> h((size_t)(N * (H > C ? H : C)));
    linear<T>(m, G.W1, G.b1, h.data(), N, C, H);
    norm_fwd<T>(G.n1, h.data(), G.hh1(ws), G.r1(ws), G.a(ws), N, H);
    linear<T>(G.a(ws), G.W2, G.b2, h.data(), N, H, C);
    double* q = G.beta(ws);
    norm_fwd<T>(G.n2, h.data(), G.hh2(ws), G.r2(ws), q, N, C);
    for (i64 i = 0; i < N * C; ++i) {
        q[i] = 1.0 / (1.0 + std::exp(-q[i]));
        beta[i] = (T)q[i];
    }
}

// gbeta: (N, C). grads: gW1, gb1, gg1, ge1, gW2, gb2, gg2, ge2 (in T; affine ones may be
// null). Writes gsum (N, C): the gradient of the spatial sums, i.e. of each x element.
template <typename T>
static void gen_bwd(const T* gbeta, const double* ws_c, const i64* cfg, const double* cfgd,
                    void* const* p, void* const* grads, double* gsum) {
    const FlushDenormals ftz;
    const Gen<T> G(cfg, cfgd, p);
    const i64 N = G.N, C = G.C, H = G.H;
    double* ws = const_cast<double*>(ws_c);
    const double* beta = G.beta(ws);
    std::vector<double> gq((size_t)(N * C)), gz((size_t)(N * C)), ga((size_t)(N * H)),
        gh((size_t)(N * H));
    for (i64 i = 0; i < N * C; ++i) gq[i] = (double)gbeta[i] * beta[i] * (1.0 - beta[i]);
    norm_bwd<T>(G.n2, gq.data(), G.hh2(ws), G.r2(ws), gz.data(), (T*)grads[6], (T*)grads[7], N, C);
    linear_bwd<T>(gz.data(), G.a(ws), G.W2, (T*)grads[4], (T*)grads[5], ga.data(), N, H, C);
    norm_bwd<T>(G.n1, ga.data(), G.hh1(ws), G.r1(ws), gh.data(), (T*)grads[2], (T*)grads[3], N, H);
    linear_bwd<T>(gh.data(), G.m(ws), G.W1, (T*)grads[0], (T*)grads[1], gsum, N, C, H);
    for (i64 i = 0; i < N * C; ++i) gsum[i] *= G.inv_k;
}

// ---------------------------------------------------------------- whole calls
// The ACON-C kernels of acon_c_cpu.cpp (same library), overloaded by (S, T).
#define ACON_C_DECL(SUF, S, T) \
    extern "C" void acon_c_fwd_##SUF(const S*, S*, const T*, const T*, const T*, const i64*, \
                                     int); \
    extern "C" void acon_c_bwd_##SUF(const S*, const S*, S*, const T*, const T*, const T*, T*, \
                                     T*, T*, const i64*, const i64*, int); \
    static void acon_fwd(const S* x, S* y, const T* p1, const T* p2, const T* b, \
                         const i64* geo, int nt) { acon_c_fwd_##SUF(x, y, p1, p2, b, geo, nt); } \
    static void acon_bwd(const S* go, const S* x, S* gx, const T* p1, const T* p2, const T* b, \
                         T* g1, T* g2, T* gb, const i64* geo, const i64* n, int nt) { \
        acon_c_bwd_##SUF(go, x, gx, p1, p2, b, g1, g2, gb, geo, n, nt); }
ACON_C_DECL(f32, float, float)
ACON_C_DECL(f64, double, double)
ACON_C_DECL(bf16, bf16_t, float)
ACON_C_DECL(f16, f16_t, float)

// t: x, y, p1, p2, beta (N, C), ws; geo: the ACON-C geometry (acon_c_cpu.cpp), then this
// file's (layout, N, C, K) at geo + 12.
template <typename S, typename T>
static void meta_fwd(void* const* t, const i64* geo, const i64* cfg, const double* cfgd,
                     void* const* p, int nt) {
    const i64* mgeo = geo + 12;
    std::vector<double> sums((size_t)(mgeo[1] * mgeo[2]));
    rowsum<S, T>((const S*)t[0], sums.data(), mgeo, nt);
    gen_fwd<T>(sums.data(), (T*)t[4], (double*)t[5], cfg, cfgd, p);
    acon_fwd((const S*)t[0], (S*)t[1], (const T*)t[2], (const T*)t[3], (const T*)t[4], geo, nt);
}

// t: grad, x, grad_x (or null), p1, p2, beta, grad_p1, grad_p2, ws; sizes: elements of
// p1, p2, beta; grads: the generator's (null where not needed).
template <typename S, typename T>
static void meta_bwd(void* const* t, const i64* geo, const i64* sizes, const i64* cfg,
                     const double* cfgd, void* const* p, void* const* grads, int nt) {
    const i64* mgeo = geo + 12;
    std::vector<T> gbeta((size_t)sizes[2]);
    std::vector<double> gsum((size_t)sizes[2]);
    acon_bwd((const S*)t[0], (const S*)t[1], (S*)t[2], (const T*)t[3], (const T*)t[4],
             (const T*)t[5], (T*)t[6], (T*)t[7], gbeta.data(), geo, sizes, nt);
    gen_bwd<T>(gbeta.data(), (const double*)t[8], cfg, cfgd, p, grads, gsum.data());
    if (t[2]) add_rows<S, T>((S*)t[2], gsum.data(), mgeo, nt);
}

#define META_ACON_API(SUF, S, T) \
    void meta_acon_fwd_##SUF(void* const* t, const i64* geo, const i64* cfg, const double* cfgd, \
                             void* const* p, int nt) { meta_fwd<S, T>(t, geo, cfg, cfgd, p, nt); } \
    void meta_acon_bwd_##SUF(void* const* t, const i64* geo, const i64* sizes, const i64* cfg, \
                             const double* cfgd, void* const* p, void* const* grads, int nt) { \
        meta_bwd<S, T>(t, geo, sizes, cfg, cfgd, p, grads, nt); }

extern "C" {
META_ACON_API(f32, float, float)
META_ACON_API(f64, double, double)
META_ACON_API(bf16, bf16_t, float)
META_ACON_API(f16, f16_t, float)
}
