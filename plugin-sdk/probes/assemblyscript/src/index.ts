// Exercises the AssemblyScript SDK's host functions; the output names what each returned.
import * as abi from "../../../assemblyscript/abi";
export { abi_version, abi_alloc, abi_reset } from "../../../assemblyscript/abi";

function statusName(status: i32): string {
  if (status == abi.OK) return "ok";
  if (status == abi.NOT_FOUND) return "not_found";
  if (status == abi.DENIED) return "denied";
  return "error";
}

let initBytes: i64 = -1; // length of the config abi_init received
let handled: i64 = 0; // handle calls on this instance

export function abi_init(ptr: usize, len: usize): i64 {
  initBytes = <i64>len;
  return abi.pack(0, 0);
}

export function abi_health(): i64 {
  return abi.okString('{"ok":true,"sdk":"assemblyscript"}');
}

export function abi_metrics(): i64 {
  return abi.okString('{"handled":' + handled.toString() + "}");
}

export function handle(ptr: usize, len: usize): i64 {
  let out = "";
  handled++;
  abi.kvSet("k", abi.inputBytes(ptr, len));
  const stored = abi.kvGet("k");
  out += "kv:" + (stored.isError ? "" : stored.text());
  out += " missing:" + statusName(abi.kvGet("nope").status());
  out += " delete:" + statusName(abi.kvDelete("k"));
  out += " again:" + statusName(abi.kvDelete("k"));
  out += " config:" + statusName(abi.configGet("greeting").status());
  out += abi.nowMs() > 1600000000000 ? " clock:ok" : " clock:bad";
  const t0 = abi.monotonicNs();
  out += abi.monotonicNs() >= t0 ? " monotonic:ok" : " monotonic:bad";
  const noise = abi.randomBytes(32);
  let any: u8 = 0;
  if (noise != null) for (let i = 0; i < noise.length; i++) any |= noise[i];
  out += any != 0 ? " random:ok" : " random:bad";
  out += abi.emit("chunk") == abi.OK ? " stream:ok" : " stream:bad";
  out += " init:" + initBytes.toString();
  abi.log(abi.DEBUG, "probe done");
  return abi.okString(out);
}
