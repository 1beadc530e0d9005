;; Hostile when the tenant denies kv: calls abi_kv.get and returns the host's error result
;; as its own (plugin.capability_denied when kv is denied).
(module
  (import "abi_kv" "get" (func $get (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (data (i32.const 16) "secret")
  (func (export "handle") (param i32 i32) (result i64)
    (call $get (i32.const 16) (i32.const 6))))
