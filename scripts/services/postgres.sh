# PostgreSQL from Debian's packages: 127.0.0.1:${FERRY_PG_PORT:-55432}, superuser ferry/ferry, database ferry_test.

PG_PORT="${FERRY_PG_PORT:-55432}"
PG_DIR="$FERRY_SERVICES_DIR/postgres"

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

# Runs a command as the postgres OS user when we are root (the server refuses to run as root).
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_up() {
  pg_bin >/dev/null || apt_install /usr/lib/postgresql/15/bin/pg_ctl postgresql
  local bin
  bin="$(pg_bin)"
  if pid_alive "$PG_DIR/data/postmaster.pid"; then
    echo "postgres: already running on 127.0.0.1:$PG_PORT"
    return 0
  fi
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    pg_as "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1
  fi
  pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200 -c fsync=off" >/dev/null
  local psql=("$bin/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(pg_as "${psql[@]}" -c "select count(*) from pg_roles where rolname = 'ferry'")" = "0" ]; then
    pg_as "${psql[@]}" -c "create role ferry login superuser password 'ferry'"
  fi
  if [ "$(pg_as "${psql[@]}" -c "select count(*) from pg_database where datname = 'ferry_test'")" = "0" ]; then
    pg_as "${psql[@]}" -c "create database ferry_test owner ferry"
  fi
  echo "postgres: running on 127.0.0.1:$PG_PORT"
}

postgres_down() {
  local bin
  if pid_alive "$PG_DIR/data/postmaster.pid" && bin="$(pg_bin)"; then
    pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null && echo "postgres: stopped"
  else
    echo "postgres: not running"
  fi
}

postgres_status() {
  if pid_alive "$PG_DIR/data/postmaster.pid"; then
    echo "postgres: up (127.0.0.1:$PG_PORT, pid $(head -1 "$PG_DIR/data/postmaster.pid"))"
  else
    echo "postgres: down"
    return 1
  fi
}

postgres_env() {
  echo "export FERRY_TEST_POSTGRES_URL=postgres://ferry:ferry@127.0.0.1:$PG_PORT/ferry_test"
}
