// Abi guest SDK for AssemblyScript (guest ABI v1, see ../ABI.md).
//
// Build with the compiler pinned in package.json (`npm ci` in this folder) and the stub
// runtime:
//
//   npx asc src/index.ts --runtime stub --use abort= -O -o plugin.wasm
//
// The entry file re-exports the three functions every plugin exports, and each exported
// handler takes the (ptr, len) of its input and returns a packed result, most simply by
// running a text (or bytes) handler:
//
//   import * as abi from "../sdk/abi";
//   export { abi_version, abi_alloc, abi_reset } from "../sdk/abi";
//   function greet(name: string): string { return "Hello, " + name + "!"; }
//   export function handle(ptr: usize, len: usize): i64 {
//     return abi.runText(ptr, len, greet);
//   }
//
// Memory: the stub runtime never frees; the host calls abi_reset after every call, which
// resets the whole heap. Objects created at start-up or kept in globals across calls do not
// survive it, and a module-level value computed at start-up (even `"a" + "b"`) is such an
// object: keep module-level values to literals and numbers, build tables inside handlers,
// and keep cross-call state in kv.
// A host function you never call is not imported.

export const ABI_VERSION: i32 = 1;

// ------------------------------------------------------------------ exports of every plugin

export function abi_version(): i32 {
  return ABI_VERSION;
}

export function abi_alloc(size: i32): usize {
  if (size < 0) return 0;
  return heap.alloc(<usize>size);
}

export function abi_reset(): void {
  __reset();
}

// ------------------------------------------------------------------ results

const ERROR_FLAG: u64 = 1 << 63;

/** Pack a success result pointing at `len` bytes at `ptr` (ABI.md section 2). */
export function pack(ptr: usize, len: usize): i64 {
  return <i64>((<u64>ptr << 32) | <u64>len);
}

/** A success result with the bytes of `data`. */
export function ok(data: Uint8Array): i64 {
  return pack(data.dataStart, <usize>data.length);
}

/** A success result with `text` encoded as UTF-8. */
export function okString(text: string): i64 {
  const buf = String.UTF8.encode(text);
  return pack(changetype<usize>(buf), <usize>buf.byteLength);
}

/** An error result; the caller sees `message` as plugin.guest_error. */
export function err(message: string): i64 {
  const buf = String.UTF8.encode(message);
  return <i64>(<u64>pack(changetype<usize>(buf), <usize>buf.byteLength) | ERROR_FLAG);
}

let failure: string | null = null;

/** Make the running handler fail with `message` (see runText / runBytes); returns "". */
export function fail(message: string): string {
  failure = message;
  return "";
}

function finish(result: i64): i64 {
  const message = failure;
  failure = null;
  return message !== null ? err(message) : result;
}

/** Run a text handler: `export function handle(ptr: usize, len: usize): i64 {
 *  return abi.runText(ptr, len, greet); }` with `function greet(input: string): string`.
 *  Invalid UTF-8 input is refused; `abi.fail(msg)` inside the handler fails the call. */
export function runText(ptr: usize, len: usize, handler: (input: string) => string): i64 {
  if (!isUtf8(ptr, len)) return err("input is not valid UTF-8");
  failure = null;
  const output = handler(inputString(ptr, len));
  return finish(okString(output));
}

/** Run a bytes handler (`function f(input: Uint8Array): Uint8Array`), like runText. */
export function runBytes(ptr: usize, len: usize, handler: (input: Uint8Array) => Uint8Array): i64 {
  failure = null;
  const output = handler(inputBytes(ptr, len));
  return finish(ok(output));
}

/** The input bytes of a call as a string (invalid UTF-8 becomes U+FFFD). */
export function inputString(ptr: usize, len: usize): string {
  return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, len);
}

/** The input bytes of a call as a (copied) byte array. */
export function inputBytes(ptr: usize, len: usize): Uint8Array {
  const out = new Uint8Array(<i32>len);
  if (len > 0) memory.copy(out.dataStart, ptr, len);
  return out;
}

/** True when `len` bytes at `ptr` are well-formed UTF-8. */
export function isUtf8(ptr: usize, len: usize): bool {
  let i: usize = 0;
  while (i < len) {
    const b = load<u8>(ptr + i);
    let n: usize = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if ((b & 0xe0) == 0xc0) {
      n = 2; min = 0x80; cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      n = 3; min = 0x800; cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      n = 4; min = 0x10000; cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n > len) return false;
    for (let k: usize = 1; k < n; k++) {
      const c = load<u8>(ptr + i + k);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false;
    i += n;
  }
  return true;
}

/** A result from a host function: its bytes, and whether it is an error. */
export class HostResult {
  constructor(public bytes: Uint8Array, public isError: bool) {}

  /** The bytes as a UTF-8 string (the JSON error payload when isError). */
  text(): string {
    return String.UTF8.decodeUnsafe(this.bytes.dataStart, <usize>this.bytes.length);
  }

  /** The status matching the error payload's code (OK when not an error). */
  status(): i32 {
    if (!this.isError) return OK;
    const t = this.text();
    if (t.includes('"not_found"')) return NOT_FOUND;
    if (t.includes('"capability_denied"')) return DENIED;
    if (t.includes('"limit_reached"')) return LIMIT_REACHED;
    if (t.includes('"bad_argument"')) return BAD_ARGUMENT;
    return HOST_ERROR;
  }
}

/** Split a packed result returned by a host function. */
export function unpack(result: i64): HostResult {
  const u = <u64>result;
  const ptr = <usize>((u & ~ERROR_FLAG) >> 32);
  const len = <i32>(u & 0xffffffff);
  const out = new Uint8Array(len);
  if (len > 0) memory.copy(out.dataStart, ptr, <usize>len);
  return new HostResult(out, (u & ERROR_FLAG) != 0);
}

// ------------------------------------------------------------------ host imports

// i32 status codes (ABI.md section 3).
export const OK: i32 = 0;
export const DENIED: i32 = -1;
export const BAD_ARGUMENT: i32 = -2;
export const LIMIT_REACHED: i32 = -3;
export const NOT_FOUND: i32 = -4;
export const HOST_ERROR: i32 = -5;

@external("abi_log", "write") declare function log_write(level: i32, ptr: usize, len: usize): void;
@external("abi_config", "get") declare function config_get(ptr: usize, len: usize): i64;
@external("abi_kv", "get") declare function kv_get(ptr: usize, len: usize): i64;
@external("abi_kv", "set") declare function kv_set(kp: usize, kl: usize, vp: usize, vl: usize): i32;
@external("abi_kv", "delete") declare function kv_delete(ptr: usize, len: usize): i32;
@external("abi_stream", "emit") declare function stream_emit(ptr: usize, len: usize): i32;
@external("abi_clock", "now_ms") declare function clock_now_ms(): i64;
@external("abi_clock", "monotonic_ns") declare function clock_monotonic_ns(): i64;
@external("abi_random", "fill") declare function random_fill(ptr: usize, len: usize): i32;
@external("abi_http", "request") declare function http_request(ptr: usize, len: usize): i64;
@external("abi_vectors_read", "search") declare function vectors_search(ptr: usize, len: usize): i64;
@external("abi_vectors_read", "get") declare function vectors_get(ptr: usize, len: usize): i64;
@external("abi_vectors_write", "upsert") declare function vectors_upsert(ptr: usize, len: usize): i64;
@external("abi_vectors_write", "delete") declare function vectors_delete(ptr: usize, len: usize): i64;
@external("abi_embed", "embed") declare function embed_call(ptr: usize, len: usize): i64;
@external("abi_neural_infer", "infer") declare function neural_infer(ptr: usize, len: usize): i64;
@external("abi_agents_call", "call") declare function agents_call(ptr: usize, len: usize): i64;

function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

// ------------------------------------------------------------------ typed host functions

export const DEBUG: i32 = 0;
export const INFO: i32 = 1;
export const WARN: i32 = 2;
export const ERROR: i32 = 3;

/** log: write one line at `level` (DEBUG, INFO, WARN, ERROR). */
export function log(level: i32, message: string): void {
  const b = utf8(message);
  log_write(level, changetype<usize>(b), <usize>b.byteLength);
}

/** config: the JSON value of `key` for this tenant. */
export function configGet(key: string): HostResult {
  const k = utf8(key);
  return unpack(config_get(changetype<usize>(k), <usize>k.byteLength));
}

/** kv: the bytes under `key` (status() == NOT_FOUND when absent). */
export function kvGet(key: string): HostResult {
  const k = utf8(key);
  return unpack(kv_get(changetype<usize>(k), <usize>k.byteLength));
}

/** kv: store `value` under `key`; returns a status code. */
export function kvSet(key: string, value: Uint8Array): i32 {
  const k = utf8(key);
  return kv_set(changetype<usize>(k), <usize>k.byteLength, value.dataStart, <usize>value.length);
}

/** kv: store a string under `key`; returns a status code. */
export function kvSetString(key: string, value: string): i32 {
  const v = Uint8Array.wrap(utf8(value));
  return kvSet(key, v);
}

/** kv: remove `key`; returns a status code (NOT_FOUND when absent). */
export function kvDelete(key: string): i32 {
  const k = utf8(key);
  return kv_delete(changetype<usize>(k), <usize>k.byteLength);
}

/** stream: send a chunk to the caller now; returns a status code. */
export function emit(chunk: string): i32 {
  const b = utf8(chunk);
  return stream_emit(changetype<usize>(b), <usize>b.byteLength);
}

/** clock: Unix time in milliseconds. */
export function nowMs(): i64 {
  return clock_now_ms();
}

/** clock: monotonic nanoseconds. */
export function monotonicNs(): i64 {
  return clock_monotonic_ns();
}

/** random: `len` (<= 65536) secure random bytes, or null when denied. */
export function randomBytes(len: i32): Uint8Array | null {
  const out = new Uint8Array(len);
  return random_fill(out.dataStart, <usize>len) == OK ? out : null;
}

function jsonCall(fn: (ptr: usize, len: usize) => i64, request: string): HostResult {
  const b = utf8(request);
  return unpack(fn(changetype<usize>(b), <usize>b.byteLength));
}

/** http: a JSON request to an allowed host; the JSON response. */
export function httpRequest(request: string): HostResult {
  return jsonCall(http_request, request);
}

/** vectors.read: search a granted collection. */
export function vectorsSearch(request: string): HostResult {
  return jsonCall(vectors_search, request);
}

/** vectors.read: fetch items by id. */
export function vectorsGet(request: string): HostResult {
  return jsonCall(vectors_get, request);
}

/** vectors.write: insert or replace items. */
export function vectorsUpsert(request: string): HostResult {
  return jsonCall(vectors_upsert, request);
}

/** vectors.write: delete items by id. */
export function vectorsDelete(request: string): HostResult {
  return jsonCall(vectors_delete, request);
}

/** embed: embed texts. */
export function embed(request: string): HostResult {
  return jsonCall(embed_call, request);
}

/** neural.infer: run a model. */
export function neuralInfer(request: string): HostResult {
  return jsonCall(neural_infer, request);
}

/** agents.call: ask an agent. */
export function agentsCall(request: string): HostResult {
  return jsonCall(agents_call, request);
}

// ------------------------------------------------------------------ JSON output

/** `text` as a JSON string literal, quotes included. */
export function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** `value` with `decimals` digits after the point, rounded half away from zero. */
export function fixed(value: f64, decimals: i32): string {
  const scale = Math.pow(10, decimals);
  const scaled = <i64>Math.floor(Math.abs(value) * scale + 0.5);
  const whole = scaled / <i64>scale;
  let text = (value < 0 && scaled != 0 ? "-" : "") + whole.toString();
  if (decimals > 0) {
    let frac = (scaled % <i64>scale).toString();
    while (frac.length < decimals) frac = "0" + frac;
    text += "." + frac;
  }
  return text;
}
