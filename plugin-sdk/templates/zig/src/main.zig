//! {{name}}: an Abi plugin. `abi plugin build` compiles it; `abi plugin test` runs examples/.
const std = @import("std");
const abi = @import("abi");

/// handle: "NAME" -> "Hello, NAME!" (surrounding whitespace ignored; empty -> world).
fn handle(input: []const u8) ![]const u8 {
    const trimmed = std.mem.trim(u8, input, " \t\r\n");
    const name = if (trimmed.len == 0) "world" else trimmed;
    var out = abi.Buf.init();
    try out.put("Hello, ");
    try out.put(name);
    try out.byte('!');
    abi.log(.info, "{{name}}: greeted someone");
    return out.items();
}

comptime {
    abi.handler("handle", handle);
}
