"""The production shape's helpers: `.env` generation and the compose file, read as data.

`deploy.envfile` writes `.env` from `.env.example` with fresh secrets (standard library only,
so it runs before anything is installed). `deploy.compose` reads `docker-compose.yaml` and
interpolates it like `docker compose` does. `deploy.distributed` runs that same configuration
on loopback without Docker (the distributed test run).
"""
