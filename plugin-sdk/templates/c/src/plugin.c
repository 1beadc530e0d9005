/* {{name}}: an Abi plugin. `abi plugin build` compiles it; `abi plugin test` runs examples/. */
#include "abi.h"

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* handle: "NAME" -> "Hello, NAME!" (surrounding whitespace ignored; empty -> world). */
ABI_HANDLER(handle) {
    abi_bytes name = input;
    while (name.len > 0 && is_space(name.ptr[0])) {
        name.ptr++;
        name.len--;
    }
    while (name.len > 0 && is_space(name.ptr[name.len - 1])) {
        name.len--;
    }
    if (name.len == 0) {
        name = abi_str("world");
    }
    abi_buf out = abi_buf_new(name.len + 8);
    abi_buf_puts(&out, "Hello, ");
    abi_buf_put(&out, name.ptr, name.len);
    abi_buf_putc(&out, '!');
    abi_log_str(ABI_LOG_INFO, "{{name}}: greeted someone");
    return abi_buf_ok(&out);
}
