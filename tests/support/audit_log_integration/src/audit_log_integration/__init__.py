"""A second integration for the tests: which Acme ERP customers changed, by keyed hash."""
