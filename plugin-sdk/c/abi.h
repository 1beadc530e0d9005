/*
 * Abi guest SDK for C (guest ABI v1, see ../ABI.md).
 *
 * Build a plugin with the SDK's runtime (abi.c) and no libc:
 *
 *   clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry -Wl,--strip-all \
 *         -I plugin-sdk/c src/plugin.c plugin-sdk/c/abi.c -o plugin.wasm
 *
 * An author writes handlers `bytes -> bytes`:
 *
 *   #include "abi.h"
 *   ABI_HANDLER(handle) {
 *       abi_buf out = abi_buf_new(input.len + 8);
 *       abi_buf_put(&out, input.ptr, input.len);
 *       return abi_buf_ok(&out);
 *   }
 *
 * Memory: every allocation comes from a bump arena that the host resets after each call
 * (abi_reset). Data that must outlive a call is allocated before calling abi_keep().
 *
 * Host functions are static inline wrappers: a function you never call is not imported,
 * so a module imports exactly the capabilities it uses.
 */
#ifndef ABI_SDK_H
#define ABI_SDK_H

#include <stddef.h>
#include <stdint.h>

#define ABI_VERSION 1

/* ---------------------------------------------------------------- bytes and results */

/** A view of bytes in guest memory. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} abi_bytes;

/** A packed result: (ptr << 32) | len, bit 63 set for an error (ABI.md section 2). */
typedef int64_t abi_result;

#define ABI_ERROR_FLAG ((uint64_t)1 << 63)

/* i32 status codes of host functions (ABI.md section 3). */
#define ABI_OK 0
#define ABI_DENIED (-1)
#define ABI_BAD_ARGUMENT (-2)
#define ABI_LIMIT_REACHED (-3)
#define ABI_NOT_FOUND (-4)
#define ABI_HOST_ERROR (-5)

#define ABI_EXPORT(name) __attribute__((export_name(name)))
#define ABI_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/** Pack a success result pointing at `len` bytes at `ptr`. */
static inline abi_result abi_ok(const void *ptr, uint32_t len) {
    return (abi_result)(((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)len);
}

/** Pack an error result whose message is `len` bytes of UTF-8 at `ptr`. */
static inline abi_result abi_err_bytes(const void *ptr, uint32_t len) {
    return (abi_result)((((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)len) | ABI_ERROR_FLAG);
}

size_t abi_strlen(const char *s);
int abi_memeq(const void *a, const void *b, size_t n);

/** A success result with a NUL-terminated string (not including the NUL). */
static inline abi_result abi_ok_str(const char *s) { return abi_ok(s, (uint32_t)abi_strlen(s)); }

/** An error result with a NUL-terminated message. */
static inline abi_result abi_err(const char *msg) {
    return abi_err_bytes(msg, (uint32_t)abi_strlen(msg));
}

/** Split a packed result: returns 1 for success, 0 for an error; `out` gets the bytes. */
static inline int abi_unpack(abi_result r, abi_bytes *out) {
    uint64_t u = (uint64_t)r;
    out->ptr = (const uint8_t *)(uintptr_t)((u & ~ABI_ERROR_FLAG) >> 32);
    out->len = (uint32_t)(u & 0xffffffffu);
    return (u & ABI_ERROR_FLAG) ? 0 : 1;
}

/** Bytes of a NUL-terminated string. */
static inline abi_bytes abi_str(const char *s) {
    abi_bytes b = {(const uint8_t *)s, (uint32_t)abi_strlen(s)};
    return b;
}

/** 1 when `b` equals the NUL-terminated string `s`. */
static inline int abi_bytes_eq(abi_bytes b, const char *s) {
    size_t n = abi_strlen(s);
    return b.len == n && abi_memeq(b.ptr, s, n);
}

/* ---------------------------------------------------------------- arena memory */

/** `size` bytes from the call arena (8-byte aligned), NULL when memory is exhausted. */
void *abi_malloc(size_t size);
/** Grow the block at `ptr` (in place when it is the newest block), NULL on failure. */
void *abi_realloc(void *ptr, size_t old_size, size_t new_size);
/** Everything allocated so far survives abi_reset (state built in abi_init, say). */
void abi_keep(void);

/* ---------------------------------------------------------------- output buffer */

/** A growable byte buffer in the arena; `failed` is set when memory ran out. */
typedef struct {
    uint8_t *data;
    uint32_t len;
    uint32_t cap;
    int failed;
} abi_buf;

abi_buf abi_buf_new(uint32_t capacity);
void abi_buf_put(abi_buf *b, const void *data, uint32_t len);
void abi_buf_putc(abi_buf *b, uint8_t c);
void abi_buf_puts(abi_buf *b, const char *s);
void abi_buf_put_i64(abi_buf *b, int64_t v);
/** Append `v` with `decimals` digits after the point (rounded half away from zero). */
void abi_buf_put_fixed(abi_buf *b, double v, int decimals);
/** Append `s` as a JSON string literal, quotes included (UTF-8 passes through). */
void abi_buf_put_json_str(abi_buf *b, const uint8_t *s, uint32_t len);
/** The buffer as a success result (an error result if memory ran out). */
abi_result abi_buf_ok(abi_buf *b);
/** The buffer's bytes as a view. */
static inline abi_bytes abi_buf_bytes(const abi_buf *b) {
    abi_bytes v = {b->data, b->len};
    return v;
}

/* ---------------------------------------------------------------- handler macros */

/** Define an exported handler `name`; the body sees `abi_bytes input` and returns abi_result. */
#define ABI_HANDLER(name)                                                                  \
    static abi_result name##__abi_body(abi_bytes input);                                   \
    ABI_EXPORT(#name) int64_t name(const uint8_t *ptr, uint32_t len) {                    \
        abi_bytes in = {ptr, len};                                                         \
        return name##__abi_body(in);                                                       \
    }                                                                                      \
    static abi_result name##__abi_body(abi_bytes input)

/** Define abi_init: the body sees the tenant's config JSON as `abi_bytes input`. */
#define ABI_INIT ABI_HANDLER(abi_init)

/** Define abi_health: the body returns a JSON object such as {"ok":true}. */
#define ABI_HEALTH                                                                         \
    static abi_result abi_health__abi_body(void);                                         \
    ABI_EXPORT("abi_health") int64_t abi_health(void) { return abi_health__abi_body(); }  \
    static abi_result abi_health__abi_body(void)

/** Define abi_metrics: the body returns a JSON object of numbers. */
#define ABI_METRICS                                                                        \
    static abi_result abi_metrics__abi_body(void);                                        \
    ABI_EXPORT("abi_metrics") int64_t abi_metrics(void) { return abi_metrics__abi_body(); } \
    static abi_result abi_metrics__abi_body(void)

/* ---------------------------------------------------------------- raw host imports */

ABI_IMPORT("abi_log", "write") void abi__log_write(int32_t, const void *, uint32_t);
ABI_IMPORT("abi_config", "get") int64_t abi__config_get(const void *, uint32_t);
ABI_IMPORT("abi_kv", "get") int64_t abi__kv_get(const void *, uint32_t);
ABI_IMPORT("abi_kv", "set") int32_t abi__kv_set(const void *, uint32_t, const void *, uint32_t);
ABI_IMPORT("abi_kv", "delete") int32_t abi__kv_delete(const void *, uint32_t);
ABI_IMPORT("abi_stream", "emit") int32_t abi__stream_emit(const void *, uint32_t);
ABI_IMPORT("abi_clock", "now_ms") int64_t abi__clock_now_ms(void);
ABI_IMPORT("abi_clock", "monotonic_ns") int64_t abi__clock_monotonic_ns(void);
ABI_IMPORT("abi_random", "fill") int32_t abi__random_fill(void *, uint32_t);
ABI_IMPORT("abi_http", "request") int64_t abi__http_request(const void *, uint32_t);
ABI_IMPORT("abi_vectors_read", "search") int64_t abi__vectors_search(const void *, uint32_t);
ABI_IMPORT("abi_vectors_read", "get") int64_t abi__vectors_get(const void *, uint32_t);
ABI_IMPORT("abi_vectors_write", "upsert") int64_t abi__vectors_upsert(const void *, uint32_t);
ABI_IMPORT("abi_vectors_write", "delete") int64_t abi__vectors_delete(const void *, uint32_t);
ABI_IMPORT("abi_embed", "embed") int64_t abi__embed(const void *, uint32_t);
ABI_IMPORT("abi_neural_infer", "infer") int64_t abi__neural_infer(const void *, uint32_t);
ABI_IMPORT("abi_agents_call", "call") int64_t abi__agents_call(const void *, uint32_t);

/* ---------------------------------------------------------------- typed host functions */

/** Status for an i64 host result: ABI_OK, or the status matching the error JSON's code. */
int abi_status_of(abi_result r, abi_bytes *out);

#define ABI_LOG_DEBUG 0
#define ABI_LOG_INFO 1
#define ABI_LOG_WARN 2
#define ABI_LOG_ERROR 3

/** log: write one UTF-8 line at `level` (ABI_LOG_*). */
static inline void abi_log(int level, const void *msg, uint32_t len) {
    abi__log_write(level, msg, len);
}
static inline void abi_log_str(int level, const char *msg) {
    abi__log_write(level, msg, (uint32_t)abi_strlen(msg));
}

/** config: the JSON value of `key`; ABI_NOT_FOUND when unset (`value` gets the error JSON). */
static inline int abi_config_get(abi_bytes key, abi_bytes *value) {
    return abi_status_of(abi__config_get(key.ptr, key.len), value);
}

/** kv: the bytes stored under `key`; ABI_NOT_FOUND when absent. */
static inline int abi_kv_get(abi_bytes key, abi_bytes *value) {
    return abi_status_of(abi__kv_get(key.ptr, key.len), value);
}
/** kv: store `value` under `key`. */
static inline int abi_kv_set(abi_bytes key, abi_bytes value) {
    return abi__kv_set(key.ptr, key.len, value.ptr, value.len);
}
/** kv: remove `key` (ABI_NOT_FOUND when absent). */
static inline int abi_kv_delete(abi_bytes key) { return abi__kv_delete(key.ptr, key.len); }

/** stream: send a chunk to the caller now. */
static inline int abi_stream_emit(const void *ptr, uint32_t len) {
    return abi__stream_emit(ptr, len);
}

/** clock: Unix time in milliseconds. */
static inline int64_t abi_clock_now_ms(void) { return abi__clock_now_ms(); }
/** clock: monotonic nanoseconds. */
static inline int64_t abi_clock_monotonic_ns(void) { return abi__clock_monotonic_ns(); }

/** random: fill `len` bytes (<= 64 KiB) with secure random bytes. */
static inline int abi_random_fill(void *ptr, uint32_t len) { return abi__random_fill(ptr, len); }

/* JSON request -> JSON response capabilities (ABI.md section 3): each returns ABI_OK with the
 * response, or a negative status with the host's error JSON in `response`. */
#define ABI__JSON_CALL(name, import)                                                       \
    static inline int name(abi_bytes request, abi_bytes *response) {                      \
        return abi_status_of(import(request.ptr, request.len), response);                  \
    }
ABI__JSON_CALL(abi_http_request, abi__http_request)
ABI__JSON_CALL(abi_vectors_search, abi__vectors_search)
ABI__JSON_CALL(abi_vectors_get, abi__vectors_get)
ABI__JSON_CALL(abi_vectors_upsert, abi__vectors_upsert)
ABI__JSON_CALL(abi_vectors_delete, abi__vectors_delete)
ABI__JSON_CALL(abi_embed, abi__embed)
ABI__JSON_CALL(abi_neural_infer, abi__neural_infer)
ABI__JSON_CALL(abi_agents_call, abi__agents_call)

/* ---------------------------------------------------------------- JSON reading (abi_json.c) */

/*
 * Zero-copy reading of JSON documents: values are spans of the document's bytes.
 * Nesting deeper than ABI_JSON_MAX_DEPTH counts as malformed.
 */
#define ABI_JSON_MAX_DEPTH 64

/** Parse the value at `*pos` (after whitespace); 1 and its span, advancing `*pos`; 0 if malformed. */
int abi_json_value(abi_bytes doc, uint32_t *pos, abi_bytes *value);
/** 1 when `doc` is exactly one well-formed JSON value (whitespace around it allowed). */
int abi_json_valid(abi_bytes doc);
/** Member `key` of the object `obj`: 1 and its value span, 0 when absent or not an object. */
int abi_json_get(abi_bytes obj, const char *key, abi_bytes *value);
/** Iterate an array: `*pos` starts at 0; 1 and the next element, 0 at the end. */
int abi_json_next(abi_bytes array, uint32_t *pos, abi_bytes *element);
/** Iterate an object: `*pos` starts at 0; 1 with the next raw key (a string span) and value. */
int abi_json_member(abi_bytes object, uint32_t *pos, abi_bytes *key, abi_bytes *value);
/** Append the decoded UTF-8 of the JSON string `value` to `out`; 0 when not a string. */
int abi_json_string(abi_bytes value, abi_buf *out);
/** The integer `value` (no fraction or exponent, fits int64); 0 otherwise. */
int abi_json_int(abi_bytes value, int64_t *out);

/* ---------------------------------------------------------------- libc subset */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* ABI_SDK_H */
