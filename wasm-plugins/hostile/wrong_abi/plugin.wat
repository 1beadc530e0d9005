;; Hostile: abi_version() returns 2 (plugin.abi_mismatch).
(module
  (memory (export "memory") 1)
  (func (export "abi_version") (result i32) i32.const 2)
  (func (export "abi_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "handle") (param i32 i32) (result i64) i64.const 0))
