;; Hostile: table.grow in large steps until it returns -1 (the cap), then trap (plugin.trap).
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (table $t 1 funcref)
  (func (export "handle") (param i32 i32) (result i64)
    (loop $grow
      (br_if $grow (i32.ne (table.grow $t (ref.null func) (i32.const 4096)) (i32.const -1))))
    unreachable))
