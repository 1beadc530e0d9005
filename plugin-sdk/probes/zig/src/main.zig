//! Exercises the Zig SDK's host functions; the output names what each returned.
const abi = @import("abi");

fn name(r: anyerror!void) []const u8 {
    r catch |e| return switch (e) {
        error.NotFound => "not_found",
        error.CapabilityDenied => "denied",
        else => "error",
    };
    return "ok";
}

fn handle(input: []const u8) ![]const u8 {
    var out = abi.Buf.init();
    try abi.kvSet("k", input);
    try out.put("kv:");
    try out.put(abi.kvGet("k") catch "");
    try out.put(" missing:");
    try out.put(name(if (abi.kvGet("nope")) |_| {} else |e| e));
    try out.put(" delete:");
    try out.put(name(abi.kvDelete("k")));
    try out.put(" again:");
    try out.put(name(abi.kvDelete("k")));
    try out.put(" config:");
    try out.put(name(if (abi.configGet("greeting")) |_| {} else |e| e));
    try out.put(if (abi.nowMs() > 1_600_000_000_000) " clock:ok" else " clock:bad");
    const t0 = abi.monotonicNs();
    try out.put(if (abi.monotonicNs() >= t0) " monotonic:ok" else " monotonic:bad");
    var noise: [32]u8 = @splat(0);
    try abi.randomFill(&noise);
    var any: u8 = 0;
    for (noise) |b| any |= b;
    try out.put(if (any != 0) " random:ok" else " random:bad");
    try out.put(if (abi.emit("chunk")) |_| " stream:ok" else |_| " stream:bad");
    abi.log(.debug, "probe done");
    return out.items();
}

comptime {
    abi.handler("handle", handle);
}
