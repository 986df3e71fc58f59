"""The Progix API simulator: per-tenant customers and inventory with version-guarded upserts."""
