"""Helpers shared by the test suites (process fixtures live in `sandbox.processes`)."""
