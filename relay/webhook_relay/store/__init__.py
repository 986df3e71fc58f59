"""Durable storage of events and batches (SQLite in WAL mode or PostgreSQL)."""
