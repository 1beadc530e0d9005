;; Hostile: imports a capability the manifest does not request (plugin.import_not_requested).
(module
  (import "abi_http" "request" (func $http (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32) global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap local.get $p)
  (func (export "handle") (param $p i32) (param $n i32) (result i64)
    (call $http (local.get $p) (local.get $n))))
