# MariaDB from Debian's packages: 127.0.0.1:${FERRY_MYSQL_PORT:-33306}, user ferry/ferry, database ferry_test.

MY_PORT="${FERRY_MYSQL_PORT:-33306}"
MY_DIR="$FERRY_SERVICES_DIR/mariadb"

mariadb_up() {
  apt_install mariadbd mariadb-server
  if pid_alive "$MY_DIR/mariadb.pid"; then
    echo "mariadb: already running on 127.0.0.1:$MY_PORT"
    return 0
  fi
  local user
  user="$(id -un)"
  id mysql >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && user=mysql
  mkdir -p "$MY_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$user" "$MY_DIR"
  if [ ! -d "$MY_DIR/data/mysql" ]; then
    mariadb-install-db --user="$user" --datadir="$MY_DIR/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$MY_DIR/install.log" 2>&1
  fi
  # Started in the background; its PID file is what `down` stops.
  setsid nohup mariadbd --no-defaults --user="$user" --datadir="$MY_DIR/data" --bind-address=127.0.0.1 \
    --port="$MY_PORT" --socket="$MY_DIR/mariadb.sock" --pid-file="$MY_DIR/mariadb.pid" \
    --log-error="$MY_DIR/server.log" --innodb-flush-log-at-trx-commit=2 --max-connections=200 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci >/dev/null 2>&1 &
  wait_port "$MY_PORT" 60 || return 1
  for _ in $(seq 1 50); do [ -f "$MY_DIR/mariadb.pid" ] && break; sleep 0.2; done
  mariadb --no-defaults -uroot --socket="$MY_DIR/mariadb.sock" -e "
    CREATE USER IF NOT EXISTS 'ferry'@'127.0.0.1' IDENTIFIED BY 'ferry';
    CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY 'ferry';
    CREATE DATABASE IF NOT EXISTS ferry_test CHARACTER SET utf8mb4;
    GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'127.0.0.1' WITH GRANT OPTION;
    GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'localhost' WITH GRANT OPTION;
    FLUSH PRIVILEGES;"
  echo "mariadb: running on 127.0.0.1:$MY_PORT"
}

mariadb_down() {
  stop_pid "$MY_DIR/mariadb.pid" mariadb
}

mariadb_status() {
  if pid_alive "$MY_DIR/mariadb.pid"; then
    echo "mariadb: up (127.0.0.1:$MY_PORT, pid $(head -1 "$MY_DIR/mariadb.pid"))"
  else
    echo "mariadb: down"
    return 1
  fi
}

mariadb_env() {
  echo "export FERRY_TEST_MYSQL_URL=mysql://ferry:ferry@127.0.0.1:$MY_PORT/ferry_test"
}
