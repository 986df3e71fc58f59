"""Local simulators of Acme ERP and Progix, and the launcher for the local stack."""
