"""Abi: a multi-tenant WebAssembly plugin platform for AI workloads."""

__version__ = "0.1.0"
