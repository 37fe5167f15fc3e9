# Debian's chromium, the real browser the dashboard tests (test/integration/ui-*.test.ts) drive with playwright-core
# (which cannot download its own browser here). Nothing runs: `up` installs the package when missing; the tests start
# and stop their own headless browser.

CHROMIUM_BIN="${FERRY_CHROMIUM:-/usr/bin/chromium}"

chromium_up() {
  if [ -x "$CHROMIUM_BIN" ]; then
    echo "chromium: installed ($CHROMIUM_BIN)"
    return 0
  fi
  apt_install "$CHROMIUM_BIN" chromium || return 1
  [ -x "$CHROMIUM_BIN" ] || {
    echo "chromium: apt-get install chromium left no $CHROMIUM_BIN (log: $FERRY_SERVICES_DIR/apt.log)" >&2
    return 1
  }
  echo "chromium: installed ($("$CHROMIUM_BIN" --version 2>/dev/null || echo "$CHROMIUM_BIN"))"
}

chromium_down() {
  echo "chromium: nothing runs (the tests start and stop their own browser)"
}

chromium_status() {
  if [ -x "$CHROMIUM_BIN" ]; then
    echo "chromium: up ($CHROMIUM_BIN)"
  else
    echo "chromium: down (not installed; scripts/services.sh up chromium)"
    return 1
  fi
}

chromium_env() {
  echo "export FERRY_TEST_CHROMIUM=$CHROMIUM_BIN"
}
