#!/bin/sh
# Entry point of the PostgreSQL test image that .ci/postgres/build-image.sh makes from Debian packages (no image
# registry is needed). It honours what the official `postgres` image honours and Testcontainers' PostgreSQL
# module sets: POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required; password authentication over TCP),
# POSTGRES_DB (default: the user's name). The first start initialises the cluster; the server then runs in the
# foreground as PID 1, listening on every address inside the container. Arguments are passed to postgres
# (`-c name=value` ...), with or without a leading "postgres", as with the official image.
set -eu

BIN=/usr/lib/postgresql/15/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "POSTGRES_PASSWORD must be set (the superuser's password for connections over TCP)." >&2
  exit 1
fi
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$BIN/initdb" -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode creates the database before any client can connect (no temporary server needed).
    db="$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')"
    printf 'CREATE DATABASE "%s";\n' "$db" | as_postgres "$BIN/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "PostgreSQL cluster initialised: user $POSTGRES_USER, database $POSTGRES_DB"
fi

[ "${1:-}" != postgres ] || shift
exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
