// Batched inner products and distances between a query block and a vector block.
//
// Every work-item computes a QB x XB block of (query, vector) pairs, accumulating VW-wide
// vectors over the dimension (register blocking; no local memory, which PoCL serialises).
// Rows past the end are clamped on load and skipped on store, so any nq, nx and d work.
// Build options: -DVW (vector width), -DQB / -DXB (block), -DHALF_STORAGE to read
// half-precision inputs (computed in f32; vload_half needs no cl_khr_fp16).
// Accumulation is written `a += u * v` (contracted to FMA by -cl-mad-enable): fma() on wide
// vectors is a library call on PoCL.

#ifndef VW
#define VW 8
#endif
#ifndef QB
#define QB 6
#endif
#ifndef XB
#define XB 2
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VW)

#ifdef HALF_STORAGE
typedef half stor_t;
#define LOADV(p) CAT(vload_half, VW)(0, (p))
#define LOAD1(p) vload_half(0, (p))
#else
typedef float stor_t;
#define LOADV(p) CAT(vload, VW)(0, (p))
#define LOAD1(p) (*(p))
#endif

#if VW == 16
#define HSUM(v) (dot((v).s0123, (float4)(1.0f)) + dot((v).s4567, (float4)(1.0f)) + \
                 dot((v).s89ab, (float4)(1.0f)) + dot((v).scdef, (float4)(1.0f)))
#elif VW == 8
#define HSUM(v) (dot((v).s0123, (float4)(1.0f)) + dot((v).s4567, (float4)(1.0f)))
#else
#define HSUM(v) dot((v), (float4)(1.0f))
#endif

// Mode of the output: 0 = inner product, 1 = squared L2 (norms are squared norms),
// 2 = cosine distance (norms are inverse norms), 3 = 1 - inner product.
inline float finish(float ip, int mode, float qn, float xn) {
    if (mode == 1) return fmax(qn + xn - 2.0f * ip, 0.0f);
    if (mode == 2) return 1.0f - ip * qn * xn;
    if (mode == 3) return 1.0f - ip;
    return ip;
}

// Squared norms (mode 1) or inverse norms (mode 2) of every row.
__kernel void row_norms(__global const stor_t* x, const int n, const int d, const int mode,
                        __global float* out) {
    const int r = get_global_id(0);
    if (r >= n) return;
    const __global stor_t* p = x + (size_t)r * d;
    floatV acc = (floatV)(0.0f);
    int k = 0;
    for (; k + VW <= d; k += VW) {
        floatV v = LOADV(p + k);
        acc = fma(v, v, acc);
    }
    float s = HSUM(acc);
    for (; k < d; ++k) { float v = LOAD1(p + k); s = fma(v, v, s); }
    out[r] = mode == 2 ? 1.0f / fmax(sqrt(s), 1e-12f) : s;
}

// out[i * ldo + j] = finish(<q_i, x_(x0 + j)>) for i < nq, j < nx. Every work-item owns a
// QB x XB block (constant loop bounds: the compiler unrolls them and keeps the accumulators in
// registers). On AVX2 (16 vector registers) 6 x 2 with VW = 8 measured best: larger blocks
// spill. Dimension 0 walks the queries so neighbouring work-items share vector rows (the query
// block stays in cache; the database streams from memory once).
__kernel void block_distances(__global const stor_t* q, __global const stor_t* x,
                              __global float* out, const int nq, const int nx, const int d,
                              const int x0, const int ldo, const int mode,
                              __global const float* qn, __global const float* xn) {
    const int i0 = get_global_id(0) * QB;
    const int j0 = get_global_id(1) * XB;
    if (j0 >= nx || i0 >= nq) return;
    const __global stor_t* qp[QB];
    const __global stor_t* xp[XB];
    #pragma unroll
    for (int a = 0; a < QB; ++a) qp[a] = q + (size_t)min(i0 + a, nq - 1) * d;
    #pragma unroll
    for (int b = 0; b < XB; ++b) xp[b] = x + (size_t)(x0 + min(j0 + b, nx - 1)) * d;
    floatV acc[QB][XB];
    #pragma unroll
    for (int a = 0; a < QB; ++a) {
        #pragma unroll
        for (int b = 0; b < XB; ++b) acc[a][b] = (floatV)(0.0f);
    }
    int k = 0;
    for (; k + VW <= d; k += VW) {
        floatV xv[XB];
        #pragma unroll
        for (int b = 0; b < XB; ++b) xv[b] = LOADV(xp[b] + k);
        #pragma unroll
        for (int a = 0; a < QB; ++a) {
            const floatV u = LOADV(qp[a] + k);
            #pragma unroll
            for (int b = 0; b < XB; ++b) acc[a][b] += u * xv[b];
        }
    }
    const bool norms = mode == 1 || mode == 2;
    #pragma unroll
    for (int a = 0; a < QB; ++a) {
        if (i0 + a >= nq) break;
        const float qna = norms ? qn[i0 + a] : 0.0f;
        #pragma unroll
        for (int b = 0; b < XB; ++b) {
            if (j0 + b >= nx) break;
            float s = HSUM(acc[a][b]);
            for (int kk = k; kk < d; ++kk) s += LOAD1(qp[a] + kk) * LOAD1(xp[b] + kk);
            const float xnb = norms ? xn[x0 + j0 + b] : 0.0f;
            out[(size_t)(i0 + a) * ldo + j0 + b] = finish(s, mode, qna, xnb);
        }
    }
}
