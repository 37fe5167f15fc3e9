# Google Cloud Storage emulator (fake-gcs-server, built with `go install` from the Go module proxy, pinned):
# http://127.0.0.1:${FERRY_GCS_PORT:-59200} (JSON API, resumable uploads), no authentication, bucket ferry-test.

GCS_PORT="${FERRY_GCS_PORT:-59200}"
GCS_DIR="$FERRY_SERVICES_DIR/gcs"
GCS_MODULE="github.com/fsouza/fake-gcs-server"
GCS_VERSION="v1.56.1"
GCS_BUCKET="ferry-test"

gcs_up() {
  go_install fake-gcs-server "$GCS_MODULE" "$GCS_VERSION" || return 1
  if pid_alive "$GCS_DIR/fake-gcs-server.pid"; then
    echo "gcs: already running on 127.0.0.1:$GCS_PORT"
    return 0
  fi
  mkdir -p "$GCS_DIR/data"
  setsid nohup "$FERRY_SERVICES_DIR/bin/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$GCS_PORT" \
    -backend filesystem -filesystem-root "$GCS_DIR/data" -public-host "127.0.0.1:$GCS_PORT" \
    -external-url "http://127.0.0.1:$GCS_PORT" -log-level warn >"$GCS_DIR/server.log" 2>&1 &
  echo $! >"$GCS_DIR/fake-gcs-server.pid"
  wait_http "http://127.0.0.1:$GCS_PORT/storage/v1/b" 60 || return 1
  local code
  code="$(curl -s -o "$GCS_DIR/create-bucket.out" -w '%{http_code}' -X POST "http://127.0.0.1:$GCS_PORT/storage/v1/b" \
    -H 'content-type: application/json' -d "{\"name\":\"$GCS_BUCKET\"}")"
  case "$code" in
    200 | 409) ;;
    *) echo "gcs: creating bucket $GCS_BUCKET failed (HTTP $code)" >&2; return 1 ;;
  esac
  echo "gcs: running on 127.0.0.1:$GCS_PORT (fake-gcs-server)"
}

gcs_down() {
  stop_pid "$GCS_DIR/fake-gcs-server.pid" gcs
}

gcs_status() {
  if pid_alive "$GCS_DIR/fake-gcs-server.pid"; then
    echo "gcs: up (127.0.0.1:$GCS_PORT, fake-gcs-server, pid $(head -1 "$GCS_DIR/fake-gcs-server.pid"))"
  else
    echo "gcs: down"
    return 1
  fi
}

gcs_env() {
  echo "export FERRY_TEST_GCS_ENDPOINT=http://127.0.0.1:$GCS_PORT"
  echo "export FERRY_TEST_GCS_BUCKET=$GCS_BUCKET"
}
