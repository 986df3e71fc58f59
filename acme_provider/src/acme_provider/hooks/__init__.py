"""Hooks: `AcmeErpHook` (connection type `acme_erp`) and its retry policy."""
