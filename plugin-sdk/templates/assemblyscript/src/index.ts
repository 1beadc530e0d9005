// {{name}}: an Abi plugin. `abi plugin build` compiles it; `abi plugin test` runs examples/.
import * as abi from "../sdk/abi";
export { abi_version, abi_alloc, abi_reset } from "../sdk/abi";

/** handle: "NAME" -> "Hello, NAME!" (surrounding whitespace ignored; empty -> world). */
export function handle(ptr: usize, len: usize): i64 {
  const trimmed = abi.inputString(ptr, len).trim();
  const name = trimmed.length == 0 ? "world" : trimmed;
  abi.log(abi.INFO, "{{name}}: greeted someone");
  return abi.okString("Hello, " + name + "!");
}
