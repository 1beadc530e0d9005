"""Agents: personas, registry, router, balancer, bus and workflows."""
