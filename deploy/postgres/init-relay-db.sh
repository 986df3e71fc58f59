#!/usr/bin/env bash
# Create the relay's role and database next to Airflow's, on the same PostgreSQL server.
#
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d/), and
# by deploy/distributed.py against the local server, so both create the relay store the same
# way. The relay owns its database and nothing else: it cannot read Airflow's metadata.
# psql variables (:"name" / :'value') quote the identifiers and the password safely.
set -euo pipefail
: "${RELAY_DB_USER:?}" "${RELAY_DB_PASSWORD?}" "${RELAY_DB_NAME:?}"

psql -v ON_ERROR_STOP=1 --no-psqlrc \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=relay_user="$RELAY_DB_USER" \
  --set=relay_password="$RELAY_DB_PASSWORD" \
  --set=relay_db="$RELAY_DB_NAME" <<'SQL'
CREATE ROLE :"relay_user" LOGIN PASSWORD :'relay_password';
CREATE DATABASE :"relay_db" OWNER :"relay_user";
REVOKE ALL ON DATABASE :"relay_db" FROM PUBLIC;
SQL
echo "relay database ready"
