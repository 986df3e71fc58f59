"""Test doubles shipped with the relay (used by its tests and benchmarks)."""
