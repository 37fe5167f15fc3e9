# Azure Blob Storage emulator (Azurite, from npm, pinned; installed into $FERRY_SERVICES_DIR, not the project):
# blob endpoint http://127.0.0.1:${FERRY_AZURITE_PORT:-59100}/devstoreaccount1, Azurite's well-known development
# account, container ferry-test.

AZ_PORT="${FERRY_AZURITE_PORT:-59100}"
AZ_DIR="$FERRY_SERVICES_DIR/azurite"
# 3.35.0 is the newest Azurite that supports Node 20 (3.36 needs Node 21, 3.37 Node 22).
AZ_VERSION="azurite@3.35.0"
AZ_ACCOUNT="devstoreaccount1"
# Azurite's published development key (the same for every Azurite install; not a secret).
AZ_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZ_CONTAINER="ferry-test"

# azurite_create_container <name>: PUT ?restype=container signed with the account key (SharedKey); 201 or 409.
azurite_create_container() {
  local name="$1" date version="2021-08-06" hexkey sig code
  date="$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')"
  hexkey="$(printf '%s' "$AZ_KEY" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  sig="$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s/%s/%s\nrestype:container' \
    "$date" "$version" "$AZ_ACCOUNT" "$AZ_ACCOUNT" "$name" |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0)"
  code="$(curl -s -o "$AZ_DIR/create-container.out" -w '%{http_code}' -X PUT \
    "http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT/$name?restype=container" -H "x-ms-date: $date" \
    -H "x-ms-version: $version" -H "Content-Length: 0" -H "Authorization: SharedKey $AZ_ACCOUNT:$sig")"
  case "$code" in
    201 | 409) return 0 ;;
    *) echo "azurite: creating container $name failed (HTTP $code)" >&2; return 1 ;;
  esac
}

azurite_up() {
  npm_install_tool "$AZ_DIR/pkg" "$AZ_VERSION" || return 1
  if pid_alive "$AZ_DIR/azurite.pid"; then
    echo "azurite: already running on 127.0.0.1:$AZ_PORT"
    return 0
  fi
  mkdir -p "$AZ_DIR/data"
  # --skipApiVersionCheck: SDKs newer than this Azurite send API versions it does not know yet.
  setsid nohup node "$AZ_DIR/pkg/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" \
    --location "$AZ_DIR/data" --skipApiVersionCheck --disableTelemetry --loose \
    >"$AZ_DIR/server.log" 2>&1 &
  echo $! >"$AZ_DIR/azurite.pid"
  wait_port "$AZ_PORT" 60 || return 1
  azurite_create_container "$AZ_CONTAINER" || return 1
  echo "azurite: running on 127.0.0.1:$AZ_PORT"
}

azurite_down() {
  stop_pid "$AZ_DIR/azurite.pid" azurite
}

azurite_status() {
  if pid_alive "$AZ_DIR/azurite.pid"; then
    echo "azurite: up (127.0.0.1:$AZ_PORT, pid $(head -1 "$AZ_DIR/azurite.pid"))"
  else
    echo "azurite: down"
    return 1
  fi
}

azurite_env() {
  echo "export FERRY_TEST_AZURE_ENDPOINT=http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT"
  echo "export FERRY_TEST_AZURE_ACCOUNT_NAME=$AZ_ACCOUNT"
  echo "export FERRY_TEST_AZURE_ACCOUNT_KEY=$AZ_KEY"
  echo "export FERRY_TEST_AZURE_CONTAINER=$AZ_CONTAINER"
}
