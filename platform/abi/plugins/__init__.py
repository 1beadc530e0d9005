"""Plugins: the Wasmtime sandbox, host capabilities, manifests, signing and the registry."""
