// Row top-k selection: the k smallest of sign * value in every row (sign = -1 selects the
// largest). Each work-item scans one segment of one row keeping a sorted list in private
// memory; the host merges segments when a row is split (few rows, long rows).
// Build option: -DMAXK=<largest k> (the private list's capacity).

#ifndef MAXK
#define MAXK 128
#endif

// Insert `key` (with column `col`) into the sorted list; returns the new worst key.
inline float insert(float* best, int* besti, int* count, const int k, const float key,
                    const int col) {
    int pos = *count < k ? *count : k - 1;
    while (pos > 0 && best[pos - 1] > key) {
        best[pos] = best[pos - 1];
        besti[pos] = besti[pos - 1];
        --pos;
    }
    best[pos] = key;
    besti[pos] = col;
    if (*count < k) ++*count;
    return *count == k ? best[k - 1] : INFINITY;
}

__kernel void row_topk(__global const float* s, const int rows, const int n, const int lds,
                       const int k, const float sign, const int seg_len,
                       __global float* out_val, __global int* out_idx, const int ldo,
                       const int col0, const int idx_base) {
    const int r = get_global_id(0);
    const int seg = get_global_id(1);
    if (r >= rows) return;
    const int start = seg * seg_len;
    const int stop = min(start + seg_len, n);
    float best[MAXK];
    int besti[MAXK];
    int count = 0;
    float worst = INFINITY;
    const __global float* row = s + (size_t)r * lds;
    int j = start;
    // most values lose against the current worst: test eight at a time
    for (; j + 8 <= stop; j += 8) {
        const float8 v = sign * vload8(0, row + j);
        if (count == k && !any(v < (float8)(worst))) continue;
        float vals[8];
        vstore8(v, 0, vals);
        for (int t = 0; t < 8; ++t) {
            if (count < k || vals[t] < worst) {
                worst = insert(best, besti, &count, k, vals[t], j + t);
            }
        }
    }
    for (; j < stop; ++j) {
        const float key = sign * row[j];
        if (count < k || key < worst) worst = insert(best, besti, &count, k, key, j);
    }
    // results of row r, segment seg go to columns col0 + seg * k ... of an ldo-wide output
    __global float* ov = out_val + (size_t)r * ldo + col0 + seg * k;
    __global int* oi = out_idx + (size_t)r * ldo + col0 + seg * k;
    for (int t = 0; t < k; ++t) {
        ov[t] = t < count ? sign * best[t] : sign * INFINITY;
        oi[t] = t < count ? besti[t] + idx_base : -1;
    }
}
