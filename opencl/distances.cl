// Batched inner products and distances between a query block and a vector block.
//
// CPU variant: every work-item computes a 4 x 4 block of (query, vector) pairs, accumulating
// VW-wide vectors over the dimension (register blocking; no local memory, which PoCL
// serialises). Rows past the end are clamped on load and skipped on store, so any nq, nx and
// d work. Build options: -DVW=8|16 (vector width; 8 suits AVX2's registers), -DHALF_STORAGE
// to read half-precision inputs (computed in f32; vload_half needs no cl_khr_fp16).
// Accumulation is written `a += u * v` (contracted to FMA by -cl-mad-enable): fma() on wide
// vectors is a library call on PoCL.

#ifndef VW
#define VW 8
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

#define DOT_TAIL(acc, qa, xa) \
    for (int kk = k; kk < d; ++kk) acc = fma(LOAD1((qa) + kk), LOAD1((xa) + kk), acc)

inline void store_row(__global float* o, const int j0, const int nx, const int mode,
                      const float qni, __global const float* xn, const int xbase,
                      const float s0, const float s1, const float s2, const float s3) {
    const bool norms = mode == 1 || mode == 2;
    o[0] = finish(s0, mode, qni, norms ? xn[xbase] : 0.0f);
    if (j0 + 1 < nx) o[1] = finish(s1, mode, qni, norms ? xn[xbase + 1] : 0.0f);
    if (j0 + 2 < nx) o[2] = finish(s2, mode, qni, norms ? xn[xbase + 2] : 0.0f);
    if (j0 + 3 < nx) o[3] = finish(s3, mode, qni, norms ? xn[xbase + 3] : 0.0f);
}

// out[i * ldo + j] = finish(<q_i, x_(x0 + j)>) for i < nq, j < nx.
__kernel void block_distances(__global const stor_t* q, __global const stor_t* x,
                              __global float* out, const int nq, const int nx, const int d,
                              const int x0, const int ldo, const int mode,
                              __global const float* qn, __global const float* xn) {
    // dimension 0 walks the queries so that neighbouring work-items share vector rows (the
    // query block stays in cache; the database streams from memory once)
    const int i0 = get_global_id(0) * 4;
    const int j0 = get_global_id(1) * 4;
    if (j0 >= nx || i0 >= nq) return;
    const __global stor_t* q0 = q + (size_t)i0 * d;
    const __global stor_t* q1 = q + (size_t)min(i0 + 1, nq - 1) * d;
    const __global stor_t* q2 = q + (size_t)min(i0 + 2, nq - 1) * d;
    const __global stor_t* q3 = q + (size_t)min(i0 + 3, nq - 1) * d;
    const __global stor_t* p0 = x + (size_t)(x0 + j0) * d;
    const __global stor_t* p1 = x + (size_t)(x0 + min(j0 + 1, nx - 1)) * d;
    const __global stor_t* p2 = x + (size_t)(x0 + min(j0 + 2, nx - 1)) * d;
    const __global stor_t* p3 = x + (size_t)(x0 + min(j0 + 3, nx - 1)) * d;
    floatV a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
    floatV a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
    int k = 0;
    for (; k + VW <= d; k += VW) {
        const floatV v0 = LOADV(p0 + k), v1 = LOADV(p1 + k);
        const floatV v2 = LOADV(p2 + k), v3 = LOADV(p3 + k);
        floatV u = LOADV(q0 + k);
        a00 += u * v0; a01 += u * v1; a02 += u * v2; a03 += u * v3;
        u = LOADV(q1 + k);
        a10 += u * v0; a11 += u * v1; a12 += u * v2; a13 += u * v3;
        u = LOADV(q2 + k);
        a20 += u * v0; a21 += u * v1; a22 += u * v2; a23 += u * v3;
        u = LOADV(q3 + k);
        a30 += u * v0; a31 += u * v1; a32 += u * v2; a33 += u * v3;
    }
    float s00 = HSUM(a00), s01 = HSUM(a01), s02 = HSUM(a02), s03 = HSUM(a03);
    float s10 = HSUM(a10), s11 = HSUM(a11), s12 = HSUM(a12), s13 = HSUM(a13);
    float s20 = HSUM(a20), s21 = HSUM(a21), s22 = HSUM(a22), s23 = HSUM(a23);
    float s30 = HSUM(a30), s31 = HSUM(a31), s32 = HSUM(a32), s33 = HSUM(a33);
    if (k < d) {
        DOT_TAIL(s00, q0, p0); DOT_TAIL(s01, q0, p1); DOT_TAIL(s02, q0, p2); DOT_TAIL(s03, q0, p3);
        DOT_TAIL(s10, q1, p0); DOT_TAIL(s11, q1, p1); DOT_TAIL(s12, q1, p2); DOT_TAIL(s13, q1, p3);
        DOT_TAIL(s20, q2, p0); DOT_TAIL(s21, q2, p1); DOT_TAIL(s22, q2, p2); DOT_TAIL(s23, q2, p3);
        DOT_TAIL(s30, q3, p0); DOT_TAIL(s31, q3, p1); DOT_TAIL(s32, q3, p2); DOT_TAIL(s33, q3, p3);
    }
    const bool norms = mode == 1 || mode == 2;
    __global float* o = out + (size_t)i0 * ldo + j0;
    const int xb = x0 + j0;
    store_row(o, j0, nx, mode, norms ? qn[i0] : 0.0f, xn, xb, s00, s01, s02, s03);
    if (i0 + 1 < nq)
        store_row(o + ldo, j0, nx, mode, norms ? qn[i0 + 1] : 0.0f, xn, xb, s10, s11, s12, s13);
    if (i0 + 2 < nq)
        store_row(o + 2 * ldo, j0, nx, mode, norms ? qn[i0 + 2] : 0.0f, xn, xb, s20, s21, s22, s23);
    if (i0 + 3 < nq)
        store_row(o + 3 * ldo, j0, nx, mode, norms ? qn[i0 + 3] : 0.0f, xn, xb, s30, s31, s32, s33);
}
