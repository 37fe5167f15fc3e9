# ClickHouse, the real server from Debian's packages (18.16, 2018): HTTP on 127.0.0.1:${FERRY_CLICKHOUSE_PORT:-58123}
# (what ferry's clickhouse:// destination speaks), native protocol on ${FERRY_CLICKHOUSE_TCP_PORT:-58124} (what
# clickhouse-client speaks: the benchmark's floor). Users: `default` without a password and `ferry`/`ferry`.
# Debian's config is copied and adjusted: data, logs and ports of our own, 127.0.0.1 only.

CH_PORT="${FERRY_CLICKHOUSE_PORT:-58123}"
CH_TCP_PORT="${FERRY_CLICKHOUSE_TCP_PORT:-58124}"
CH_INTERSERVER_PORT="${FERRY_CLICKHOUSE_INTERSERVER_PORT:-58126}"
CH_DIR="$FERRY_SERVICES_DIR/clickhouse"

clickhouse_config() {
  mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas" "$CH_DIR/log"
  # Ports and paths of our own; only 127.0.0.1; a small mark cache (the default reserves up to 5 GB).
  sed -e "s#<http_port>8123</http_port>#<http_port>$CH_PORT</http_port>#" \
    -e "s#<tcp_port>9000</tcp_port>#<tcp_port>$CH_TCP_PORT</tcp_port>\n    <listen_host>127.0.0.1</listen_host>#" \
    -e "s#<interserver_http_port>9009</interserver_http_port>#<interserver_http_port>$CH_INTERSERVER_PORT</interserver_http_port>#" \
    -e "s#/var/log/clickhouse-server/#$CH_DIR/log/#g" \
    -e "s#<path>/var/lib/clickhouse/</path>#<path>$CH_DIR/data/</path>#" \
    -e "s#<tmp_path>/var/lib/clickhouse/tmp/</tmp_path>#<tmp_path>$CH_DIR/tmp/</tmp_path>#" \
    -e "s#<user_files_path>/var/lib/clickhouse/user_files/</user_files_path>#<user_files_path>$CH_DIR/user_files/</user_files_path>#" \
    -e "s#<format_schema_path>/var/lib/clickhouse/format_schemas/</format_schema_path>#<format_schema_path>$CH_DIR/format_schemas/</format_schema_path>#" \
    -e "s#<users_config>users.xml</users_config>#<users_config>$CH_DIR/users.xml</users_config>#" \
    -e "s#<mark_cache_size>5368709120</mark_cache_size>#<mark_cache_size>268435456</mark_cache_size>#" \
    /etc/clickhouse-server/config.xml >"$CH_DIR/config.xml"
  grep -q "<http_port>$CH_PORT</http_port>" "$CH_DIR/config.xml" || {
    echo "clickhouse: could not adjust /etc/clickhouse-server/config.xml (unexpected layout)" >&2
    return 1
  }
  # A second user with a password, for the tests of credentials in the URL.
  sed -e "s#</users>#    <ferry>\n            <password>ferry</password>\n            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n            <profile>default</profile>\n            <quota>default</quota>\n        </ferry>\n    </users>#" \
    /etc/clickhouse-server/users.xml >"$CH_DIR/users.xml"
}

clickhouse_up() {
  apt_install clickhouse-server clickhouse-server clickhouse-client
  if pid_alive "$CH_DIR/clickhouse.pid"; then
    echo "clickhouse: already running on 127.0.0.1:$CH_PORT"
    return 0
  fi
  clickhouse_config || return 1
  setsid nohup clickhouse-server --config-file="$CH_DIR/config.xml" >"$CH_DIR/server.out" 2>&1 &
  echo $! >"$CH_DIR/clickhouse.pid"
  if ! wait_http "http://127.0.0.1:$CH_PORT/ping" 60; then
    tail -5 "$CH_DIR/log/clickhouse-server.err.log" >&2 2>/dev/null || true
    return 1
  fi
  echo "clickhouse: running on 127.0.0.1:$CH_PORT ($(clickhouse-client --port "$CH_TCP_PORT" -q 'SELECT version()'))"
}

clickhouse_down() {
  stop_pid "$CH_DIR/clickhouse.pid" clickhouse
}

clickhouse_status() {
  if pid_alive "$CH_DIR/clickhouse.pid"; then
    echo "clickhouse: up (127.0.0.1:$CH_PORT, native $CH_TCP_PORT, pid $(head -1 "$CH_DIR/clickhouse.pid"))"
  else
    echo "clickhouse: down"
    return 1
  fi
}

clickhouse_env() {
  echo "export FERRY_TEST_CLICKHOUSE_URL=clickhouse://ferry:ferry@127.0.0.1:$CH_PORT/default"
  echo "export FERRY_TEST_CLICKHOUSE_TCP_PORT=$CH_TCP_PORT"
}
