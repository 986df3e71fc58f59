"""A second integration for the tests: which Acme ERP customers changed, and nothing more."""
