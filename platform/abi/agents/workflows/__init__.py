"""Workflows: definitions of steps calling agents and plugins, their engine and their runs."""
