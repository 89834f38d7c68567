#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests.
# Installs nothing system-wide; needs only Rust (and, for later suites, Python 3).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

echo "== cargo test"
cargo test --locked
