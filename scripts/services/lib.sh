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

# wait_http <url> <seconds>: until the URL answers with a 2xx status.
wait_http() {
  local url="$1" secs="${2:-30}"
  for _ in $(seq 1 $((secs * 5))); do
    if curl -sf -o /dev/null --max-time 2 "$url"; then return 0; fi
    sleep 0.2
  done
  return 1
}

# go_install <binary> <module> <version>: builds a pinned Go program into $FERRY_SERVICES_DIR/bin with `go install`
# (from the Go module proxy); does nothing when that version is already there.
go_install() {
  local bin="$1" module="$2" version="$3" dest="$FERRY_SERVICES_DIR/bin"
  if [ -x "$dest/$bin" ] && [ "$(cat "$dest/$bin.version" 2>/dev/null)" = "$module@$version" ]; then return 0; fi
  local go
  go="$(command -v go || echo /usr/local/go/bin/go)"
  if [ ! -x "$go" ]; then
    echo "$bin: needs Go to build $module@$version" >&2
    return 1
  fi
  echo "installing $bin ($module@$version, go install; a few minutes the first time)..."
  mkdir -p "$dest"
  local start=$SECONDS
  if ! GOBIN="$dest" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 \
    "$go" install "$module@$version" >"$FERRY_SERVICES_DIR/$bin-install.log" 2>&1; then
    echo "$bin: go install failed (log: $FERRY_SERVICES_DIR/$bin-install.log)" >&2
    tail -5 "$FERRY_SERVICES_DIR/$bin-install.log" >&2
    return 1
  fi
  echo "$module@$version" >"$dest/$bin.version"
  echo "$bin: built in $((SECONDS - start)) s"
}

# npm_install_tool <dir> <package@version>: installs an npm package into its own folder (not the project's
# dependencies); does nothing when that version is already there.
npm_install_tool() {
  local dir="$1" spec="$2"
  if [ "$(cat "$dir/.installed" 2>/dev/null)" = "$spec" ]; then return 0; fi
  echo "installing $spec (npm, into $dir)..."
  mkdir -p "$dir"
  local start=$SECONDS
  if ! (cd "$dir" && npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "$spec" \
    >"$dir/install.log" 2>&1); then
    echo "npm install $spec failed (log: $dir/install.log)" >&2
    tail -5 "$dir/install.log" >&2
    return 1
  fi
  echo "$spec" >"$dir/.installed"
  echo "$spec: installed in $((SECONDS - start)) s"
}
