/*
 * notes: a small note keeper on the kv capability. Input is one command per line:
 *
 *   add TEXT        store a note of up to 4096 bytes (#tags in it work with `list #tag`)
 *   list [#tag]     list notes, oldest first, optionally only those with the tag
 *   find WORDS      notes containing WORDS (ASCII letters compared case-insensitively)
 *   delete ID       remove a note
 *   clear           remove every note (examples start with it: kv state persists)
 *   count           how many notes there are
 *
 * Each command's response is streamed to the caller as soon as it is ready (stream), every
 * change is logged (log), and the output is the whole transcript.
 */
#include "abi.h"

#define MAX_NOTES 900
#define MAX_NOTE_BYTES 4096

static const char KEY_NEXT[] = "next";
static const char KEY_IDS[] = "ids";

typedef struct {
    int64_t ids[MAX_NOTES];
    uint32_t count;
    int64_t next;
} index_t;

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; }

static abi_bytes trim(abi_bytes b) {
    while (b.len > 0 && is_space(b.ptr[0])) {
        b.ptr++;
        b.len--;
    }
    while (b.len > 0 && is_space(b.ptr[b.len - 1])) {
        b.len--;
    }
    return b;
}

/* Parse a decimal id; -1 when `b` is not one. */
static int64_t parse_id(abi_bytes b) {
    int64_t v = 0;
    if (b.len == 0 || b.len > 12) {
        return -1;
    }
    for (uint32_t i = 0; i < b.len; i++) {
        if (b.ptr[i] < '0' || b.ptr[i] > '9') {
            return -1;
        }
        v = v * 10 + (b.ptr[i] - '0');
    }
    return v;
}

static abi_bytes note_key(int64_t id) {
    abi_buf k = abi_buf_new(24);
    abi_buf_puts(&k, "note:");
    abi_buf_put_i64(&k, id);
    return abi_buf_bytes(&k);
}

/* Load the index from kv; 0 on a kv failure other than "not found". */
static int load_index(index_t *ix) {
    abi_bytes v;
    ix->count = 0;
    ix->next = 1;
    int st = abi_kv_get(abi_str(KEY_NEXT), &v);
    if (st == ABI_OK) {
        ix->next = parse_id(v);
    } else if (st != ABI_NOT_FOUND) {
        return 0;
    }
    st = abi_kv_get(abi_str(KEY_IDS), &v);
    if (st == ABI_NOT_FOUND) {
        return 1;
    }
    if (st != ABI_OK) {
        return 0;
    }
    uint32_t start = 0;
    for (uint32_t i = 0; i <= v.len; i++) {
        if (i == v.len || v.ptr[i] == ' ') {
            abi_bytes part = {v.ptr + start, i - start};
            int64_t id = parse_id(part);
            if (id > 0 && ix->count < MAX_NOTES) {
                ix->ids[ix->count++] = id;
            }
            start = i + 1;
        }
    }
    return 1;
}

static int save_index(const index_t *ix) {
    abi_buf ids = abi_buf_new(8 * ix->count + 8);
    for (uint32_t i = 0; i < ix->count; i++) {
        if (i > 0) {
            abi_buf_putc(&ids, ' ');
        }
        abi_buf_put_i64(&ids, ix->ids[i]);
    }
    abi_buf next = abi_buf_new(24);
    abi_buf_put_i64(&next, ix->next);
    return abi_kv_set(abi_str(KEY_IDS), abi_buf_bytes(&ids)) == ABI_OK &&
           abi_kv_set(abi_str(KEY_NEXT), abi_buf_bytes(&next)) == ABI_OK;
}

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* 1 when `needle` occurs in `hay`, ASCII letters compared case-insensitively. */
static int contains_ci(abi_bytes hay, abi_bytes needle) {
    if (needle.len == 0) {
        return 1;
    }
    for (uint32_t i = 0; i + needle.len <= hay.len; i++) {
        uint32_t j = 0;
        while (j < needle.len && lower(hay.ptr[i + j]) == lower(needle.ptr[j])) {
            j++;
        }
        if (j == needle.len) {
            return 1;
        }
    }
    return 0;
}

/* 1 when `text` carries the whole tag `tag` (e.g. "#work", not "#workshop"). */
static int has_tag(abi_bytes text, abi_bytes tag) {
    for (uint32_t i = 0; i + tag.len <= text.len; i++) {
        int starts = i == 0 || is_space(text.ptr[i - 1]);
        int ends = i + tag.len == text.len || is_space(text.ptr[i + tag.len]);
        if (starts && ends && contains_ci((abi_bytes){text.ptr + i, tag.len}, tag)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    abi_buf transcript;
    abi_buf line;
} session_t;

static void say(session_t *s, const char *text) { abi_buf_puts(&s->line, text); }

/* Finish the current response: stream it and append it to the transcript. */
static void flush(session_t *s) {
    abi_buf_putc(&s->line, '\n');
    abi_stream_emit(s->line.data, s->line.len);
    abi_buf_put(&s->transcript, s->line.data, s->line.len);
    s->line.len = 0;
}

static void log_change(const char *what, int64_t id) {
    abi_buf msg = abi_buf_new(48);
    abi_buf_puts(&msg, "notes: ");
    abi_buf_puts(&msg, what);
    abi_buf_puts(&msg, " #");
    abi_buf_put_i64(&msg, id);
    abi_log(ABI_LOG_INFO, msg.data, msg.len);
}

static void put_note(session_t *s, int64_t id, abi_bytes text) {
    abi_buf_putc(&s->line, '#');
    abi_buf_put_i64(&s->line, id);
    abi_buf_putc(&s->line, ' ');
    abi_buf_put(&s->line, text.ptr, text.len);
}

static int cmd_add(session_t *s, index_t *ix, abi_bytes text) {
    if (text.len == 0) {
        say(s, "error: add needs the note's text");
        return 1;
    }
    if (text.len > MAX_NOTE_BYTES) {
        say(s, "error: a note is at most 4096 bytes");
        return 1;
    }
    if (ix->count >= MAX_NOTES) {
        say(s, "error: the notebook is full (900 notes); delete some first");
        return 1;
    }
    int64_t id = ix->next;
    if (abi_kv_set(note_key(id), text) != ABI_OK) {
        return 0;
    }
    ix->ids[ix->count++] = id;
    ix->next = id + 1;
    if (!save_index(ix)) {
        return 0;
    }
    say(s, "added ");
    put_note(s, id, text);
    log_change("added", id);
    return 1;
}

/* List notes matching `filter` (kind 'l' = tag or all, 'f' = substring). */
static int cmd_list(session_t *s, const index_t *ix, abi_bytes filter, char kind) {
    uint32_t shown = 0;
    for (uint32_t i = 0; i < ix->count; i++) {
        abi_bytes text;
        int st = abi_kv_get(note_key(ix->ids[i]), &text);
        if (st == ABI_NOT_FOUND) {
            continue;
        }
        if (st != ABI_OK) {
            return 0;
        }
        int match = kind == 'f' ? contains_ci(text, filter)
                                : (filter.len == 0 || has_tag(text, filter));
        if (!match) {
            continue;
        }
        if (shown++ > 0) {
            abi_buf_putc(&s->line, '\n');
        }
        put_note(s, ix->ids[i], text);
    }
    if (shown == 0) {
        say(s, kind == 'f' ? "(no match)" : "(no notes)");
    }
    return 1;
}

static int cmd_delete(session_t *s, index_t *ix, abi_bytes arg) {
    int64_t id = parse_id(arg);
    uint32_t at = 0;
    while (at < ix->count && ix->ids[at] != id) {
        at++;
    }
    if (id < 0 || at == ix->count) {
        say(s, "error: no note #");
        abi_buf_put(&s->line, arg.ptr, arg.len);
        return 1;
    }
    abi_kv_delete(note_key(id));
    for (uint32_t i = at; i + 1 < ix->count; i++) {
        ix->ids[i] = ix->ids[i + 1];
    }
    ix->count--;
    if (!save_index(ix)) {
        return 0;
    }
    say(s, "deleted #");
    abi_buf_put_i64(&s->line, id);
    log_change("deleted", id);
    return 1;
}

static int cmd_clear(session_t *s, index_t *ix) {
    uint32_t n = ix->count;
    for (uint32_t i = 0; i < n; i++) {
        abi_kv_delete(note_key(ix->ids[i]));
    }
    ix->count = 0;
    ix->next = 1;
    abi_kv_delete(abi_str(KEY_IDS));
    abi_kv_delete(abi_str(KEY_NEXT));
    say(s, "notebook cleared");
    abi_log_str(ABI_LOG_INFO, "notes: cleared");
    return 1;
}

/* Run one command line; 0 when the kv store failed (the call then fails). */
static int run(session_t *s, index_t *ix, abi_bytes line) {
    uint32_t cut = 0;
    while (cut < line.len && !is_space(line.ptr[cut])) {
        cut++;
    }
    abi_bytes cmd = {line.ptr, cut};
    abi_bytes arg = trim((abi_bytes){line.ptr + cut, line.len - cut});
    if (abi_bytes_eq(cmd, "add")) {
        return cmd_add(s, ix, arg);
    }
    if (abi_bytes_eq(cmd, "list")) {
        return cmd_list(s, ix, arg, 'l');
    }
    if (abi_bytes_eq(cmd, "find")) {
        return cmd_list(s, ix, arg, 'f');
    }
    if (abi_bytes_eq(cmd, "delete")) {
        return cmd_delete(s, ix, arg);
    }
    if (abi_bytes_eq(cmd, "clear")) {
        return cmd_clear(s, ix);
    }
    if (abi_bytes_eq(cmd, "count")) {
        abi_buf_put_i64(&s->line, ix->count);
        say(s, ix->count == 1 ? " note" : " notes");
        return 1;
    }
    say(s, "error: unknown command '");
    abi_buf_put(&s->line, cmd.ptr, cmd.len);
    say(s, "' (use add, list, find, delete, clear, count)");
    return 1;
}

ABI_HANDLER(handle) {
    static index_t ix;
    if (!load_index(&ix)) {
        return abi_err("notes needs the kv capability (the key-value store refused the call)");
    }
    session_t s = {abi_buf_new(input.len + 64), abi_buf_new(256)};
    uint32_t start = 0;
    for (uint32_t i = 0; i <= input.len; i++) {
        if (i < input.len && input.ptr[i] != '\n') {
            continue;
        }
        abi_bytes line = trim((abi_bytes){input.ptr + start, i - start});
        start = i + 1;
        if (line.len == 0) {
            continue;
        }
        if (!run(&s, &ix, line)) {
            return abi_err("notes: the kv store refused a write (limit reached or denied)");
        }
        flush(&s);
    }
    return abi_buf_ok(&s.transcript);
}
