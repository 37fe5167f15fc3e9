# Helpers shared by the service files (sourced by scripts/services.sh).

# apt_install <command-to-find> <debian-package...>: installs the packages when the command is missing.
apt_install() {
  local probe="$1"
  shift
  if command -v "$probe" >/dev/null 2>&1 || [ -x "$probe" ]; then return 0; fi
  echo "installing $* (Debian packages)..."
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" >"$FERRY_SERVICES_DIR/apt.log" 2>&1 || {
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >>"$FERRY_SERVICES_DIR/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" >>"$FERRY_SERVICES_DIR/apt.log" 2>&1
  }
}

# pid_alive <pidfile>: the process in the file runs.
pid_alive() {
  [ -f "$1" ] && kill -0 "$(head -1 "$1")" 2>/dev/null
}

# stop_pid <pidfile> [name]: TERM, wait up to 20 s, then KILL; removes the file.
stop_pid() {
  local file="$1" name="${2:-service}"
  if ! pid_alive "$file"; then
    rm -f "$file"
    echo "$name: not running"
    return 0
  fi
  local pid
  pid="$(head -1 "$file")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
  echo "$name: stopped"
}

# wait_port <port> <seconds>: until something accepts TCP connections on 127.0.0.1:<port>.
wait_port() {
  local port="$1" secs="${2:-30}"
  for _ in $(seq 1 $((secs * 5))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}
