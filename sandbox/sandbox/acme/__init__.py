"""The Acme ERP simulator: customers, inventory, webhook subscriptions and signed deliveries."""
