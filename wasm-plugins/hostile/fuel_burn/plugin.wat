;; Hostile: an endless loop under a small fuel budget (plugin.out_of_fuel).
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (func (export "handle") (param i32 i32) (result i64)
    (loop $forever br $forever)
    i64.const 0))
