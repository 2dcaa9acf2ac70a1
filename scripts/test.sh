#!/usr/bin/env bash
# The test suite, as CI runs it: set-up, format and lint checks, then every test of the
# workspace (unit, property and integration tests that run real node processes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> tests" >&2
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doc tests; run them first so the run ends on nextest's summary.
  cargo test --workspace --locked --doc
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
