;; Hostile: a data segment near the top of a 2 GiB memory; instantiating it would need 2 GiB
;; (plugin.out_of_memory against the memory cap).
(module
  (memory (export "memory") 32768)
  (data (i32.const 2147418112) "hostile data segment at the top of a 2 GiB memory")
  (func (export "abi_version") (result i32) i32.const 1)
  (func (export "abi_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "handle") (param i32 i32) (result i64) i64.const 0))
