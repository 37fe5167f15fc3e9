# Stripe's own mock server (stripe-mock, built with `go install` from the Go module proxy, pinned):
# http://127.0.0.1:${FERRY_STRIPE_MOCK_PORT:-59300}; answers every documented endpoint from Stripe's OpenAPI spec and
# fixtures, takes any `sk_test_...` key (Authorization: Bearer), lists return one object with has_more: false.

STRIPE_MOCK_PORT="${FERRY_STRIPE_MOCK_PORT:-59300}"
STRIPE_MOCK_HTTPS_PORT="${FERRY_STRIPE_MOCK_HTTPS_PORT:-59301}"
STRIPE_MOCK_DIR="$FERRY_SERVICES_DIR/stripe-mock"
STRIPE_MOCK_MODULE="github.com/stripe/stripe-mock"
STRIPE_MOCK_VERSION="v0.203.0"

stripe-mock_up() {
  go_install stripe-mock "$STRIPE_MOCK_MODULE" "$STRIPE_MOCK_VERSION" || return 1
  if pid_alive "$STRIPE_MOCK_DIR/stripe-mock.pid"; then
    echo "stripe-mock: already running on 127.0.0.1:$STRIPE_MOCK_PORT"
    return 0
  fi
  mkdir -p "$STRIPE_MOCK_DIR"
  setsid nohup "$FERRY_SERVICES_DIR/bin/stripe-mock" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" \
    -https-addr "127.0.0.1:$STRIPE_MOCK_HTTPS_PORT" >"$STRIPE_MOCK_DIR/server.log" 2>&1 &
  echo $! >"$STRIPE_MOCK_DIR/stripe-mock.pid"
  # Any test key is accepted; a list endpoint answering 200 means the spec and fixtures are loaded.
  local i
  for i in $(seq 1 150); do
    if curl -sf -o /dev/null --max-time 2 -H "Authorization: Bearer sk_test_ferry" \
      "http://127.0.0.1:$STRIPE_MOCK_PORT/v1/customers"; then
      echo "stripe-mock: running on 127.0.0.1:$STRIPE_MOCK_PORT ($STRIPE_MOCK_VERSION)"
      return 0
    fi
    pid_alive "$STRIPE_MOCK_DIR/stripe-mock.pid" || break
    sleep 0.2
  done
  echo "stripe-mock: did not answer on 127.0.0.1:$STRIPE_MOCK_PORT (log: $STRIPE_MOCK_DIR/server.log)" >&2
  tail -5 "$STRIPE_MOCK_DIR/server.log" >&2
  return 1
}

stripe-mock_down() {
  stop_pid "$STRIPE_MOCK_DIR/stripe-mock.pid" stripe-mock
}

stripe-mock_status() {
  if pid_alive "$STRIPE_MOCK_DIR/stripe-mock.pid"; then
    echo "stripe-mock: up (127.0.0.1:$STRIPE_MOCK_PORT, pid $(head -1 "$STRIPE_MOCK_DIR/stripe-mock.pid"))"
  else
    echo "stripe-mock: down"
    return 1
  fi
}

stripe-mock_env() {
  echo "export FERRY_TEST_STRIPE_MOCK_URL=http://127.0.0.1:$STRIPE_MOCK_PORT"
}
