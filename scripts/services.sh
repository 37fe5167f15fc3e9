#!/usr/bin/env bash
# Test servers for ferry's integration tests, on 127.0.0.1 only.
#
#   scripts/services.sh up [name...]      install (Debian packages) if missing, start, create the test user/db
#   scripts/services.sh down [name...]    stop by PID
#   scripts/services.sh status [name...]  one line per service; exit 1 if any is down
#   scripts/services.sh env               the connection settings tests read (eval-able)
#
# Servers run in their own session (setsid), so they outlive the shell that started them.
# Each service is one file in scripts/services/<name>.sh defining <name>_up, <name>_down, <name>_status and
# <name>_env. Idempotent: `up` on a running service does nothing. Data and logs live in $FERRY_SERVICES_DIR
# (default /tmp/ferry-services), never in the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export FERRY_SERVICES_DIR="${FERRY_SERVICES_DIR:-/tmp/ferry-services}"
mkdir -p "$FERRY_SERVICES_DIR"
chmod 755 "$FERRY_SERVICES_DIR"

# shellcheck source=/dev/null
for f in "$here"/services/*.sh; do . "$f"; done

ALL_SERVICES=()
for f in "$here"/services/*.sh; do
  n="$(basename "$f" .sh)"
  [ "$n" = "lib" ] || ALL_SERVICES+=("$n")
done

cmd="${1:-status}"
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL_SERVICES[@]}")

rc=0
for n in "${names[@]}"; do
  if ! declare -F "${n}_up" >/dev/null; then
    echo "unknown service '$n' (known: ${ALL_SERVICES[*]})" >&2
    exit 2
  fi
  case "$cmd" in
    up) "${n}_up" || { echo "$n: failed to start (logs in $FERRY_SERVICES_DIR/$n)" >&2; rc=1; } ;;
    down) "${n}_down" || rc=1 ;;
    status) "${n}_status" || rc=1 ;;
    env) "${n}_env" ;;
    *) echo "usage: $0 up|down|status|env [service...]" >&2; exit 2 ;;
  esac
done
exit $rc
