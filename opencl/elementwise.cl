// Elementwise maps and optimizer steps over flat float arrays of any length n.
// Every work-item handles `per` consecutive float8 vectors; the last one finishes the tail
// element by element.

#define SPAN(per) ((size_t)get_global_id(0) * (per) * 8)

#define MAP_KERNEL(NAME, EXPR)                                                      \
__kernel void NAME(__global const float* x, __global float* y, const int n,        \
                   const int per) {                                                 \
    const size_t start = SPAN(per);                                                 \
    const size_t stop = min((size_t)n, start + (size_t)per * 8);                    \
    size_t i = start;                                                               \
    for (; i + 8 <= stop; i += 8) {                                                 \
        const float8 v = vload8(0, x + i);                                          \
        vstore8(EXPR, 0, y + i);                                                    \
    }                                                                               \
    for (; i < stop; ++i) {                                                         \
        const float v = x[i];                                                       \
        y[i] = EXPR;                                                                \
    }                                                                               \
}

MAP_KERNEL(relu, fmax(v, 0.0f))
MAP_KERNEL(gelu, 0.5f * v * (1.0f + erf(v * M_SQRT1_2_F)))
MAP_KERNEL(sigmoid, 1.0f / (1.0f + exp(-v)))
MAP_KERNEL(tanh_map, tanh(v))

// v = momentum * v + (g + wd * p); p -= lr * v
__kernel void sgd_momentum(__global float* p, __global const float* g, __global float* v,
                           const int n, const int per, const float lr, const float momentum,
                           const float wd) {
    const size_t start = SPAN(per);
    const size_t stop = min((size_t)n, start + (size_t)per * 8);
    for (size_t i = start; i < stop; ++i) {
        const float vi = fma(momentum, v[i], fma(wd, p[i], g[i]));
        v[i] = vi;
        p[i] -= lr * vi;
    }
}

// AdamW: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr * wd * p + lr * (m / c1) / (sqrt(v / c2) + eps), c1 and c2 the bias corrections.
__kernel void adam(__global float* p, __global const float* g, __global float* m,
                   __global float* v, const int n, const int per, const float lr,
                   const float b1, const float b2, const float eps, const float wd,
                   const float c1, const float c2) {
    const size_t start = SPAN(per);
    const size_t stop = min((size_t)n, start + (size_t)per * 8);
    for (size_t i = start; i < stop; ++i) {
        const float gi = g[i];
        const float mi = fma(b1, m[i], (1.0f - b1) * gi);
        const float vi = fma(b2, v[i], (1.0f - b2) * gi * gi);
        m[i] = mi;
        v[i] = vi;
        const float pi = p[i] - lr * wd * p[i];
        p[i] = pi - lr * (mi / c1) / (sqrt(vi / c2) + eps);
    }
}
