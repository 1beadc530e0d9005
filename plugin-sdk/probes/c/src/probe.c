/* Exercises the C SDK's host functions; the output names what each returned. */
#include "abi.h"

static const char *status_name(int st) {
    switch (st) {
    case ABI_OK:
        return "ok";
    case ABI_NOT_FOUND:
        return "not_found";
    case ABI_DENIED:
        return "denied";
    default:
        return "error";
    }
}

static int64_t init_bytes = -1; /* length of the config abi_init received */
static int64_t handled;         /* handle calls on this instance */

ABI_INIT {
    init_bytes = input.len;
    return abi_ok(0, 0);
}

ABI_HEALTH { return abi_ok_str("{\"ok\":true,\"sdk\":\"c\"}"); }

ABI_METRICS {
    abi_buf out = abi_buf_new(32);
    abi_buf_puts(&out, "{\"handled\":");
    abi_buf_put_i64(&out, handled);
    abi_buf_putc(&out, '}');
    return abi_buf_ok(&out);
}

ABI_HANDLER(handle) {
    abi_buf out = abi_buf_new(256);
    handled++;
    abi_bytes value;
    abi_kv_set(abi_str("k"), input);
    abi_buf_puts(&out, "kv:");
    if (abi_kv_get(abi_str("k"), &value) == ABI_OK) {
        abi_buf_put(&out, value.ptr, value.len);
    }
    abi_buf_puts(&out, " missing:");
    abi_buf_puts(&out, status_name(abi_kv_get(abi_str("nope"), &value)));
    abi_buf_puts(&out, " delete:");
    abi_buf_puts(&out, status_name(abi_kv_delete(abi_str("k"))));
    abi_buf_puts(&out, " again:");
    abi_buf_puts(&out, status_name(abi_kv_delete(abi_str("k"))));
    abi_buf_puts(&out, " config:");
    abi_buf_puts(&out, status_name(abi_config_get(abi_str("greeting"), &value)));
    abi_buf_puts(&out, abi_clock_now_ms() > 1600000000000LL ? " clock:ok" : " clock:bad");
    int64_t t0 = abi_clock_monotonic_ns();
    abi_buf_puts(&out, abi_clock_monotonic_ns() >= t0 ? " monotonic:ok" : " monotonic:bad");
    uint8_t noise[32] = {0};
    int any = 0;
    abi_random_fill(noise, sizeof noise);
    for (unsigned i = 0; i < sizeof noise; i++) {
        any |= noise[i];
    }
    abi_buf_puts(&out, any ? " random:ok" : " random:bad");
    abi_buf_puts(&out, abi_stream_emit("chunk", 5) == ABI_OK ? " stream:ok" : " stream:bad");
    abi_buf_puts(&out, " init:");
    abi_buf_put_i64(&out, init_bytes);
    abi_log_str(ABI_LOG_DEBUG, "probe done");
    return abi_buf_ok(&out);
}
