/*
 * JSON reading for the Abi C guest SDK: a validating recursive-descent scanner that returns
 * spans of the document (no copies, no allocation) and decodes strings on request.
 */
#include "abi.h"

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static uint32_t skip_ws(abi_bytes d, uint32_t i) {
    while (i < d.len && is_ws(d.ptr[i])) {
        i++;
    }
    return i;
}

static int hex_val(uint8_t c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int scan(abi_bytes d, uint32_t *pos, int depth);

static int scan_string(abi_bytes d, uint32_t *pos) {
    uint32_t i = *pos + 1; /* past the opening quote */
    while (i < d.len) {
        uint8_t c = d.ptr[i];
        if (c == '"') {
            *pos = i + 1;
            return 1;
        }
        if (c < 0x20) {
            return 0;
        }
        if (c == '\\') {
            if (i + 1 >= d.len) {
                return 0;
            }
            uint8_t e = d.ptr[i + 1];
            if (e == 'u') {
                if (i + 5 >= d.len) {
                    return 0;
                }
                for (int k = 2; k < 6; k++) {
                    if (hex_val(d.ptr[i + k]) < 0) {
                        return 0;
                    }
                }
                i += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                e != 'r' && e != 't') {
                return 0;
            }
            i += 2;
            continue;
        }
        i++;
    }
    return 0;
}

static uint32_t digits(abi_bytes d, uint32_t i) {
    while (i < d.len && d.ptr[i] >= '0' && d.ptr[i] <= '9') {
        i++;
    }
    return i;
}

static int scan_number(abi_bytes d, uint32_t *pos) {
    uint32_t i = *pos;
    if (i < d.len && d.ptr[i] == '-') {
        i++;
    }
    if (i >= d.len) {
        return 0;
    }
    if (d.ptr[i] == '0') {
        i++;
    } else {
        uint32_t j = digits(d, i);
        if (j == i) {
            return 0;
        }
        i = j;
    }
    if (i < d.len && d.ptr[i] == '.') {
        uint32_t j = digits(d, i + 1);
        if (j == i + 1) {
            return 0;
        }
        i = j;
    }
    if (i < d.len && (d.ptr[i] == 'e' || d.ptr[i] == 'E')) {
        i++;
        if (i < d.len && (d.ptr[i] == '+' || d.ptr[i] == '-')) {
            i++;
        }
        uint32_t j = digits(d, i);
        if (j == i) {
            return 0;
        }
        i = j;
    }
    *pos = i;
    return 1;
}

static int scan_literal(abi_bytes d, uint32_t *pos, const char *word) {
    uint32_t n = (uint32_t)abi_strlen(word);
    if (d.len - *pos < n || !abi_memeq(d.ptr + *pos, word, n)) {
        return 0;
    }
    *pos += n;
    return 1;
}

static int scan_container(abi_bytes d, uint32_t *pos, int depth, uint8_t close) {
    uint32_t i = skip_ws(d, *pos + 1);
    if (i < d.len && d.ptr[i] == close) {
        *pos = i + 1;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            if (i >= d.len || d.ptr[i] != '"' || !scan_string(d, &i)) {
                return 0;
            }
            i = skip_ws(d, i);
            if (i >= d.len || d.ptr[i] != ':') {
                return 0;
            }
            i++;
        }
        if (!scan(d, &i, depth + 1)) {
            return 0;
        }
        i = skip_ws(d, i);
        if (i < d.len && d.ptr[i] == ',') {
            i = skip_ws(d, i + 1);
            continue;
        }
        if (i < d.len && d.ptr[i] == close) {
            *pos = i + 1;
            return 1;
        }
        return 0;
    }
}

/* Scan the value at *pos (whitespace first); on success *pos is just past it. */
static int scan(abi_bytes d, uint32_t *pos, int depth) {
    uint32_t i = skip_ws(d, *pos);
    if (i >= d.len || depth > ABI_JSON_MAX_DEPTH) {
        return 0;
    }
    int ok;
    switch (d.ptr[i]) {
    case '{':
        ok = scan_container(d, &i, depth, '}');
        break;
    case '[':
        ok = scan_container(d, &i, depth, ']');
        break;
    case '"':
        ok = scan_string(d, &i);
        break;
    case 't':
        ok = scan_literal(d, &i, "true");
        break;
    case 'f':
        ok = scan_literal(d, &i, "false");
        break;
    case 'n':
        ok = scan_literal(d, &i, "null");
        break;
    default:
        ok = scan_number(d, &i);
    }
    if (ok) {
        *pos = i;
    }
    return ok;
}

int abi_json_value(abi_bytes doc, uint32_t *pos, abi_bytes *value) {
    uint32_t start = skip_ws(doc, *pos);
    uint32_t end = start;
    if (!scan(doc, &end, 0)) {
        return 0;
    }
    value->ptr = doc.ptr + start;
    value->len = end - start;
    *pos = end;
    return 1;
}

int abi_json_valid(abi_bytes doc) {
    uint32_t pos = 0;
    abi_bytes v;
    return abi_json_value(doc, &pos, &v) && skip_ws(doc, pos) == doc.len;
}

/* Shared iteration over arrays and objects: positions the cursor on the next element. */
static int next_item(abi_bytes c, uint32_t *pos, uint8_t open, uint8_t close) {
    uint32_t i;
    if (*pos == 0) {
        i = skip_ws(c, 0);
        if (i >= c.len || c.ptr[i] != open) {
            return 0;
        }
        i = skip_ws(c, i + 1);
    } else {
        i = skip_ws(c, *pos);
        if (i < c.len && c.ptr[i] == ',') {
            i = skip_ws(c, i + 1);
        }
    }
    if (i >= c.len || c.ptr[i] == close) {
        *pos = c.len;
        return 0;
    }
    *pos = i;
    return 1;
}

int abi_json_next(abi_bytes array, uint32_t *pos, abi_bytes *element) {
    return next_item(array, pos, '[', ']') && abi_json_value(array, pos, element);
}

int abi_json_member(abi_bytes object, uint32_t *pos, abi_bytes *key, abi_bytes *value) {
    if (!next_item(object, pos, '{', '}') || !abi_json_value(object, pos, key) ||
        key->ptr[0] != '"') {
        return 0;
    }
    uint32_t i = skip_ws(object, *pos);
    if (i >= object.len || object.ptr[i] != ':') {
        return 0;
    }
    *pos = i + 1;
    return abi_json_value(object, pos, value);
}

/* 1 when the JSON string literal `raw` decodes to exactly `key`. */
static int key_equals(abi_bytes raw, const char *key) {
    int escaped = 0;
    for (uint32_t i = 1; i + 1 < raw.len; i++) {
        escaped |= raw.ptr[i] == '\\';
    }
    if (!escaped) {
        abi_bytes inner = {raw.ptr + 1, raw.len - 2};
        return abi_bytes_eq(inner, key);
    }
    abi_buf tmp = abi_buf_new(raw.len);
    int same = abi_json_string(raw, &tmp) && abi_bytes_eq(abi_buf_bytes(&tmp), key);
    return same;
}

int abi_json_get(abi_bytes obj, const char *key, abi_bytes *value) {
    uint32_t pos = 0;
    abi_bytes k;
    abi_bytes v;
    while (abi_json_member(obj, &pos, &k, &v)) {
        if (key_equals(k, key)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

static void put_utf8(abi_buf *out, uint32_t cp) {
    if (cp < 0x80) {
        abi_buf_putc(out, (uint8_t)cp);
    } else if (cp < 0x800) {
        abi_buf_putc(out, (uint8_t)(0xc0 | (cp >> 6)));
        abi_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        abi_buf_putc(out, (uint8_t)(0xe0 | (cp >> 12)));
        abi_buf_putc(out, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
        abi_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        abi_buf_putc(out, (uint8_t)(0xf0 | (cp >> 18)));
        abi_buf_putc(out, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
        abi_buf_putc(out, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
        abi_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

static uint32_t hex4(const uint8_t *p) {
    return (uint32_t)((hex_val(p[0]) << 12) | (hex_val(p[1]) << 8) | (hex_val(p[2]) << 4) |
                      hex_val(p[3]));
}

int abi_json_string(abi_bytes value, abi_buf *out) {
    uint32_t end = 0;
    if (value.len < 2 || value.ptr[0] != '"' || !scan_string(value, &end) || end != value.len) {
        return 0;
    }
    for (uint32_t i = 1; i + 1 < value.len; i++) {
        uint8_t c = value.ptr[i];
        if (c != '\\') {
            abi_buf_putc(out, c);
            continue;
        }
        uint8_t e = value.ptr[++i];
        switch (e) {
        case 'b':
            abi_buf_putc(out, '\b');
            break;
        case 'f':
            abi_buf_putc(out, '\f');
            break;
        case 'n':
            abi_buf_putc(out, '\n');
            break;
        case 'r':
            abi_buf_putc(out, '\r');
            break;
        case 't':
            abi_buf_putc(out, '\t');
            break;
        case 'u': {
            uint32_t cp = hex4(value.ptr + i + 1);
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < value.len && value.ptr[i + 1] == '\\' &&
                value.ptr[i + 2] == 'u') {
                uint32_t low = hex4(value.ptr + i + 3);
                if (low >= 0xdc00 && low < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            put_utf8(out, cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
            break;
        }
        default:
            abi_buf_putc(out, e);
        }
    }
    return !out->failed;
}

int abi_json_int(abi_bytes value, int64_t *out) {
    uint32_t i = 0;
    int negative = value.len > 0 && value.ptr[0] == '-';
    i = (uint32_t)negative;
    if (i >= value.len || value.len - i > 18) {
        return 0;
    }
    int64_t v = 0;
    for (; i < value.len; i++) {
        uint8_t c = value.ptr[i];
        if (c < '0' || c > '9') {
            return 0;
        }
        v = v * 10 + (c - '0');
    }
    *out = negative ? -v : v;
    return 1;
}
