# S3-compatible server (MinIO, built with `go install` from the Go module proxy, pinned):
# 127.0.0.1:${FERRY_S3_PORT:-59000}, access key ferry-minio / secret ferry-minio-secret, bucket ferry-test.
# The binary is kept in $FERRY_SERVICES_DIR/bin (rebuilt only when the pinned version changes).

S3_PORT="${FERRY_S3_PORT:-59000}"
S3_CONSOLE_PORT="${FERRY_S3_CONSOLE_PORT:-59001}"
S3_DIR="$FERRY_SERVICES_DIR/s3"
S3_MINIO_MODULE="github.com/minio/minio"
# MinIO has no semver tags on the module proxy: this is the pseudo-version of its 2026-02-12 commit.
S3_MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
S3_ACCESS_KEY="ferry-minio"
S3_SECRET_KEY="ferry-minio-secret"
S3_BUCKET="ferry-test"

s3_up() {
  go_install minio "$S3_MINIO_MODULE" "$S3_MINIO_VERSION" || return 1
  if pid_alive "$S3_DIR/minio.pid"; then
    echo "s3: already running on 127.0.0.1:$S3_PORT"
    return 0
  fi
  mkdir -p "$S3_DIR/data"
  MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_BROWSER=off \
    MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    setsid nohup "$FERRY_SERVICES_DIR/bin/minio" server "$S3_DIR/data" --quiet --address "127.0.0.1:$S3_PORT" \
    --console-address "127.0.0.1:$S3_CONSOLE_PORT" >"$S3_DIR/server.log" 2>&1 &
  echo $! >"$S3_DIR/minio.pid"
  wait_http "http://127.0.0.1:$S3_PORT/minio/health/ready" 60 || return 1
  # Create the test bucket (409 when it exists). curl signs the request itself (SigV4).
  local code
  code="$(curl -s -o "$S3_DIR/create-bucket.out" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://127.0.0.1:$S3_PORT/$S3_BUCKET")"
  case "$code" in
    200 | 409) ;;
    *) echo "s3: creating bucket $S3_BUCKET failed (HTTP $code)" >&2; return 1 ;;
  esac
  echo "s3: running on 127.0.0.1:$S3_PORT (MinIO)"
}

s3_down() {
  stop_pid "$S3_DIR/minio.pid" s3
}

s3_status() {
  if pid_alive "$S3_DIR/minio.pid"; then
    echo "s3: up (127.0.0.1:$S3_PORT, MinIO, pid $(head -1 "$S3_DIR/minio.pid"))"
  else
    echo "s3: down"
    return 1
  fi
}

s3_env() {
  echo "export FERRY_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "export FERRY_TEST_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY"
  echo "export FERRY_TEST_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY"
  echo "export FERRY_TEST_S3_BUCKET=$S3_BUCKET"
}
