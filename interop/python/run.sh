#!/usr/bin/env bash
# Interop tests: the PyPI `rocketmq` 0.4.4 client (librocketmq, the Apache RocketMQ C++
# client) against the real `soyuz` binary.
#
#   interop/python/run.sh [test names...]     e.g. run.sh test_orderly test_offsets
#
# SOYUZ_BIN   the binary (default: target/debug/soyuz of this repository)
# PYTHON      the interpreter that makes the venv (default: python3)
#
# Creates .venv/ here on first use and reinstalls when requirements.txt changes. Test data,
# soyuz logs and the client's logs ($HOME/logs/rocketmq-cpp) go to .work/, emptied at start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"
export SOYUZ_BIN="${SOYUZ_BIN:-$HERE/../../target/debug/soyuz}"
STAMP="$VENV/.requirements.installed"

make_venv() {
  rm -rf "$VENV"
  # A Debian python3 without python3-venv has no ensurepip: then make the venv without pip
  # and install with the interpreter's own pip into a directory on PYTHONPATH.
  if [ -z "${PYRMQ_NO_ENSUREPIP:-}" ] && "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  else
    echo "run.sh: '$PY -m venv' is unusable (no ensurepip?); installing with '$PY -m pip --target'" >&2
    rm -rf "$VENV"
    "$PY" -m venv --without-pip "$VENV"
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
      echo "run.sh: $PY has neither ensurepip nor pip; install python3-venv or python3-pip" >&2
      exit 2
    fi
    "$PY" -m pip install --quiet --disable-pip-version-check --target "$VENV/site" \
      -r "$HERE/requirements.txt"
  fi
  cp "$HERE/requirements.txt" "$STAMP"
}

if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$HERE/requirements.txt" "$STAMP"; then
  echo "run.sh: setting up $VENV" >&2
  make_venv
fi
if [ -d "$VENV/site" ]; then
  export PYTHONPATH="$VENV/site${PYTHONPATH:+:$PYTHONPATH}"
fi

if [ ! -x "$SOYUZ_BIN" ]; then
  echo "run.sh: no soyuz binary at $SOYUZ_BIN (cargo build -p soyuz, or set SOYUZ_BIN)" >&2
  exit 2
fi

export PYRMQ_WORK_DIR="$HERE/.work"
rm -rf "$PYRMQ_WORK_DIR"
mkdir -p "$PYRMQ_WORK_DIR"

# The import check gives a clear message when librocketmq cannot load (a missing system
# library shows up here, not as a test failure).
"$VENV/bin/python" -c "import sys; sys.path.insert(0, '$HERE'); import soyuz_harness" || {
  echo "run.sh: the rocketmq client library does not load; see above" >&2
  exit 2
}

cd "$HERE"
exec "$VENV/bin/python" "$HERE/run_tests.py" "$@"
