// k-means update: the mean of every cluster's members. The host sorts the points by cluster
// (order) and gives each cluster's range [offsets[c], offsets[c + 1]); one work-item sums one
// cluster over a stripe of 8 dimensions. An empty cluster keeps its previous centroid.

__kernel void kmeans_update(__global const float* data, __global const int* order,
                            __global const int* offsets, __global const float* previous,
                            __global float* centroids, const int k, const int d) {
    const int c = get_global_id(0);
    const int d0 = get_global_id(1) * 8;
    if (c >= k || d0 >= d) return;
    const int lo = offsets[c], hi = offsets[c + 1];
    const int width = min(8, d - d0);
    float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int o = lo; o < hi; ++o) {
        const __global float* row = data + (size_t)order[o] * d + d0;
        for (int t = 0; t < width; ++t) acc[t] += row[t];
    }
    __global float* out = centroids + (size_t)c * d + d0;
    const __global float* prev = previous + (size_t)c * d + d0;
    const float inv = hi > lo ? 1.0f / (float)(hi - lo) : 0.0f;
    for (int t = 0; t < width; ++t) out[t] = hi > lo ? acc[t] * inv : prev[t];
}
