;; Hostile: grows memory to 9 MiB and returns 8 MiB of it (plugin.output_too_large).
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (func (export "handle") (param i32 i32) (result i64)
    (drop (memory.grow (i32.const 143)))
    ;; result = (ptr 0 << 32) | 8 MiB
    i64.const 8388608))
