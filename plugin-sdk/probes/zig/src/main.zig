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

var init_bytes: i64 = -1; // length of the config abi_init received
var handled: i64 = 0; // handle calls on this instance

fn init(config: []const u8) ![]const u8 {
    init_bytes = @intCast(config.len);
    return "";
}

fn health() ![]const u8 {
    return "{\"ok\":true,\"sdk\":\"zig\"}";
}

fn metrics() ![]const u8 {
    var out = abi.Buf.init();
    try out.put("{\"handled\":");
    try out.int(handled);
    try out.byte('}');
    return out.items();
}

fn handle(input: []const u8) ![]const u8 {
    var out = abi.Buf.init();
    handled += 1;
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
    try out.put(" init:");
    try out.int(init_bytes);
    abi.log(.debug, "probe done");
    return out.items();
}

comptime {
    abi.handler("handle", handle);
    abi.init(init);
    abi.lifecycle("abi_health", health);
    abi.lifecycle("abi_metrics", metrics);
}
