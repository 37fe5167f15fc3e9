# Temporal dev server (`temporal server start-dev` from the temporal CLI, built with `go install` from the Go module
# proxy, pinned): frontend on 127.0.0.1:${FERRY_TEMPORAL_PORT:-57233}, namespace ferry-test (plus default), state in
# an SQLite file under $FERRY_SERVICES_DIR/temporal. The binary is kept in $FERRY_SERVICES_DIR/bin and rebuilt only
# when the pin changes (the first build takes a few minutes and a few GB of Go cache).
# v1.5.1 (Temporal Server 1.29.1) is the newest tag that builds with `go install`: later tags carry a local `replace`
# directive in their go.mod. Eager activity execution is on (the worker that completes a workflow task gets its next
# activity in the answer, one poll saved per step), as production clusters can set it.

TEMPORAL_PORT="${FERRY_TEMPORAL_PORT:-57233}"
TEMPORAL_HTTP_PORT="${FERRY_TEMPORAL_HTTP_PORT:-57243}"
TEMPORAL_METRICS_PORT="${FERRY_TEMPORAL_METRICS_PORT:-57253}"
TEMPORAL_UI_PORT="${FERRY_TEMPORAL_UI_PORT:-57263}"
TEMPORAL_DIR="$FERRY_SERVICES_DIR/temporal"
TEMPORAL_MODULE="github.com/temporalio/cli/cmd/temporal"
TEMPORAL_VERSION="v1.5.1"
TEMPORAL_NAMESPACE="ferry-test"

temporal_healthy() {
  "$FERRY_SERVICES_DIR/bin/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null |
    grep -q SERVING
}

temporal_up() {
  go_install temporal "$TEMPORAL_MODULE" "$TEMPORAL_VERSION" || return 1
  if pid_alive "$TEMPORAL_DIR/temporal.pid"; then
    echo "temporal: already running on 127.0.0.1:$TEMPORAL_PORT"
    return 0
  fi
  mkdir -p "$TEMPORAL_DIR"
  setsid nohup "$FERRY_SERVICES_DIR/bin/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --http-port "$TEMPORAL_HTTP_PORT" --metrics-port "$TEMPORAL_METRICS_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$TEMPORAL_DIR/dev.sqlite" --namespace "$TEMPORAL_NAMESPACE" --headless --log-level warn \
    --dynamic-config-value system.enableActivityEagerExecution=true \
    >"$TEMPORAL_DIR/server.log" 2>&1 &
  echo $! >"$TEMPORAL_DIR/temporal.pid"
  for _ in $(seq 1 300); do
    if temporal_healthy; then
      echo "temporal: running on 127.0.0.1:$TEMPORAL_PORT (dev server $TEMPORAL_VERSION, namespace $TEMPORAL_NAMESPACE)"
      return 0
    fi
    pid_alive "$TEMPORAL_DIR/temporal.pid" || break
    sleep 0.2
  done
  echo "temporal: did not become healthy (log: $TEMPORAL_DIR/server.log)" >&2
  tail -5 "$TEMPORAL_DIR/server.log" >&2
  return 1
}

temporal_down() {
  stop_pid "$TEMPORAL_DIR/temporal.pid" temporal
}

temporal_status() {
  if pid_alive "$TEMPORAL_DIR/temporal.pid"; then
    echo "temporal: up (127.0.0.1:$TEMPORAL_PORT, pid $(head -1 "$TEMPORAL_DIR/temporal.pid"))"
  else
    echo "temporal: down"
    return 1
  fi
}

temporal_env() {
  echo "export FERRY_TEST_TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT"
  echo "export FERRY_TEST_TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE"
  echo "export FERRY_TEST_TEMPORAL_BIN=$FERRY_SERVICES_DIR/bin/temporal"
}
