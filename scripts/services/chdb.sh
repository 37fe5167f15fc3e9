# The modern ClickHouse engine (npm `chdb` 3.4.0 = ClickHouse 26.7, embedded) behind a small HTTP endpoint
# (test/helpers/chdb-http-server.ts) that speaks the part of ClickHouse's HTTP interface the destination uses:
# 127.0.0.1:${FERRY_CHDB_PORT:-58125}, users `default` (no password) and `ferry`/`ferry`.
# chdb is ~550 MB: installed here, into the services folder, never as a dependency of the package.

CHDB_PORT="${FERRY_CHDB_PORT:-58125}"
CHDB_DIR="$FERRY_SERVICES_DIR/chdb"
CHDB_VERSION="3.4.0"

chdb_up() {
  npm_install_tool "$CHDB_DIR" "chdb@$CHDB_VERSION" || return 1
  if pid_alive "$CHDB_DIR/server.pid"; then
    echo "chdb: already running on 127.0.0.1:$CHDB_PORT"
    return 0
  fi
  local repo
  repo="$(cd "$here/.." && pwd)"
  mkdir -p "$CHDB_DIR/data"
  rm -f "$CHDB_DIR/server.pid"
  # The server writes its own PID file once it listens (what `down` stops).
  (cd "$repo" && exec setsid nohup node --import tsx test/helpers/chdb-http-server.ts --port "$CHDB_PORT" \
    --data "$CHDB_DIR/data" --chdb "$CHDB_DIR/node_modules/chdb" --user ferry --password ferry \
    --pid "$CHDB_DIR/server.pid" >"$CHDB_DIR/server.log" 2>&1 &)
  if ! wait_http "http://127.0.0.1:$CHDB_PORT/ping" 60; then
    tail -5 "$CHDB_DIR/server.log" >&2
    return 1
  fi
  echo "chdb: running on 127.0.0.1:$CHDB_PORT ($(head -1 "$CHDB_DIR/server.log"))"
}

chdb_down() {
  stop_pid "$CHDB_DIR/server.pid" chdb
}

chdb_status() {
  if pid_alive "$CHDB_DIR/server.pid"; then
    echo "chdb: up (127.0.0.1:$CHDB_PORT, pid $(head -1 "$CHDB_DIR/server.pid"))"
  else
    echo "chdb: down"
    return 1
  fi
}

chdb_env() {
  echo "export FERRY_TEST_CHDB_URL=clickhouse://ferry:ferry@127.0.0.1:$CHDB_PORT/default"
}
