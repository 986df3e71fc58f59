"""Operators: webhook reconciliation and teardown, and record fetching for sync flows."""
