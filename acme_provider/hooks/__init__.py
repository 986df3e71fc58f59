"""Hooks: `AcmeErpHook` (connection type `acme_erp`) and `ProgixHook` (an `http` connection)."""
