/*
 * pii-redact: finds personal data in UTF-8 text and masks it.
 *
 * Entry points:
 *   redact  text -> the same text with each finding replaced by [EMAIL], [PHONE], [CARD],
 *           [SSN], [IP] or [IBAN]; everything else (any UTF-8) passes through unchanged
 *   redact_json  a JSON document -> the same document, compact, with every string value
 *           redacted as above (object keys, numbers and literals are kept)
 *   scan    text -> JSON {"counts":{type:n},"findings":[{"type","text","start","end"}]}
 *           with start/end in Unicode code points (end exclusive)
 *
 * Detection rules (a finding never starts or ends inside a word):
 *   email  local@domain.tld with at least two domain labels and an alphabetic TLD
 *   card   13-19 digits, single spaces or dashes between groups, valid Luhn checksum
 *   ssn    US social security number ddd-dd-dddd (area not 000/666/9xx, group and serial
 *          not all zeros)
 *   iban   two letters, two check digits, 11-30 letters/digits (spaces every four allowed),
 *          valid ISO 13616 mod-97 checksum
 *   ip     IPv4 dotted quad, each part 0-255
 *   phone  10-15 digits (8-15 after a leading +) in at most five groups separated by
 *          spaces, dashes, dots or parentheses
 */
#include "abi.h"

enum kind { CARD, EMAIL, IBAN, IP, PHONE, SSN, KINDS };

static const char *const NAMES[KINDS] = {"card", "email", "iban", "ip", "phone", "ssn"};
static const char *const MASKS[KINDS] = {"[CARD]", "[EMAIL]", "[IBAN]", "[IP]", "[PHONE]", "[SSN]"};

typedef struct {
    const uint8_t *s;
    uint32_t n;
} text_t;

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_alpha(uint8_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static int is_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
static int is_alnum(uint8_t c) { return is_digit(c) || is_alpha(c); }
/* Word characters: letters, digits, underscore and any non-ASCII byte (letters mostly). */
static int is_word(uint8_t c) { return is_alnum(c) || c == '_' || c >= 0x80; }
static int at(text_t t, uint32_t i) { return i < t.n ? t.s[i] : -1; }
static int word_at(text_t t, uint32_t i) { return i < t.n && is_word(t.s[i]); }

static int is_local(uint8_t c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Each matcher returns the length of the finding starting at i, or 0. */

static uint32_t match_email(text_t t, uint32_t i) {
    uint32_t j = i;
    while (j < t.n && is_local(t.s[j])) {
        j++;
    }
    if (j == i || t.s[i] == '.' || at(t, j) != '@') {
        return 0;
    }
    j++;
    uint32_t labels = 0;
    uint32_t end = 0;
    uint32_t tld_start = 0;
    for (;;) {
        uint32_t start = j;
        while (j < t.n && (is_alnum(t.s[j]) || t.s[j] == '-')) {
            j++;
        }
        if (j == start || t.s[start] == '-' || t.s[j - 1] == '-') {
            break;
        }
        labels++;
        end = j;
        tld_start = start;
        if (at(t, j) == '.' && j + 1 < t.n && is_alnum(t.s[j + 1])) {
            j++;
            continue;
        }
        break;
    }
    if (labels < 2 || end - tld_start < 2 || word_at(t, end)) {
        return 0;
    }
    for (uint32_t k = tld_start; k < end; k++) {
        if (!is_alpha(t.s[k])) {
            return 0;
        }
    }
    return end - i;
}

static uint32_t number(text_t t, uint32_t i, uint32_t digits, uint32_t *value) {
    uint32_t v = 0;
    for (uint32_t k = 0; k < digits; k++) {
        if (!is_digit((uint8_t)at(t, i + k))) {
            return 0;
        }
        v = v * 10 + (t.s[i + k] - '0');
    }
    *value = v;
    return 1;
}

static uint32_t match_ssn(text_t t, uint32_t i) {
    uint32_t area, group, serial;
    if (!number(t, i, 3, &area) || at(t, i + 3) != '-' || !number(t, i + 4, 2, &group) ||
        at(t, i + 6) != '-' || !number(t, i + 7, 4, &serial) || word_at(t, i + 11)) {
        return 0;
    }
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) {
        return 0;
    }
    if (at(t, i + 11) == '-' && is_digit((uint8_t)at(t, i + 12))) {
        return 0;
    }
    return 11;
}

static int luhn(const uint8_t *digits, uint32_t n) {
    uint32_t sum = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t d = digits[n - 1 - k];
        if (k % 2 == 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static uint32_t match_card(text_t t, uint32_t i) {
    uint8_t digits[19];
    uint32_t n = 0;
    uint32_t j = i;
    uint32_t end = i;
    if (!is_digit((uint8_t)at(t, i))) {
        return 0;
    }
    while (j < t.n) {
        if (is_digit(t.s[j])) {
            if (n == 19) {
                return 0;
            }
            digits[n++] = (uint8_t)(t.s[j] - '0');
            end = ++j;
        } else if ((t.s[j] == ' ' || t.s[j] == '-') && is_digit((uint8_t)at(t, j + 1))) {
            j++;
        } else {
            break;
        }
    }
    if (n < 13 || word_at(t, end) || !luhn(digits, n)) {
        return 0;
    }
    return end - i;
}

static uint32_t match_ip(text_t t, uint32_t i) {
    uint32_t j = i;
    for (int part = 0; part < 4; part++) {
        uint32_t v = 0;
        uint32_t start = j;
        while (j < t.n && is_digit(t.s[j]) && j - start < 3) {
            v = v * 10 + (t.s[j++] - '0');
        }
        if (j == start || v > 255) {
            return 0;
        }
        if (part < 3) {
            if (at(t, j) != '.') {
                return 0;
            }
            j++;
        }
    }
    if (word_at(t, j) || (at(t, j) == '.' && is_digit((uint8_t)at(t, j + 1)))) {
        return 0;
    }
    return j - i;
}

static int is_phone_sep(int c) { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'; }

static uint32_t match_phone(text_t t, uint32_t i) {
    uint32_t j = i;
    int plus = at(t, j) == '+';
    j += (uint32_t)plus;
    uint32_t digits = 0;
    uint32_t groups = 0;
    uint32_t end = 0;
    while (j < t.n) {
        if (is_digit(t.s[j])) {
            if (j == i || !is_digit(t.s[j - 1])) {
                groups++;
            }
            digits++;
            end = ++j;
            continue;
        }
        uint32_t seps = 0;
        while (seps < 3 && is_phone_sep(at(t, j + seps))) {
            seps++;
        }
        if (seps == 0 || !is_digit((uint8_t)at(t, j + seps))) {
            break;
        }
        j += seps;
    }
    if (end == 0 || digits > 15 || groups > 5 || digits < (plus ? 8u : 10u) || word_at(t, end)) {
        return 0;
    }
    return end - i;
}

static uint32_t iban_mod97(const uint8_t *c, uint32_t n) {
    uint32_t r = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t ch = c[(k + 4) % n]; /* the first four characters move to the end */
        if (is_digit(ch)) {
            r = (r * 10 + (ch - '0')) % 97;
        } else {
            r = (r * 100 + (ch - 'A' + 10)) % 97;
        }
    }
    return r;
}

static uint32_t match_iban(text_t t, uint32_t i) {
    uint8_t chars[34];
    uint32_t ends[35]; /* ends[n] = text offset after the n-th character */
    uint32_t n = 0;
    uint32_t j = i;
    if (!is_upper((uint8_t)at(t, i)) || !is_upper((uint8_t)at(t, i + 1)) ||
        !is_digit((uint8_t)at(t, i + 2)) || !is_digit((uint8_t)at(t, i + 3))) {
        return 0;
    }
    while (j < t.n && n < 34) {
        uint8_t c = t.s[j];
        if (is_upper(c) || is_digit(c)) {
            chars[n++] = c;
            ends[n] = ++j;
        } else if (c == ' ' && n % 4 == 0 && j + 1 < t.n &&
                   (is_upper(t.s[j + 1]) || is_digit(t.s[j + 1]))) {
            j++;
        } else {
            break;
        }
    }
    /* The longest prefix that ends a word and carries a valid checksum. */
    for (uint32_t len = n; len >= 15; len--) {
        if (!word_at(t, ends[len]) && iban_mod97(chars, len) == 1) {
            return ends[len] - i;
        }
    }
    return 0;
}

typedef struct {
    enum kind kind;
    uint32_t start;
    uint32_t len;
} finding_t;

/* The finding starting at i, if any. */
static int find_at(text_t t, uint32_t i, finding_t *f) {
    if (i > 0 && is_word(t.s[i - 1])) {
        return 0;
    }
    uint8_t c = t.s[i];
    /* Numbers start at their first digit, never inside a run like "1.2.3.4.5". */
    int numeric = (is_digit(c) || c == '+' || c == '(') &&
                  !(i >= 2 && is_phone_sep(t.s[i - 1]) && is_digit(t.s[i - 2]));
    static const enum kind order[] = {EMAIL, IBAN, SSN, CARD, IP, PHONE};
    for (uint32_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (order[k] != EMAIL && order[k] != IBAN && !numeric) {
            continue;
        }
        uint32_t len = 0;
        switch (order[k]) {
        case EMAIL:
            len = match_email(t, i);
            break;
        case IBAN:
            len = match_iban(t, i);
            break;
        case SSN:
            len = match_ssn(t, i);
            break;
        case CARD:
            len = match_card(t, i);
            break;
        case IP:
            len = match_ip(t, i);
            break;
        default:
            len = match_phone(t, i);
        }
        if (len > 0) {
            f->kind = order[k];
            f->start = i;
            f->len = len;
            return 1;
        }
    }
    return 0;
}

/* Append `t` with every finding masked. Text inside a word cannot start a finding, so each
 * word is copied in one piece. */
static void redact_into(text_t t, abi_buf *out) {
    uint32_t i = 0;
    while (i < t.n) {
        finding_t f;
        if (find_at(t, i, &f)) {
            abi_buf_puts(out, MASKS[f.kind]);
            i += f.len;
            continue;
        }
        uint32_t j = i + 1;
        while (j < t.n && is_word(t.s[j]) && is_word(t.s[j - 1])) {
            j++;
        }
        abi_buf_put(out, t.s + i, j - i);
        i = j;
    }
}

ABI_HANDLER(redact) {
    abi_buf out = abi_buf_new(input.len + 16);
    redact_into((text_t){input.ptr, input.len}, &out);
    return abi_buf_ok(&out);
}

/* Write `value` compactly with every string value redacted (keys are kept). */
static void redact_value(abi_bytes value, abi_buf *out) {
    uint32_t pos = 0;
    abi_bytes key;
    abi_bytes item;
    int first = 1;
    switch (value.ptr[0]) {
    case '{':
        abi_buf_putc(out, '{');
        while (abi_json_member(value, &pos, &key, &item)) {
            if (!first) {
                abi_buf_putc(out, ',');
            }
            first = 0;
            abi_buf_put(out, key.ptr, key.len);
            abi_buf_putc(out, ':');
            redact_value(item, out);
        }
        abi_buf_putc(out, '}');
        break;
    case '[':
        abi_buf_putc(out, '[');
        while (abi_json_next(value, &pos, &item)) {
            if (!first) {
                abi_buf_putc(out, ',');
            }
            first = 0;
            redact_value(item, out);
        }
        abi_buf_putc(out, ']');
        break;
    case '"': {
        abi_buf text = abi_buf_new(value.len);
        abi_json_string(value, &text);
        abi_buf masked = abi_buf_new(text.len + 16);
        redact_into((text_t){text.data, text.len}, &masked);
        abi_buf_put_json_str(out, masked.data, masked.len);
        break;
    }
    default:
        abi_buf_put(out, value.ptr, value.len);
    }
}

ABI_HANDLER(redact_json) {
    if (!abi_json_valid(input)) {
        return abi_err("redact_json needs one valid JSON document");
    }
    uint32_t pos = 0;
    abi_bytes doc;
    abi_json_value(input, &pos, &doc);
    abi_buf out = abi_buf_new(input.len + 16);
    redact_value(doc, &out);
    return abi_buf_ok(&out);
}

ABI_HANDLER(scan) {
    text_t t = {input.ptr, input.len};
    uint32_t counts[KINDS] = {0};
    abi_buf list = abi_buf_new(256);
    uint32_t i = 0;
    uint32_t chars = 0; /* code points before byte i */
    while (i < t.n) {
        finding_t f;
        if (!find_at(t, i, &f)) {
            chars += (t.s[i++] & 0xc0) != 0x80;
            continue;
        }
        abi_buf_puts(&list, counts[0] + counts[1] + counts[2] + counts[3] + counts[4] +
                                        counts[5] ==
                                    0
                                ? "{\"type\":\""
                                : ",{\"type\":\"");
        counts[f.kind]++;
        abi_buf_puts(&list, NAMES[f.kind]);
        abi_buf_puts(&list, "\",\"text\":");
        abi_buf_put_json_str(&list, t.s + f.start, f.len);
        abi_buf_puts(&list, ",\"start\":");
        abi_buf_put_i64(&list, chars);
        chars += f.len; /* findings are ASCII: one code point per byte */
        abi_buf_puts(&list, ",\"end\":");
        abi_buf_put_i64(&list, chars);
        abi_buf_putc(&list, '}');
        i += f.len;
    }
    abi_buf out = abi_buf_new(list.len + 128);
    abi_buf_puts(&out, "{\"counts\":{");
    int first = 1;
    for (int k = 0; k < KINDS; k++) {
        if (counts[k] == 0) {
            continue;
        }
        abi_buf_puts(&out, first ? "\"" : ",\"");
        first = 0;
        abi_buf_puts(&out, NAMES[k]);
        abi_buf_puts(&out, "\":");
        abi_buf_put_i64(&out, counts[k]);
    }
    abi_buf_puts(&out, "},\"findings\":[");
    abi_buf_put(&out, list.data, list.len);
    abi_buf_puts(&out, "]}");
    return abi_buf_ok(&out);
}
