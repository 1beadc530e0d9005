//! Abi guest SDK for Rust (guest ABI v1, see ../ABI.md): a `no_std` crate with no
//! dependencies and no `alloc`, built with a plain `rustc` (Debian's 1.63 works):
//!
//! ```text
//! rustc --target wasm32-unknown-unknown --edition 2021 -O -C panic=abort \
//!       --crate-type rlib --crate-name abi_sdk plugin-sdk/rust/abi_sdk.rs -o build/libabi_sdk.rlib
//! rustc --target wasm32-unknown-unknown --edition 2021 -O -C panic=abort \
//!       --crate-type cdylib --extern abi_sdk=build/libabi_sdk.rlib src/lib.rs -o plugin.wasm
//! ```
//!
//! An author writes handlers `&[u8] -> Result<&[u8], &str>` and exports them:
//!
//! ```text
//! #![no_std]
//! use abi_sdk::{handler, Buf, HandlerResult};
//! fn handle(input: &[u8]) -> HandlerResult {
//!     let mut out = Buf::new(input.len() + 8);
//!     out.put(b"Hello, ");
//!     out.put(input);
//!     Ok(out.finish())
//! }
//! handler!("handle", handle);
//! ```
//!
//! Memory comes from a bump arena that the host resets after every call (`abi_reset`), so
//! everything it hands out is `'static` until the call ends; `keep()` makes what was allocated
//! so far survive resets. A host function you never call is not imported.
#![no_std]

use core::arch::wasm32;
use core::fmt;

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

// ------------------------------------------------------------------ arena

const PAGE: usize = 65536;
const MAX_ADDRESS: usize = 0x7fff_ffff;

static mut ARENA_FLOOR: usize = 0;
static mut ARENA_TOP: usize = 0;
static mut LAST_BLOCK: usize = 0;

/// The arena starts above the module's initial memory (data and stack live below).
fn arena_start() {
    // SAFETY: wasm32 guests are single-threaded; the statics are only touched here.
    unsafe {
        if ARENA_TOP == 0 {
            ARENA_FLOOR = wasm32::memory_size(0) * PAGE;
            ARENA_TOP = ARENA_FLOOR;
        }
    }
}

fn ensure(end: usize) -> bool {
    let have = wasm32::memory_size(0) * PAGE;
    if end <= have {
        return true;
    }
    wasm32::memory_grow(0, (end - have + PAGE - 1) / PAGE) != usize::MAX
}

/// `len` bytes from the call arena aligned to `align` (a power of two), or null.
pub fn raw_alloc(len: usize, align: usize) -> *mut u8 {
    arena_start();
    // SAFETY: single-threaded guest.
    unsafe {
        let start = (ARENA_TOP + align - 1) & !(align - 1);
        let end = start.wrapping_add(len);
        if end < start || end > MAX_ADDRESS || !ensure(end) {
            return core::ptr::null_mut();
        }
        ARENA_TOP = end;
        LAST_BLOCK = start;
        start as *mut u8
    }
}

/// Grow the newest block in place; false when `ptr` is not the newest block or memory ran out.
fn grow_in_place(ptr: *mut u8, old_len: usize, new_len: usize) -> bool {
    // SAFETY: single-threaded guest.
    unsafe {
        let start = ptr as usize;
        if start != LAST_BLOCK || start + old_len != ARENA_TOP {
            return false;
        }
        let end = start + new_len;
        if end > MAX_ADDRESS || !ensure(end) {
            return false;
        }
        ARENA_TOP = end;
        true
    }
}

/// Make everything allocated so far survive `abi_reset`.
pub fn keep() {
    arena_start();
    // SAFETY: single-threaded guest.
    unsafe { ARENA_FLOOR = ARENA_TOP }
}

/// A slice of `n` copies of `value` in the call arena (traps when memory is exhausted).
pub fn alloc_slice<T: Copy>(n: usize, value: T) -> &'static mut [T] {
    let bytes = n.checked_mul(core::mem::size_of::<T>()).unwrap_or(usize::MAX);
    let ptr = raw_alloc(bytes, core::mem::align_of::<T>()) as *mut T;
    if ptr.is_null() {
        wasm32::unreachable();
    }
    // SAFETY: the arena block is fresh, aligned and large enough for n values.
    unsafe {
        for k in 0..n {
            ptr.add(k).write(value);
        }
        core::slice::from_raw_parts_mut(ptr, n)
    }
}

#[no_mangle]
pub extern "C" fn abi_version() -> i32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn abi_alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    raw_alloc(size as usize, 8) as i32
}

#[no_mangle]
pub extern "C" fn abi_reset() {
    arena_start();
    // SAFETY: single-threaded guest.
    unsafe {
        ARENA_TOP = ARENA_FLOOR;
        LAST_BLOCK = 0;
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}

// ------------------------------------------------------------------ output buffer

/// A growable byte buffer in the call arena; `core::fmt::Write` is implemented for it.
pub struct Buf {
    ptr: *mut u8,
    len: usize,
    cap: usize,
}

impl Buf {
    /// An empty buffer with room for `capacity` bytes.
    pub fn new(capacity: usize) -> Buf {
        let cap = if capacity == 0 { 16 } else { capacity };
        let ptr = raw_alloc(cap, 8);
        if ptr.is_null() {
            wasm32::unreachable();
        }
        Buf { ptr, len: 0, cap }
    }

    fn reserve(&mut self, extra: usize) {
        let need = self.len + extra;
        if need <= self.cap {
            return;
        }
        let mut cap = self.cap * 2;
        while cap < need {
            cap *= 2;
        }
        if !grow_in_place(self.ptr, self.cap, cap) {
            let fresh = raw_alloc(cap, 8);
            if fresh.is_null() {
                wasm32::unreachable();
            }
            // SAFETY: both blocks are valid for self.len bytes and do not overlap.
            unsafe { core::ptr::copy_nonoverlapping(self.ptr, fresh, self.len) };
            self.ptr = fresh;
        }
        self.cap = cap;
    }

    /// Append bytes.
    pub fn put(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        // SAFETY: reserve made room for bytes.len() more bytes.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(self.len), bytes.len()) };
        self.len += bytes.len();
    }

    /// Append one byte.
    pub fn byte(&mut self, b: u8) {
        self.put(&[b]);
    }

    /// Append a decimal integer.
    pub fn int(&mut self, value: i64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut u = value.unsigned_abs();
        loop {
            digits[n] = b'0' + (u % 10) as u8;
            n += 1;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if value < 0 {
            self.byte(b'-');
        }
        while n > 0 {
            n -= 1;
            self.byte(digits[n]);
        }
    }

    /// Append `s` as a JSON string literal, quotes included (UTF-8 passes through).
    pub fn json_string(&mut self, s: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.byte(b'"');
        for &c in s {
            match c {
                b'"' => self.put(b"\\\""),
                b'\\' => self.put(b"\\\\"),
                b'\n' => self.put(b"\\n"),
                b'\r' => self.put(b"\\r"),
                b'\t' => self.put(b"\\t"),
                0..=0x1f => self.put(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
                _ => self.byte(c),
            }
        }
        self.byte(b'"');
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialized bytes.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The finished bytes; they live until the host resets the arena.
    pub fn finish(self) -> &'static [u8] {
        // SAFETY: arena memory is not reused before abi_reset, which ends the call.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The finished bytes as a string (the caller wrote UTF-8 only).
    pub fn finish_str(self) -> &'static str {
        // SAFETY: Buf only receives UTF-8 from str-based writers in this use.
        unsafe { core::str::from_utf8_unchecked(self.finish()) }
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}

/// Format into the arena: `return Err(abi_sdk::format(format_args!("bad field {}", name)));`.
pub fn format(args: fmt::Arguments) -> &'static str {
    let mut b = Buf::new(64);
    let _ = fmt::write(&mut b, args);
    b.finish_str()
}

// ------------------------------------------------------------------ results and handlers

/// What a handler returns: the output bytes, or an error message for the caller.
pub type HandlerResult = Result<&'static [u8], &'static str>;

const ERROR_FLAG: u64 = 1 << 63;

/// Pack a success result pointing at `bytes` (ABI.md section 2).
pub fn pack_ok(bytes: &[u8]) -> i64 {
    (((bytes.as_ptr() as u64) << 32) | bytes.len() as u64) as i64
}

/// Pack an error result whose message is `message`.
pub fn pack_err(message: &[u8]) -> i64 {
    (pack_ok(message) as u64 | ERROR_FLAG) as i64
}

/// Split a packed result into its bytes and whether it is an error.
pub fn unpack(result: i64) -> (&'static [u8], bool) {
    let u = result as u64;
    let ptr = ((u & !ERROR_FLAG) >> 32) as usize;
    let len = (u & 0xffff_ffff) as usize;
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the host wrote len bytes at ptr in this module's memory.
        unsafe { core::slice::from_raw_parts(ptr as *const u8, len) }
    };
    (bytes, u & ERROR_FLAG != 0)
}

/// Run a handler on the host's input and pack its result (used by `handler!`).
pub fn run(ptr: *const u8, len: usize, func: fn(&[u8]) -> HandlerResult) -> i64 {
    let input = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the host wrote len input bytes at ptr (allocated with abi_alloc).
        unsafe { core::slice::from_raw_parts(ptr, len) }
    };
    match func(input) {
        Ok(out) => pack_ok(out),
        Err(message) => pack_err(message.as_bytes()),
    }
}

/// Run a lifecycle function (`abi_health`, `abi_metrics`) and pack its result.
pub fn run_lifecycle(func: fn() -> HandlerResult) -> i64 {
    match func() {
        Ok(out) => pack_ok(out),
        Err(message) => pack_err(message.as_bytes()),
    }
}

/// Export `$func` (a `fn(&[u8]) -> HandlerResult`) as the handler named `$name`:
/// `handler!("handle", handle);`. `handler!("abi_init", init)` exports the config hook.
#[macro_export]
macro_rules! handler {
    ($name:literal, $func:path) => {
        const _: () = {
            #[export_name = $name]
            extern "C" fn abi_exported_handler(ptr: *const u8, len: usize) -> i64 {
                $crate::run(ptr, len, $func)
            }
        };
    };
}

/// Export `$func` (a `fn() -> HandlerResult` returning JSON) as `"abi_health"` or
/// `"abi_metrics"`.
#[macro_export]
macro_rules! lifecycle {
    ($name:literal, $func:path) => {
        const _: () = {
            #[export_name = $name]
            extern "C" fn abi_exported_lifecycle() -> i64 {
                $crate::run_lifecycle($func)
            }
        };
    };
}

// ------------------------------------------------------------------ host functions

/// A failed host call (ABI.md section 3); `message()` has the host's JSON payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    CapabilityDenied,
    BadArgument,
    LimitReached,
    NotFound,
    Failure,
}

static mut LAST_HOST_ERROR: &[u8] = b"";

impl HostError {
    fn from_status(status: i32) -> Result<(), HostError> {
        match status {
            0 => Ok(()),
            -1 => Err(HostError::CapabilityDenied),
            -2 => Err(HostError::BadArgument),
            -3 => Err(HostError::LimitReached),
            -4 => Err(HostError::NotFound),
            _ => Err(HostError::Failure),
        }
    }

    /// The JSON error payload of the most recent failed i64 host call.
    pub fn message() -> &'static [u8] {
        // SAFETY: single-threaded guest.
        unsafe { LAST_HOST_ERROR }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn result_bytes(result: i64) -> Result<&'static [u8], HostError> {
    let (bytes, is_error) = unpack(result);
    if !is_error {
        return Ok(bytes);
    }
    // SAFETY: single-threaded guest.
    unsafe { LAST_HOST_ERROR = bytes };
    Err(if contains(bytes, b"\"not_found\"") {
        HostError::NotFound
    } else if contains(bytes, b"\"capability_denied\"") {
        HostError::CapabilityDenied
    } else if contains(bytes, b"\"limit_reached\"") {
        HostError::LimitReached
    } else if contains(bytes, b"\"bad_argument\"") {
        HostError::BadArgument
    } else {
        HostError::Failure
    })
}

mod imports {
    #[link(wasm_import_module = "abi_log")]
    extern "C" {
        #[link_name = "write"]
        pub fn log_write(level: i32, ptr: *const u8, len: usize);
    }
    #[link(wasm_import_module = "abi_config")]
    extern "C" {
        #[link_name = "get"]
        pub fn config_get(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_kv")]
    extern "C" {
        #[link_name = "get"]
        pub fn kv_get(ptr: *const u8, len: usize) -> i64;
        #[link_name = "set"]
        pub fn kv_set(kp: *const u8, kl: usize, vp: *const u8, vl: usize) -> i32;
        #[link_name = "delete"]
        pub fn kv_delete(ptr: *const u8, len: usize) -> i32;
    }
    #[link(wasm_import_module = "abi_stream")]
    extern "C" {
        #[link_name = "emit"]
        pub fn stream_emit(ptr: *const u8, len: usize) -> i32;
    }
    #[link(wasm_import_module = "abi_clock")]
    extern "C" {
        #[link_name = "now_ms"]
        pub fn clock_now_ms() -> i64;
        #[link_name = "monotonic_ns"]
        pub fn clock_monotonic_ns() -> i64;
    }
    #[link(wasm_import_module = "abi_random")]
    extern "C" {
        #[link_name = "fill"]
        pub fn random_fill(ptr: *mut u8, len: usize) -> i32;
    }
    #[link(wasm_import_module = "abi_http")]
    extern "C" {
        #[link_name = "request"]
        pub fn http_request(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_vectors_read")]
    extern "C" {
        #[link_name = "search"]
        pub fn vectors_search(ptr: *const u8, len: usize) -> i64;
        #[link_name = "get"]
        pub fn vectors_get(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_vectors_write")]
    extern "C" {
        #[link_name = "upsert"]
        pub fn vectors_upsert(ptr: *const u8, len: usize) -> i64;
        #[link_name = "delete"]
        pub fn vectors_delete(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_embed")]
    extern "C" {
        #[link_name = "embed"]
        pub fn embed(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_neural_infer")]
    extern "C" {
        #[link_name = "infer"]
        pub fn neural_infer(ptr: *const u8, len: usize) -> i64;
    }
    #[link(wasm_import_module = "abi_agents_call")]
    extern "C" {
        #[link_name = "call"]
        pub fn agents_call(ptr: *const u8, len: usize) -> i64;
    }
}

/// Log levels of the `log` capability.
#[derive(Clone, Copy, Debug)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// log: write one UTF-8 line.
pub fn log(level: Level, message: &str) {
    // SAFETY: host import reading message.len() bytes.
    unsafe { imports::log_write(level as i32, message.as_ptr(), message.len()) }
}

/// config: the JSON value of `key` for this tenant (`NotFound` when unset).
pub fn config_get(key: &str) -> Result<&'static [u8], HostError> {
    // SAFETY: host import reading the key bytes.
    result_bytes(unsafe { imports::config_get(key.as_ptr(), key.len()) })
}

/// kv: the bytes stored under `key` (`NotFound` when absent).
pub fn kv_get(key: &[u8]) -> Result<&'static [u8], HostError> {
    // SAFETY: host import reading the key bytes.
    result_bytes(unsafe { imports::kv_get(key.as_ptr(), key.len()) })
}

/// kv: store `value` under `key`.
pub fn kv_set(key: &[u8], value: &[u8]) -> Result<(), HostError> {
    // SAFETY: host import reading both slices.
    HostError::from_status(unsafe { imports::kv_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) })
}

/// kv: remove `key` (`NotFound` when absent).
pub fn kv_delete(key: &[u8]) -> Result<(), HostError> {
    // SAFETY: host import reading the key bytes.
    HostError::from_status(unsafe { imports::kv_delete(key.as_ptr(), key.len()) })
}

/// stream: send a chunk to the caller now.
pub fn emit(chunk: &[u8]) -> Result<(), HostError> {
    // SAFETY: host import reading the chunk.
    HostError::from_status(unsafe { imports::stream_emit(chunk.as_ptr(), chunk.len()) })
}

/// clock: Unix time in milliseconds.
pub fn now_ms() -> i64 {
    // SAFETY: host import without arguments.
    unsafe { imports::clock_now_ms() }
}

/// clock: monotonic nanoseconds.
pub fn monotonic_ns() -> i64 {
    // SAFETY: host import without arguments.
    unsafe { imports::clock_monotonic_ns() }
}

/// random: fill `buf` (at most 64 KiB) with secure random bytes.
pub fn random_fill(buf: &mut [u8]) -> Result<(), HostError> {
    // SAFETY: host import writing buf.len() bytes into buf.
    HostError::from_status(unsafe { imports::random_fill(buf.as_mut_ptr(), buf.len()) })
}

macro_rules! json_call {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(request: &[u8]) -> Result<&'static [u8], HostError> {
            // SAFETY: host import reading the request bytes.
            result_bytes(unsafe { imports::$name(request.as_ptr(), request.len()) })
        }
    };
}

json_call!(
    /// http: `{"method","url","headers","body"}` -> `{"status","headers","body"}`.
    http_request
);
json_call!(
    /// vectors.read: search a granted collection.
    vectors_search
);
json_call!(
    /// vectors.read: fetch items by id.
    vectors_get
);
json_call!(
    /// vectors.write: insert or replace items.
    vectors_upsert
);
json_call!(
    /// vectors.write: delete items by id.
    vectors_delete
);
json_call!(
    /// embed: embed texts.
    embed
);
json_call!(
    /// neural.infer: run a model.
    neural_infer
);
json_call!(
    /// agents.call: ask an agent.
    agents_call
);

// ------------------------------------------------------------------ JSON reading

/// Zero-copy JSON reading: values are sub-slices of the document. Nesting deeper than
/// `MAX_DEPTH` counts as malformed.
pub mod json {
    use super::Buf;

    /// The deepest nesting accepted.
    pub const MAX_DEPTH: usize = 64;

    fn ws(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    fn string_end(s: &[u8], mut i: usize) -> Result<usize, usize> {
        i += 1;
        while i < s.len() {
            match s[i] {
                b'"' => return Ok(i + 1),
                0..=0x1f => return Err(i),
                b'\\' => {
                    match s.get(i + 1) {
                        Some(b'u') => {
                            let hex = s.get(i + 2..i + 6).ok_or(i)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(i);
                            }
                            i += 6;
                        }
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        _ => return Err(i),
                    }
                }
                _ => i += 1,
            }
        }
        Err(i)
    }

    fn digits(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        i
    }

    fn number_end(s: &[u8], start: usize) -> Result<usize, usize> {
        let mut i = start;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(c) if c.is_ascii_digit() => i = digits(s, i),
            _ => return Err(i),
        }
        if s.get(i) == Some(&b'.') {
            let j = digits(s, i + 1);
            if j == i + 1 {
                return Err(j);
            }
            i = j;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let j = digits(s, i);
            if j == i {
                return Err(j);
            }
            i = j;
        }
        Ok(i)
    }

    fn container_end(s: &[u8], start: usize, depth: usize, close: u8) -> Result<usize, usize> {
        let mut i = ws(s, start + 1);
        if s.get(i) == Some(&close) {
            return Ok(i + 1);
        }
        loop {
            if close == b'}' {
                if s.get(i) != Some(&b'"') {
                    return Err(i);
                }
                i = ws(s, string_end(s, i)?);
                if s.get(i) != Some(&b':') {
                    return Err(i);
                }
                i += 1;
            }
            i = ws(s, value_end_at(s, i, depth + 1)?);
            match s.get(i) {
                Some(b',') => i = ws(s, i + 1),
                Some(c) if *c == close => return Ok(i + 1),
                _ => return Err(i),
            }
        }
    }

    fn value_end_at(s: &[u8], start: usize, depth: usize) -> Result<usize, usize> {
        let i = ws(s, start);
        if depth > MAX_DEPTH {
            return Err(i);
        }
        match s.get(i) {
            Some(b'{') => container_end(s, i, depth, b'}'),
            Some(b'[') => container_end(s, i, depth, b']'),
            Some(b'"') => string_end(s, i),
            Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
            Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
            Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
            Some(_) => number_end(s, i),
            None => Err(i),
        }
    }

    /// The value starting at `start` (after whitespace) and the offset just past it;
    /// `Err(offset)` points at the first byte that is not valid JSON.
    pub fn value_at(s: &[u8], start: usize) -> Result<(&[u8], usize), usize> {
        let begin = ws(s, start);
        let end = value_end_at(s, begin, 0)?;
        Ok((&s[begin..end], end))
    }

    /// `doc` as exactly one JSON value (whitespace around it allowed), trimmed.
    pub fn parse(doc: &[u8]) -> Result<&[u8], usize> {
        let (value, end) = value_at(doc, 0)?;
        let rest = ws(doc, end);
        if rest != doc.len() {
            return Err(rest);
        }
        Ok(value)
    }

    /// The kind of a (valid) JSON value by its first byte.
    pub fn kind(value: &[u8]) -> u8 {
        match value.first() {
            Some(b'{') => b'o',
            Some(b'[') => b'a',
            Some(b'"') => b's',
            Some(b't' | b'f') => b'b',
            Some(b'n') => b'n',
            _ => b'#',
        }
    }

    /// Elements of a (valid) JSON array.
    pub struct Elements<'a> {
        s: &'a [u8],
        i: usize,
    }

    /// Members `(raw key literal, value)` of a (valid) JSON object.
    pub struct Members<'a> {
        s: &'a [u8],
        i: usize,
    }

    /// Iterate the elements of `array` (empty when it is not an array).
    pub fn elements(array: &[u8]) -> Elements<'_> {
        let i = if kind(array) == b'a' { 1 } else { array.len() };
        Elements { s: array, i }
    }

    /// Iterate the members of `object` (empty when it is not an object).
    pub fn members(object: &[u8]) -> Members<'_> {
        let i = if kind(object) == b'o' { 1 } else { object.len() };
        Members { s: object, i }
    }

    fn next_item(s: &[u8], i: &mut usize) -> bool {
        let mut j = ws(s, *i);
        if s.get(j) == Some(&b',') {
            j = ws(s, j + 1);
        }
        *i = j;
        j < s.len() && !matches!(s[j], b']' | b'}')
    }

    impl<'a> Iterator for Elements<'a> {
        type Item = &'a [u8];
        fn next(&mut self) -> Option<&'a [u8]> {
            if !next_item(self.s, &mut self.i) {
                self.i = self.s.len();
                return None;
            }
            let (v, end) = value_at(self.s, self.i).ok()?;
            self.i = end;
            Some(v)
        }
    }

    impl<'a> Iterator for Members<'a> {
        type Item = (&'a [u8], &'a [u8]);
        fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
            if !next_item(self.s, &mut self.i) {
                self.i = self.s.len();
                return None;
            }
            let (k, end) = value_at(self.s, self.i).ok()?;
            let colon = ws(self.s, end);
            let (v, end) = value_at(self.s, colon + 1).ok()?;
            self.i = end;
            Some((k, v))
        }
    }

    fn hex4(h: &[u8]) -> u32 {
        h.iter().fold(0, |acc, c| acc * 16 + (*c as char).to_digit(16).unwrap_or(0))
    }

    /// Decode the (valid) JSON string literal `raw`, calling `sink` with UTF-8 pieces.
    fn decode_with(raw: &[u8], mut sink: impl FnMut(&[u8]) -> bool) -> bool {
        let body = &raw[1..raw.len() - 1];
        let mut i = 0;
        while i < body.len() {
            let start = i;
            while i < body.len() && body[i] != b'\\' {
                i += 1;
            }
            if i > start && !sink(&body[start..i]) {
                return false;
            }
            if i >= body.len() {
                break;
            }
            let esc = body[i + 1];
            i += 2;
            let simple = match esc {
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => 0,
                other => other,
            };
            if esc != b'u' {
                if !sink(&[simple]) {
                    return false;
                }
                continue;
            }
            let mut cp = hex4(&body[i..i + 4]);
            i += 4;
            if (0xd800..0xdc00).contains(&cp) && body.get(i..i + 2) == Some(b"\\u") {
                let low = hex4(&body[i + 2..i + 6]);
                if (0xdc00..0xe000).contains(&low) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
            let mut tmp = [0u8; 4];
            if !sink(ch.encode_utf8(&mut tmp).as_bytes()) {
                return false;
            }
        }
        true
    }

    /// Append the decoded text of the JSON string literal `raw` to `out`; false if not a string.
    pub fn decode_str(raw: &[u8], out: &mut Buf) -> bool {
        kind(raw) == b's' && decode_with(raw, |piece| {
            out.put(piece);
            true
        })
    }

    /// The decoded text of the JSON string `raw` in the arena, or None if not a string.
    pub fn string(raw: &[u8]) -> Option<&'static [u8]> {
        let mut b = Buf::new(raw.len());
        if decode_str(raw, &mut b) {
            Some(b.finish())
        } else {
            None
        }
    }

    /// True when the JSON string literal `raw` decodes to exactly `plain`.
    pub fn str_eq(raw: &[u8], plain: &[u8]) -> bool {
        if kind(raw) != b's' {
            return false;
        }
        let mut rest = plain;
        decode_with(raw, |piece| {
            if rest.starts_with(piece) {
                rest = &rest[piece.len()..];
                true
            } else {
                false
            }
        }) && rest.is_empty()
    }

    /// The value of member `key` of `object`.
    pub fn get<'a>(object: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
        members(object).find(|(k, _)| str_eq(k, key)).map(|(_, v)| v)
    }

    /// Append `value` without the whitespace outside its strings.
    pub fn minify(value: &[u8], out: &mut Buf) {
        let mut in_string = false;
        let mut i = 0;
        while i < value.len() {
            let c = value[i];
            if in_string {
                if c == b'\\' {
                    out.put(&value[i..i + 2]);
                    i += 2;
                    continue;
                }
                in_string = c != b'"';
            } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
                continue;
            } else {
                in_string = c == b'"';
            }
            out.byte(c);
            i += 1;
        }
    }
}
