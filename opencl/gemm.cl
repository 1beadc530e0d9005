// C = alpha * A @ B + beta * C for row-major A (M x K), B (K x N), C (M x N).
//
// gemm_blocked (CPU): every work-item owns an 8 x 16 block of C held in registers and walks
// K, broadcasting A scalars against a float16 row of B; edge blocks take a scalar path.
// `c += a * b` rather than fma(): PoCL lowers fma on float16 to a library call.
// gemm_tiled (GPU): 16 x 16 work-groups staging tiles of A and B in local memory (PoCL runs
// this variant 60-300x slower, so it is only chosen for GPUs).

#define RB 8
#define CB 16

__kernel void gemm_blocked(__global const float* A, __global const float* B, __global float* C,
                           const int M, const int N, const int K, const float alpha,
                           const float beta) {
    // dimension 0 walks the row blocks: neighbouring work-items share the same 16-column
    // strip of B, which stays in cache (measured faster than walking the columns)
    const int i0 = get_global_id(0) * RB;
    const int j0 = get_global_id(1) * CB;
    if (i0 >= M || j0 >= N) return;
    if (i0 + RB <= M && j0 + CB <= N) {
        float16 c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
        const __global float* a = A + (size_t)i0 * K;
        for (int k = 0; k < K; ++k) {
            const float16 b = vload16(0, B + (size_t)k * N + j0);
            c0 += a[k] * b;
            c1 += a[K + k] * b;
            c2 += a[2 * K + k] * b;
            c3 += a[3 * K + k] * b;
            c4 += a[4 * K + k] * b;
            c5 += a[5 * K + k] * b;
            c6 += a[6 * K + k] * b;
            c7 += a[7 * K + k] * b;
        }
        __global float* c = C + (size_t)i0 * N + j0;
        if (beta == 0.0f) {
            vstore16(alpha * c0, 0, c);
            vstore16(alpha * c1, 0, c + N);
            vstore16(alpha * c2, 0, c + 2 * N);
            vstore16(alpha * c3, 0, c + 3 * N);
            vstore16(alpha * c4, 0, c + 4 * N);
            vstore16(alpha * c5, 0, c + 5 * N);
            vstore16(alpha * c6, 0, c + 6 * N);
            vstore16(alpha * c7, 0, c + 7 * N);
        } else {
            vstore16(alpha * c0 + beta * vload16(0, c), 0, c);
            vstore16(alpha * c1 + beta * vload16(0, c + N), 0, c + N);
            vstore16(alpha * c2 + beta * vload16(0, c + 2 * N), 0, c + 2 * N);
            vstore16(alpha * c3 + beta * vload16(0, c + 3 * N), 0, c + 3 * N);
            vstore16(alpha * c4 + beta * vload16(0, c + 4 * N), 0, c + 4 * N);
            vstore16(alpha * c5 + beta * vload16(0, c + 5 * N), 0, c + 5 * N);
            vstore16(alpha * c6 + beta * vload16(0, c + 6 * N), 0, c + 6 * N);
            vstore16(alpha * c7 + beta * vload16(0, c + 7 * N), 0, c + 7 * N);
        }
        return;
    }
    for (int i = i0; i < min(i0 + RB, M); ++i) {
        for (int j = j0; j < min(j0 + CB, N); ++j) {
            float acc = 0.0f;
            for (int k = 0; k < K; ++k) acc = fma(A[(size_t)i * K + k], B[(size_t)k * N + j], acc);
            const size_t o = (size_t)i * N + j;
            C[o] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[o];
        }
    }
}

#define TS 16

__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void gemm_tiled(__global const float* A, __global const float* B, __global float* C,
                const int M, const int N, const int K, const float alpha, const float beta) {
    __local float As[TS][TS];
    __local float Bs[TS][TS];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int j = get_group_id(0) * TS + tx;
    const int i = get_group_id(1) * TS + ty;
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        As[ty][tx] = (i < M && t + tx < K) ? A[(size_t)i * K + t + tx] : 0.0f;
        Bs[ty][tx] = (j < N && t + ty < K) ? B[(size_t)(t + ty) * N + j] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; ++k) acc = fma(As[ty][k], Bs[k][tx], acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (i < M && j < N) {
        const size_t o = (size_t)i * N + j;
        C[o] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[o];
    }
}
