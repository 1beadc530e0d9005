"""Metrics, tracing and health."""
