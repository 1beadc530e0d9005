//! Exercises the Rust SDK's host functions; the output names what each returned.
#![no_std]

use abi_sdk::{handler, lifecycle, Buf, HandlerResult, HostError, Level};

static mut INIT_BYTES: i64 = -1; // length of the config abi_init received
static mut HANDLED: i64 = 0; // handle calls on this instance

fn init(config: &[u8]) -> HandlerResult {
    // SAFETY: wasm32 guests are single-threaded.
    unsafe { INIT_BYTES = config.len() as i64 };
    Ok(b"")
}

fn health() -> HandlerResult {
    Ok(b"{\"ok\":true,\"sdk\":\"rust\"}")
}

fn metrics() -> HandlerResult {
    let mut out = Buf::new(32);
    out.put(b"{\"handled\":");
    // SAFETY: wasm32 guests are single-threaded.
    out.int(unsafe { HANDLED });
    out.byte(b'}');
    Ok(out.finish())
}

fn name<T>(r: Result<T, HostError>) -> &'static [u8] {
    match r {
        Ok(_) => b"ok",
        Err(HostError::NotFound) => b"not_found",
        Err(HostError::CapabilityDenied) => b"denied",
        Err(_) => b"error",
    }
}

fn handle(input: &[u8]) -> HandlerResult {
    let mut out = Buf::new(256);
    // SAFETY: wasm32 guests are single-threaded.
    unsafe { HANDLED += 1 };
    abi_sdk::kv_set(b"k", input).map_err(|_| "kv_set failed")?;
    out.put(b"kv:");
    out.put(abi_sdk::kv_get(b"k").unwrap_or(b""));
    out.put(b" missing:");
    out.put(name(abi_sdk::kv_get(b"nope")));
    out.put(b" delete:");
    out.put(name(abi_sdk::kv_delete(b"k")));
    out.put(b" again:");
    out.put(name(abi_sdk::kv_delete(b"k")));
    out.put(b" config:");
    out.put(name(abi_sdk::config_get("greeting")));
    out.put(if abi_sdk::now_ms() > 1_600_000_000_000 { b" clock:ok" } else { b" clock:bad" });
    let t0 = abi_sdk::monotonic_ns();
    out.put(if abi_sdk::monotonic_ns() >= t0 { b" monotonic:ok" } else { b" monotonic:bad" });
    let mut noise = [0u8; 32];
    abi_sdk::random_fill(&mut noise).map_err(|_| "random_fill failed")?;
    out.put(if noise.iter().any(|b| *b != 0) { b" random:ok" } else { b" random:bad" });
    out.put(if abi_sdk::emit(b"chunk").is_ok() { b" stream:ok" } else { b" stream:bad" });
    out.put(b" init:");
    // SAFETY: wasm32 guests are single-threaded.
    out.int(unsafe { INIT_BYTES });
    abi_sdk::log(Level::Debug, "probe done");
    Ok(out.finish())
}

handler!("handle", handle);
handler!("abi_init", init);
lifecycle!("abi_health", health);
lifecycle!("abi_metrics", metrics);
