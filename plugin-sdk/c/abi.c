/*
 * Runtime of the Abi C guest SDK: the exports every plugin needs (abi_version, abi_alloc,
 * abi_reset), the bump arena, the output buffer and the few libc functions that clang
 * may call on its own (memcpy, memmove, memset, memcmp). Compile with -mbulk-memory.
 */
#include "abi.h"

extern unsigned char __heap_base;

#define PAGE 65536u

static uintptr_t arena_floor; /* abi_reset returns the arena here */
static uintptr_t arena_top;   /* next free byte */
static uintptr_t last_block;  /* start of the newest block, for in-place growth */

static void arena_start(void) {
    if (arena_top == 0) {
        arena_floor = ((uintptr_t)&__heap_base + 7u) & ~(uintptr_t)7u;
        arena_top = arena_floor;
    }
}

static int ensure_memory(uintptr_t end) {
    uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * PAGE;
    if (end <= have) {
        return 1;
    }
    uintptr_t pages = (end - have + PAGE - 1) / PAGE;
    return __builtin_wasm_memory_grow(0, pages) != (size_t)-1;
}

void *abi_malloc(size_t size) {
    arena_start();
    uintptr_t start = (arena_top + 7u) & ~(uintptr_t)7u;
    uintptr_t end = start + size;
    if (end < start || end > 0x7fffffffu || !ensure_memory(end)) {
        return NULL;
    }
    arena_top = end;
    last_block = start;
    return (void *)start;
}

void *abi_realloc(void *ptr, size_t old_size, size_t new_size) {
    if (ptr != NULL && (uintptr_t)ptr == last_block && (uintptr_t)ptr + old_size == arena_top) {
        uintptr_t end = (uintptr_t)ptr + new_size;
        if (end < (uintptr_t)ptr || end > 0x7fffffffu || !ensure_memory(end)) {
            return NULL;
        }
        arena_top = end;
        return ptr;
    }
    void *fresh = abi_malloc(new_size);
    if (fresh != NULL && ptr != NULL) {
        memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    }
    return fresh;
}

void abi_keep(void) {
    arena_start();
    arena_floor = arena_top;
}

ABI_EXPORT("abi_version") int32_t abi_version(void) { return ABI_VERSION; }

ABI_EXPORT("abi_alloc") int32_t abi_alloc(int32_t size) {
    if (size < 0) {
        return 0;
    }
    return (int32_t)(uintptr_t)abi_malloc((size_t)size);
}

ABI_EXPORT("abi_reset") void abi_reset(void) {
    arena_start();
    arena_top = arena_floor;
    last_block = 0;
}

/* ---------------------------------------------------------------- strings */

size_t abi_strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int abi_memeq(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* ---------------------------------------------------------------- output buffer */

abi_buf abi_buf_new(uint32_t capacity) {
    abi_buf b = {0, 0, 0, 0};
    if (capacity == 0) {
        capacity = 16;
    }
    b.data = (uint8_t *)abi_malloc(capacity);
    if (b.data == NULL) {
        b.failed = 1;
    } else {
        b.cap = capacity;
    }
    return b;
}

static int buf_reserve(abi_buf *b, uint32_t extra) {
    if (b->failed) {
        return 0;
    }
    uint64_t need = (uint64_t)b->len + extra;
    if (need <= b->cap) {
        return 1;
    }
    uint64_t cap = b->cap ? (uint64_t)b->cap * 2 : 16;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > 0x7fffffffu) {
        b->failed = 1;
        return 0;
    }
    uint8_t *grown = (uint8_t *)abi_realloc(b->data, b->cap, (size_t)cap);
    if (grown == NULL) {
        b->failed = 1;
        return 0;
    }
    b->data = grown;
    b->cap = (uint32_t)cap;
    return 1;
}

void abi_buf_put(abi_buf *b, const void *data, uint32_t len) {
    if (len == 0 || !buf_reserve(b, len)) {
        return;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void abi_buf_putc(abi_buf *b, uint8_t c) {
    if (buf_reserve(b, 1)) {
        b->data[b->len++] = c;
    }
}

void abi_buf_puts(abi_buf *b, const char *s) { abi_buf_put(b, s, (uint32_t)abi_strlen(s)); }

void abi_buf_put_i64(abi_buf *b, int64_t v) {
    char digits[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + (u % 10));
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        abi_buf_putc(b, '-');
    }
    while (n > 0) {
        abi_buf_putc(b, (uint8_t)digits[--n]);
    }
}

void abi_buf_put_fixed(abi_buf *b, double v, int decimals) {
    int64_t scale = 1;
    for (int i = 0; i < decimals; i++) {
        scale *= 10;
    }
    int negative = v < 0;
    double magnitude = negative ? -v : v;
    int64_t scaled = (int64_t)(magnitude * (double)scale + 0.5);
    if (negative && scaled != 0) {
        abi_buf_putc(b, '-');
    }
    abi_buf_put_i64(b, scaled / scale);
    if (decimals > 0) {
        abi_buf_putc(b, '.');
        int64_t frac = scaled % scale;
        for (int64_t div = scale / 10; div > 0; div /= 10) {
            abi_buf_putc(b, (uint8_t)('0' + (frac / div) % 10));
        }
    }
}

void abi_buf_put_json_str(abi_buf *b, const uint8_t *s, uint32_t len) {
    static const char hex[] = "0123456789abcdef";
    abi_buf_putc(b, '"');
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"':
            abi_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            abi_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            abi_buf_put(b, "\\n", 2);
            break;
        case '\r':
            abi_buf_put(b, "\\r", 2);
            break;
        case '\t':
            abi_buf_put(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                uint8_t esc[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
                abi_buf_put(b, esc, 6);
            } else {
                abi_buf_putc(b, c);
            }
        }
    }
    abi_buf_putc(b, '"');
}

abi_result abi_buf_ok(abi_buf *b) {
    if (b->failed) {
        return abi_err("out of memory while building the output");
    }
    return abi_ok(b->data, b->len);
}

/* ---------------------------------------------------------------- host results */

static int contains(abi_bytes hay, const char *needle) {
    size_t n = abi_strlen(needle);
    if (n > hay.len) {
        return 0;
    }
    for (uint32_t i = 0; i + n <= hay.len; i++) {
        if (memcmp(hay.ptr + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

int abi_status_of(abi_result r, abi_bytes *out) {
    if (abi_unpack(r, out)) {
        return ABI_OK;
    }
    if (contains(*out, "\"not_found\"")) {
        return ABI_NOT_FOUND;
    }
    if (contains(*out, "\"capability_denied\"")) {
        return ABI_DENIED;
    }
    if (contains(*out, "\"limit_reached\"")) {
        return ABI_LIMIT_REACHED;
    }
    if (contains(*out, "\"bad_argument\"")) {
        return ABI_BAD_ARGUMENT;
    }
    return ABI_HOST_ERROR;
}

/* ---------------------------------------------------------------- libc subset */

void *memcpy(void *dst, const void *src, size_t n) {
    __builtin_memcpy(dst, src, n); /* memory.copy with -mbulk-memory */
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    __builtin_memmove(dst, src, n); /* memory.copy handles overlap */
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    __builtin_memset(dst, c, n); /* memory.fill with -mbulk-memory */
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = (const uint8_t *)a;
    const uint8_t *y = (const uint8_t *)b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}
