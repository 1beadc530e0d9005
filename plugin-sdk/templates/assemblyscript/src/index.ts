// {{name}}: an Abi plugin. `abi plugin build` compiles it; `abi plugin test` runs examples/.
import * as abi from "../sdk/abi";
export { abi_version, abi_alloc, abi_reset } from "../sdk/abi";

/** "NAME" -> "Hello, NAME!" (surrounding whitespace ignored; empty -> world). */
function greet(input: string): string {
  const trimmed = input.trim();
  const name = trimmed.length == 0 ? "world" : trimmed;
  abi.log(abi.INFO, "{{name}}: greeted someone");
  return "Hello, " + name + "!";
}

export function handle(ptr: usize, len: usize): i64 {
  return abi.runText(ptr, len, greet);
}
