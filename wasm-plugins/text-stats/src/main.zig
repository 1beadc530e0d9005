//! text-stats: a UTF-8 aware tokenizer and text statistics.
//!
//! Entry points:
//!   stats   text -> JSON {"bytes","chars","words","unique_words","sentences","lines",
//!           "paragraphs","avg_word_length","longest_word","reading_seconds","top_words"}
//!   tokens  text -> JSON {"tokens":[...]} (lowercased words in order)
//!
//! A word is a run of letters and digits in any script; an apostrophe (' or U+2019) or a
//! hyphen between two word characters joins them ("don't", "well-known"), and so does a '.'
//! or ',' between two digits ("3.50", "1,000"). Each CJK
//! ideograph or kana is a word of its own. Lowercasing covers ASCII, Latin-1, Latin
//! Extended-A, Greek and Cyrillic. Sentences end at . ! ? U+2026 and their CJK/full-width
//! forms (a run counts once; a '.' directly followed by a word character, as in 3.14, does
//! not end one). Invalid UTF-8 is refused with the byte offset of the first bad sequence.

const std = @import("std");
const abi = @import("abi");

const Decoded = struct { cp: u21, len: u3 };

/// Decode the code point at `s[i..]`, or null for an invalid sequence.
fn decode(s: []const u8, i: usize) ?Decoded {
    const b0 = s[i];
    if (b0 < 0x80) return .{ .cp = b0, .len = 1 };
    const n: u3 = if (b0 & 0xe0 == 0xc0) 2 else if (b0 & 0xf0 == 0xe0) 3 else if (b0 & 0xf8 == 0xf0) 4 else return null;
    if (i + n > s.len) return null;
    var cp: u32 = b0 & (@as(u8, 0x7f) >> n);
    var k: usize = 1;
    while (k < n) : (k += 1) {
        const b = s[i + k];
        if (b & 0xc0 != 0x80) return null;
        cp = (cp << 6) | (b & 0x3f);
    }
    const min: u32 = switch (n) {
        2 => 0x80,
        3 => 0x800,
        else => 0x10000,
    };
    if (cp < min or cp > 0x10ffff or (cp >= 0xd800 and cp < 0xe000)) return null;
    return .{ .cp = @intCast(cp), .len = n };
}

fn isCjk(cp: u21) bool {
    return (cp >= 0x3040 and cp <= 0x30ff) or (cp >= 0x3400 and cp <= 0x4dbf) or
        (cp >= 0x4e00 and cp <= 0x9fff) or (cp >= 0xf900 and cp <= 0xfaff);
}

/// Code point ranges above U+00FF that are punctuation, symbols or spaces, not letters.
const non_word = [_][2]u21{
    .{ 0x2000, 0x206f }, .{ 0x20a0, 0x20cf }, .{ 0x2100, 0x214f }, .{ 0x2190, 0x2bff },
    .{ 0x2e00, 0x2e7f }, .{ 0x3000, 0x303f }, .{ 0xfe30, 0xfe4f }, .{ 0xff00, 0xff0f },
    .{ 0xff1a, 0xff20 }, .{ 0xff3b, 0xff40 }, .{ 0xff5b, 0xff65 }, .{ 0xfff0, 0xffff },
    .{ 0x1f000, 0x1faff },
};

/// Letters and digits of any script (non-ASCII counts as a letter outside the
/// punctuation, symbol and space blocks).
fn isWordChar(cp: u21) bool {
    if (cp < 0x80) return (cp | 0x20) -% 'a' < 26 or cp -% '0' < 10;
    if (cp <= 0xbf) return cp == 0xaa or cp == 0xb5 or cp == 0xba;
    if (cp == 0xd7 or cp == 0xf7) return false;
    if (cp < 0x2000) return true;
    for (non_word) |r| {
        if (cp >= r[0] and cp <= r[1]) return false;
    }
    return true;
}

const Class = enum { word, cjk, other };

fn classify(cp: u21) Class {
    if (cp >= 0x3040 and isCjk(cp)) return .cjk;
    return if (isWordChar(cp)) .word else .other;
}

fn isJoiner(cp: u21) bool {
    return cp == '\'' or cp == 0x2019 or cp == '-';
}

fn isTerminator(cp: u21) bool {
    return switch (cp) {
        '.', '!', '?', 0x2026, 0x3002, 0xff01, 0xff0e, 0xff1f => true,
        else => false,
    };
}

fn lower(cp: u21) u21 {
    return switch (cp) {
        'A'...'Z', 0xc0...0xd6, 0xd8...0xde, 0x391...0x3a1, 0x3a3...0x3ab, 0x410...0x42f => cp + 0x20,
        0x400...0x40f => cp + 0x50,
        0x178 => 0xff,
        0x100...0x12f, 0x132...0x137, 0x14a...0x177 => cp | 1,
        0x139...0x148, 0x179...0x17e => if (cp & 1 == 1) cp + 1 else cp,
        else => cp,
    };
}

fn putUtf8(buf: *abi.Buf, cp: u21) !void {
    var tmp: [4]u8 = undefined;
    const n = std.unicode.utf8Encode(cp, &tmp) catch return error.BadCodePoint;
    try buf.put(tmp[0..n]);
}

const Token = struct { text: []const u8, chars: u32 };

const Scan = struct {
    tokens: std.ArrayList(Token) = .empty,
    chars: u64 = 0,
    sentences: u64 = 0,
    lines: u64 = 0,
    paragraphs: u64 = 0,
};

/// The normalized form of a word: lowercased, U+2019 as '. ASCII words already in lower
/// case are returned as they are (a slice of the input).
fn normalize(word: []const u8) ![]const u8 {
    const plain = for (word) |c| {
        if (c >= 0x80 or (c >= 'A' and c <= 'Z')) break false;
    } else true;
    if (plain) return word;
    var out: abi.Buf = .init();
    var i: usize = 0;
    while (i < word.len) {
        const d = decode(word, i).?; // the caller validated the input
        try putUtf8(&out, if (d.cp == 0x2019) '\'' else lower(d.cp));
        i += d.len;
    }
    return out.items();
}

fn invalidUtf8(offset: usize) error{GuestError} {
    var msg: abi.Buf = .init();
    msg.put("input is not valid UTF-8 (byte offset ") catch {};
    msg.int(@intCast(offset)) catch {};
    msg.put(")") catch {};
    return abi.fail(msg.items());
}

/// Tokenize `s` (normalized tokens) and count characters, sentences, lines and paragraphs.
fn scan(s: []const u8) !Scan {
    var r: Scan = .{};
    var word_start: usize = 0;
    var word_chars: u32 = 0; // code points in the current word (0: no word open)
    var words_since_end = false; // a word appeared since the last sentence end
    var prev_digit = false; // the previous code point was an ASCII digit
    var line_has_text = false;
    var in_paragraph = false;
    var i: usize = 0;
    var d: Decoded = if (s.len > 0) decode(s, 0) orelse return invalidUtf8(0) else undefined;
    var class: Class = if (s.len > 0) classify(d.cp) else .other;
    while (i < s.len) {
        const next = i + d.len;
        var next_d: ?Decoded = null;
        if (next < s.len) next_d = decode(s, next) orelse return invalidUtf8(next);
        const next_cp: ?u21 = if (next_d) |n| n.cp else null;
        const next_class: Class = if (next_cp) |c| classify(c) else .other;
        const next_word = next_class == .word;
        r.chars += 1;
        if (class == .cjk) {
            try flushWord(&r, s, word_start, i, &word_chars);
            try r.tokens.append(abi.allocator, .{ .text = s[i..next], .chars = 1 });
            words_since_end = true;
        } else if (class == .word) {
            if (word_chars == 0) word_start = i;
            word_chars += 1;
            words_since_end = true;
        } else if (word_chars > 0 and next_word and (isJoiner(d.cp) or
            ((d.cp == '.' or d.cp == ',') and prev_digit and next_cp.? < 0x80 and std.ascii.isDigit(@intCast(next_cp.?)))))
        {
            word_chars += 1; // don't, well-known, 3.50, 1,000
        } else {
            try flushWord(&r, s, word_start, i, &word_chars);
            const glued = d.cp == '.' and next_class != .other;
            const run_continues = next_cp != null and isTerminator(next_cp.?);
            if (isTerminator(d.cp) and !glued and !run_continues and words_since_end) {
                r.sentences += 1;
                words_since_end = false;
            }
        }
        if (d.cp == '\n') {
            r.lines += 1;
            if (!line_has_text) in_paragraph = false;
            line_has_text = false;
        } else if (d.cp != ' ' and d.cp != '\t' and d.cp != '\r') {
            if (!line_has_text and !in_paragraph) r.paragraphs += 1;
            line_has_text = true;
            in_paragraph = true;
        }
        prev_digit = d.cp < 0x80 and std.ascii.isDigit(@intCast(d.cp));
        i = next;
        if (next_d) |n| d = n;
        class = next_class;
    }
    try flushWord(&r, s, word_start, s.len, &word_chars);
    if (words_since_end) r.sentences += 1;
    if (s.len > 0 and s[s.len - 1] != '\n') r.lines += 1;
    return r;
}

fn flushWord(r: *Scan, s: []const u8, start: usize, end: usize, chars: *u32) !void {
    if (chars.* == 0) return;
    try r.tokens.append(abi.allocator, .{ .text = try normalize(s[start..end]), .chars = chars.* });
    chars.* = 0;
}

const Count = struct { word: []const u8, n: u32 };

fn byCountThenWord(_: void, a: Count, b: Count) bool {
    if (a.n != b.n) return a.n > b.n;
    return std.mem.lessThan(u8, a.word, b.word);
}

fn stats(input: []const u8) ![]const u8 {
    const r = try scan(input);
    var counts: std.StringHashMapUnmanaged(u32) = .empty;
    var total_chars: u64 = 0;
    var longest: Token = .{ .text = "", .chars = 0 };
    for (r.tokens.items) |t| {
        const slot = try counts.getOrPut(abi.allocator, t.text);
        slot.value_ptr.* = if (slot.found_existing) slot.value_ptr.* + 1 else 1;
        total_chars += t.chars;
        if (t.chars > longest.chars) longest = t;
    }
    var ranked: std.ArrayList(Count) = .empty;
    var it = counts.iterator();
    while (it.next()) |e| try ranked.append(abi.allocator, .{ .word = e.key_ptr.*, .n = e.value_ptr.* });
    std.mem.sort(Count, ranked.items, {}, byCountThenWord);

    const words = r.tokens.items.len;
    var out: abi.Buf = .init();
    try out.put("{\"bytes\":");
    try out.int(@intCast(input.len));
    try out.put(",\"chars\":");
    try out.int(@intCast(r.chars));
    try out.put(",\"words\":");
    try out.int(@intCast(words));
    try out.put(",\"unique_words\":");
    try out.int(@intCast(ranked.items.len));
    try out.put(",\"sentences\":");
    try out.int(@intCast(r.sentences));
    try out.put(",\"lines\":");
    try out.int(@intCast(r.lines));
    try out.put(",\"paragraphs\":");
    try out.int(@intCast(r.paragraphs));
    try out.put(",\"avg_word_length\":");
    const avg = if (words == 0) 0.0 else @as(f64, @floatFromInt(total_chars)) / @as(f64, @floatFromInt(words));
    try out.fixed(avg, 2);
    try out.put(",\"longest_word\":");
    try out.jsonString(longest.text);
    try out.put(",\"reading_seconds\":");
    // 238 words per minute: the average silent reading speed of adults.
    try out.int(@intCast((words * 60 + 119) / 238));
    try out.put(",\"top_words\":[");
    for (ranked.items[0..@min(10, ranked.items.len)], 0..) |c, k| {
        if (k > 0) try out.byte(',');
        try out.put("{\"word\":");
        try out.jsonString(c.word);
        try out.put(",\"count\":");
        try out.int(c.n);
        try out.byte('}');
    }
    try out.put("]}");
    return out.items();
}

fn tokens(input: []const u8) ![]const u8 {
    const r = try scan(input);
    var out: abi.Buf = .init();
    try out.put("{\"tokens\":[");
    for (r.tokens.items, 0..) |t, k| {
        if (k > 0) try out.byte(',');
        try out.jsonString(t.text);
    }
    try out.put("]}");
    return out.items();
}

comptime {
    abi.handler("stats", stats);
    abi.handler("tokens", tokens);
}
