# Python for tests that drive real Python clients (posthog-python) or read back what ferry wrote (deltalake, the
# Delta Lake reader of delta-rs, with pyarrow): a venv in $FERRY_SERVICES_DIR/venv holding the pinned packages from
# PyPI. Nothing runs: `up` makes the venv when missing and installs the packages when the pinned list changed; `down`
# leaves the venv in place (it is reused by the next run).

PY_VENV="$FERRY_SERVICES_DIR/venv"
# Every package the tests import, pinned exactly; add new ones here (one list, installed together).
PY_PACKAGES="posthog==7.91.1 deltalake==1.6.6 pyarrow==22.0.0"

# The python3 that makes the venv (Debian's when none is on the PATH); its path on stdout, progress on stderr.
py_base() {
  if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3 python3-venv >&2 || return 1
  fi
  # Debian ships venv's ensurepip apart, in python3-venv (a module, not a command: the empty probe always installs).
  if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt_install "" python3-venv >&2 || return 1
  fi
  command -v python3
}

python_ready() {
  [ -x "$PY_VENV/bin/python" ] && [ "$(cat "$PY_VENV/.installed" 2>/dev/null)" = "$PY_PACKAGES" ]
}

python_up() {
  if python_ready; then
    echo "python: venv ready ($PY_VENV: $PY_PACKAGES)"
    return 0
  fi
  local base start=$SECONDS
  base="$(py_base)" || return 1
  if [ ! -x "$PY_VENV/bin/python" ]; then
    "$base" -m venv "$PY_VENV" >"$FERRY_SERVICES_DIR/venv-install.log" 2>&1 || {
      echo "python: creating the venv failed (log: $FERRY_SERVICES_DIR/venv-install.log)" >&2
      return 1
    }
  fi
  echo "installing $PY_PACKAGES (pip, into $PY_VENV)..."
  # shellcheck disable=SC2086 # the list is split into its packages on purpose
  if ! "$PY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PY_PACKAGES \
    >>"$FERRY_SERVICES_DIR/venv-install.log" 2>&1; then
    echo "python: pip install $PY_PACKAGES failed (log: $FERRY_SERVICES_DIR/venv-install.log)" >&2
    tail -5 "$FERRY_SERVICES_DIR/venv-install.log" >&2
    return 1
  fi
  echo "$PY_PACKAGES" >"$PY_VENV/.installed"
  echo "python: venv ready in $((SECONDS - start)) s ($PY_VENV)"
}

python_down() {
  echo "python: nothing runs (the venv stays in $PY_VENV)"
}

python_status() {
  if python_ready; then
    echo "python: up (venv $PY_VENV: $PY_PACKAGES)"
  else
    echo "python: down (no venv with $PY_PACKAGES; scripts/services.sh up python)"
    return 1
  fi
}

python_env() {
  echo "export FERRY_TEST_PYTHON=$PY_VENV/bin/python"
}
