//! Abi guest SDK for Zig (guest ABI v1, see ../ABI.md). Tested with Zig 0.17 (the `ziglang`
//! PyPI package). Build a plugin with the SDK as module `abi`:
//!
//!   python -m ziglang build-exe -target wasm32-freestanding -O ReleaseSmall -fno-entry \
//!       -rdynamic -femit-bin=plugin.wasm --dep abi -Mroot=src/main.zig -Mabi=plugin-sdk/zig/abi.zig
//!
//! An author writes handlers `[]const u8 -> ![]const u8` and exports them:
//!
//!   const abi = @import("abi");
//!   fn handle(input: []const u8) ![]const u8 {
//!       var out = abi.Buf.init();
//!       try out.put("Hello, ");
//!       try out.put(input);
//!       return out.items();
//!   }
//!   comptime { abi.handler("handle", handle); }
//!
//! Memory comes from a bump arena that the host resets after every call (`abi_reset`);
//! `abi.allocator` is a std.mem.Allocator over it. Call `abi.keep()` to make everything
//! allocated so far survive resets (state built in `abi_init`, for instance).
//! A host function you never call is not imported.

const std = @import("std");

pub const version: i32 = 1;

// ------------------------------------------------------------------ arena

const page_size = 65536;
const max_address: usize = 0x7fff_ffff;

var arena_floor: usize = 0;
var arena_top: usize = 0;
var last_block: usize = 0;

/// The arena starts above the module's initial memory (data, stack and statics live below).
fn arenaStart() void {
    if (arena_top == 0) {
        arena_floor = @wasmMemorySize(0) * page_size;
        arena_top = arena_floor;
    }
}

fn ensure(end: usize) bool {
    const have = @wasmMemorySize(0) * page_size;
    if (end <= have) return true;
    const pages = (end - have + page_size - 1) / page_size;
    return @wasmMemoryGrow(0, pages) >= 0;
}

/// `len` bytes from the call arena aligned to `alignment`, or null when memory ran out.
pub fn rawAlloc(len: usize, alignment: usize) ?[*]u8 {
    arenaStart();
    const start = std.mem.alignForward(usize, arena_top, alignment);
    const end = start +% len;
    if (end < start or end > max_address or !ensure(end)) return null;
    arena_top = end;
    last_block = start;
    return @ptrFromInt(start);
}

/// Make everything allocated so far survive `abi_reset`.
pub fn keep() void {
    arenaStart();
    arena_floor = arena_top;
}

fn vtAlloc(_: *anyopaque, len: usize, alignment: std.mem.Alignment, _: usize) ?[*]u8 {
    return rawAlloc(len, alignment.toByteUnits());
}

fn vtResize(_: *anyopaque, memory: []u8, _: std.mem.Alignment, new_len: usize, _: usize) bool {
    const start = @intFromPtr(memory.ptr);
    if (start == last_block and start + memory.len == arena_top) {
        const end = start + new_len;
        if (end > max_address or !ensure(end)) return false;
        arena_top = end;
        return true;
    }
    return new_len <= memory.len;
}

fn vtRemap(ctx: *anyopaque, memory: []u8, a: std.mem.Alignment, new_len: usize, ra: usize) ?[*]u8 {
    return if (vtResize(ctx, memory, a, new_len, ra)) memory.ptr else null;
}

fn vtFree(_: *anyopaque, memory: []u8, _: std.mem.Alignment, _: usize) void {
    const start = @intFromPtr(memory.ptr);
    if (start == last_block and start + memory.len == arena_top) arena_top = start;
}

/// A std.mem.Allocator over the call arena (freeing is a no-op except for the newest block).
pub const allocator = std.mem.Allocator{
    .ptr = undefined,
    .vtable = &.{ .alloc = vtAlloc, .resize = vtResize, .remap = vtRemap, .free = vtFree },
};

export fn abi_version() i32 {
    return version;
}

export fn abi_alloc(size: i32) i32 {
    if (size < 0) return 0;
    const p = rawAlloc(@intCast(size), 8) orelse return 0;
    return @intCast(@intFromPtr(p));
}

export fn abi_reset() void {
    arenaStart();
    arena_top = arena_floor;
    last_block = 0;
}

// ------------------------------------------------------------------ results

const error_flag: u64 = 1 << 63;

/// Pack a success result pointing at `bytes` (ABI.md section 2).
pub fn ok(bytes: []const u8) i64 {
    return @bitCast((@as(u64, @intFromPtr(bytes.ptr)) << 32) | bytes.len);
}

/// Pack an error result whose message is `message`.
pub fn err(message: []const u8) i64 {
    return @bitCast(@as(u64, @bitCast(ok(message))) | error_flag);
}

/// An unpacked i64 result: the bytes it points at and whether it is an error.
pub const Unpacked = struct { bytes: []const u8, is_error: bool };

pub fn unpack(result: i64) Unpacked {
    const u: u64 = @bitCast(result);
    const ptr: usize = @intCast((u & ~error_flag) >> 32);
    const len: usize = @intCast(u & 0xffff_ffff);
    const base: [*]const u8 = if (ptr == 0) @ptrFromInt(8) else @ptrFromInt(ptr);
    return .{ .bytes = if (len == 0) &.{} else base[0..len], .is_error = u & error_flag != 0 };
}

var failure_message: []const u8 = "";

/// Fail the call with `message` (copied): `return abi.fail("bad input");`.
pub fn fail(message: []const u8) error{GuestError} {
    failure_message = allocator.dupe(u8, message) catch "out of memory";
    return error.GuestError;
}

fn toResult(r: anyerror![]const u8) i64 {
    const bytes = r catch |e| {
        if (e == error.GuestError) return err(failure_message);
        return err(@errorName(e));
    };
    return ok(bytes);
}

/// Export `func` as the handler `name`: `comptime { abi.handler("handle", handle); }`.
/// `func` takes the input bytes and returns the output bytes or an error; `abi.fail(msg)`
/// sets the message the caller sees, other errors report their name.
pub fn handler(comptime name: []const u8, comptime func: fn ([]const u8) anyerror![]const u8) void {
    const S = struct {
        fn call(ptr: [*]const u8, len: usize) callconv(.c) i64 {
            const input: []const u8 = if (len == 0) &.{} else ptr[0..len];
            return toResult(func(input));
        }
    };
    @export(&S.call, .{ .name = name });
}

/// Export abi_init: `func` gets the tenant's config (a JSON object).
pub fn init(comptime func: fn ([]const u8) anyerror![]const u8) void {
    handler("abi_init", func);
}

/// Export a no-argument lifecycle function (`abi_health` or `abi_metrics`) returning JSON.
pub fn lifecycle(comptime name: []const u8, comptime func: fn () anyerror![]const u8) void {
    const S = struct {
        fn call() callconv(.c) i64 {
            return toResult(func());
        }
    };
    @export(&S.call, .{ .name = name });
}

// ------------------------------------------------------------------ output buffer

/// A growable byte buffer in the call arena.
pub const Buf = struct {
    list: std.ArrayList(u8) = .empty,

    pub fn init() Buf {
        return .{};
    }

    pub fn items(self: *const Buf) []const u8 {
        return self.list.items;
    }

    pub fn put(self: *Buf, bytes: []const u8) !void {
        try self.list.appendSlice(allocator, bytes);
    }

    pub fn byte(self: *Buf, b: u8) !void {
        try self.list.append(allocator, b);
    }

    pub fn int(self: *Buf, value: i64) !void {
        var digits: [24]u8 = undefined;
        var n: usize = 0;
        var u: u64 = @abs(value);
        while (true) {
            digits[n] = @intCast('0' + u % 10);
            n += 1;
            u /= 10;
            if (u == 0) break;
        }
        if (value < 0) try self.byte('-');
        while (n > 0) {
            n -= 1;
            try self.byte(digits[n]);
        }
    }

    /// `value` with `decimals` digits after the point, rounded half away from zero.
    pub fn fixed(self: *Buf, value: f64, comptime decimals: u32) !void {
        const scale = comptime std.math.pow(i64, 10, decimals);
        const magnitude = @abs(value);
        const scaled: i64 = @intFromFloat(@floor(magnitude * @as(f64, @floatFromInt(scale)) + 0.5));
        if (value < 0 and scaled != 0) try self.byte('-');
        try self.int(@divTrunc(scaled, scale));
        if (decimals > 0) {
            try self.byte('.');
            var div: i64 = @divTrunc(scale, 10);
            const frac = @mod(scaled, scale);
            while (div > 0) : (div = @divTrunc(div, 10)) {
                try self.byte(@intCast('0' + @mod(@divTrunc(frac, div), 10)));
            }
        }
    }

    /// `s` as a JSON string literal, quotes included (UTF-8 passes through).
    pub fn jsonString(self: *Buf, s: []const u8) !void {
        const hex = "0123456789abcdef";
        try self.byte('"');
        for (s) |c| {
            switch (c) {
                '"' => try self.put("\\\""),
                '\\' => try self.put("\\\\"),
                '\n' => try self.put("\\n"),
                '\r' => try self.put("\\r"),
                '\t' => try self.put("\\t"),
                0...8, 11, 12, 14...31 => try self.put(&.{ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] }),
                else => try self.byte(c),
            }
        }
        try self.byte('"');
    }
};

// ------------------------------------------------------------------ host functions

/// What a failed host call reports (ABI.md section 3).
pub const HostError = error{ CapabilityDenied, BadArgument, LimitReached, NotFound, HostFailure };

fn statusError(status: i32) HostError!void {
    return switch (status) {
        0 => {},
        -1 => error.CapabilityDenied,
        -2 => error.BadArgument,
        -3 => error.LimitReached,
        -4 => error.NotFound,
        else => error.HostFailure,
    };
}

/// The last host error payload (JSON `{"code","message"}`), for diagnostics.
pub var last_host_error: []const u8 = "";

fn resultBytes(result: i64) HostError![]const u8 {
    const r = unpack(result);
    if (!r.is_error) return r.bytes;
    last_host_error = r.bytes;
    const codes = [_]struct { []const u8, HostError }{
        .{ "\"not_found\"", error.NotFound },
        .{ "\"capability_denied\"", error.CapabilityDenied },
        .{ "\"limit_reached\"", error.LimitReached },
        .{ "\"bad_argument\"", error.BadArgument },
    };
    for (codes) |entry| {
        if (std.mem.indexOf(u8, r.bytes, entry[0]) != null) return entry[1];
    }
    return error.HostFailure;
}

const imports = struct {
    const log = struct {
        extern "abi_log" fn write(level: i32, ptr: [*]const u8, len: usize) void;
    };
    const config = struct {
        extern "abi_config" fn get(ptr: [*]const u8, len: usize) i64;
    };
    const kv = struct {
        extern "abi_kv" fn get(ptr: [*]const u8, len: usize) i64;
        extern "abi_kv" fn set(kp: [*]const u8, kl: usize, vp: [*]const u8, vl: usize) i32;
        extern "abi_kv" fn delete(ptr: [*]const u8, len: usize) i32;
    };
    const stream = struct {
        extern "abi_stream" fn emit(ptr: [*]const u8, len: usize) i32;
    };
    const clock = struct {
        extern "abi_clock" fn now_ms() i64;
        extern "abi_clock" fn monotonic_ns() i64;
    };
    const random = struct {
        extern "abi_random" fn fill(ptr: [*]u8, len: usize) i32;
    };
    const http = struct {
        extern "abi_http" fn request(ptr: [*]const u8, len: usize) i64;
    };
    const vectors_read = struct {
        extern "abi_vectors_read" fn search(ptr: [*]const u8, len: usize) i64;
        extern "abi_vectors_read" fn get(ptr: [*]const u8, len: usize) i64;
    };
    const vectors_write = struct {
        extern "abi_vectors_write" fn upsert(ptr: [*]const u8, len: usize) i64;
        extern "abi_vectors_write" fn delete(ptr: [*]const u8, len: usize) i64;
    };
    const embed = struct {
        extern "abi_embed" fn embed(ptr: [*]const u8, len: usize) i64;
    };
    const neural = struct {
        extern "abi_neural_infer" fn infer(ptr: [*]const u8, len: usize) i64;
    };
    const agents = struct {
        extern "abi_agents_call" fn call(ptr: [*]const u8, len: usize) i64;
    };
};

/// Log levels of the `log` capability.
pub const Level = enum(i32) { debug = 0, info = 1, warn = 2, err = 3 };

/// log: write one UTF-8 line.
pub fn log(level: Level, message: []const u8) void {
    imports.log.write(@intFromEnum(level), message.ptr, message.len);
}

/// config: the JSON value of `key` for this tenant (error.NotFound when unset).
pub fn configGet(key: []const u8) HostError![]const u8 {
    return resultBytes(imports.config.get(key.ptr, key.len));
}

/// kv: the bytes stored under `key` (error.NotFound when absent).
pub fn kvGet(key: []const u8) HostError![]const u8 {
    return resultBytes(imports.kv.get(key.ptr, key.len));
}

/// kv: store `value` under `key`.
pub fn kvSet(key: []const u8, value: []const u8) HostError!void {
    return statusError(imports.kv.set(key.ptr, key.len, value.ptr, value.len));
}

/// kv: remove `key` (error.NotFound when absent).
pub fn kvDelete(key: []const u8) HostError!void {
    return statusError(imports.kv.delete(key.ptr, key.len));
}

/// stream: send a chunk to the caller now.
pub fn emit(chunk: []const u8) HostError!void {
    return statusError(imports.stream.emit(chunk.ptr, chunk.len));
}

/// clock: Unix time in milliseconds.
pub fn nowMs() i64 {
    return imports.clock.now_ms();
}

/// clock: monotonic nanoseconds.
pub fn monotonicNs() i64 {
    return imports.clock.monotonic_ns();
}

/// random: fill `buf` (at most 64 KiB) with secure random bytes.
pub fn randomFill(buf: []u8) HostError!void {
    return statusError(imports.random.fill(buf.ptr, buf.len));
}

/// http: a JSON request `{"method","url","headers","body"}`; the JSON response.
pub fn httpRequest(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.http.request(request.ptr, request.len));
}

/// vectors.read: search a granted collection (JSON in, JSON out; see ABI.md).
pub fn vectorsSearch(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.vectors_read.search(request.ptr, request.len));
}

/// vectors.read: fetch items by id.
pub fn vectorsGet(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.vectors_read.get(request.ptr, request.len));
}

/// vectors.write: insert or replace items.
pub fn vectorsUpsert(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.vectors_write.upsert(request.ptr, request.len));
}

/// vectors.write: delete items by id.
pub fn vectorsDelete(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.vectors_write.delete(request.ptr, request.len));
}

/// embed: embed texts.
pub fn embed(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.embed.embed(request.ptr, request.len));
}

/// neural.infer: run a model.
pub fn neuralInfer(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.neural.infer(request.ptr, request.len));
}

/// agents.call: ask an agent.
pub fn agentsCall(request: []const u8) HostError![]const u8 {
    return resultBytes(imports.agents.call(request.ptr, request.len));
}
