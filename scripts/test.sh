#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests.
# Installs nothing system-wide; needs Rust and Python 3 (for moto's server).
set -euo pipefail
cd "$(dirname "$0")/.."

# moto's server for the AWS tests, in a virtualenv outside the clone so runs can share it.
MOTO_VERSION=5.2.5
VENV="${EKAS_VENV:-/var/tmp/ekas-venv}"
if ! "$VENV/bin/python" -c "import sys, moto; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "== installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
export EKAS_MOTO_SERVER="$VENV/bin/moto_server"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== docs (README length, links, the IAM page quoting deploy/)"
./scripts/check-docs.sh

echo "== no module depends on itself through others"
python3 scripts/check-module-cycles.py

echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --locked --workspace
