// Row-wise reductions over a (rows x n) row-major matrix, one work-item per row.

__kernel void softmax_rows(__global const float* x, __global float* y, const int rows,
                           const int n) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float* xr = x + (size_t)r * n;
    __global float* yr = y + (size_t)r * n;
    float m = -INFINITY;
    for (int j = 0; j < n; ++j) m = fmax(m, xr[j]);
    float total = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float e = exp(xr[j] - m);
        yr[j] = e;
        total += e;
    }
    const float inv = 1.0f / total;
    for (int j = 0; j < n; ++j) yr[j] *= inv;
}

__kernel void layer_norm_rows(__global const float* x, __global float* y,
                              __global const float* gamma, __global const float* beta,
                              const int rows, const int n, const float eps) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float* xr = x + (size_t)r * n;
    __global float* yr = y + (size_t)r * n;
    float mean = 0.0f;
    for (int j = 0; j < n; ++j) mean += xr[j];
    mean /= n;
    float var = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float c = xr[j] - mean;
        var = fma(c, c, var);
    }
    const float inv = rsqrt(var / n + eps);
    for (int j = 0; j < n; ++j) yr[j] = fma((xr[j] - mean) * inv, gamma[j], beta[j]);
}
