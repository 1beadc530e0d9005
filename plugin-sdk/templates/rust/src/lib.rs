//! {{name}}: an Abi plugin. `abi plugin build` compiles it; `abi plugin test` runs examples/.
#![no_std]

use abi_sdk::{handler, log, Buf, HandlerResult, Level};

/// handle: "NAME" -> "Hello, NAME!" (surrounding whitespace ignored; empty -> world).
fn handle(input: &[u8]) -> HandlerResult {
    let text = core::str::from_utf8(input).map_err(|_| "input is not valid UTF-8")?;
    let trimmed = text.trim();
    let name = if trimmed.is_empty() { "world" } else { trimmed };
    let mut out = Buf::new(name.len() + 8);
    out.put(b"Hello, ");
    out.put(name.as_bytes());
    out.byte(b'!');
    log(Level::Info, "{{name}}: greeted someone");
    Ok(out.finish())
}

handler!("handle", handle);
