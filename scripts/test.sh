#!/usr/bin/env bash
# synwall's whole test suite: formatting, lints, unit tests (no EAL needed), then end-to-end tests
# that run the real dataplane on DPDK TAP vdevs between network namespaces. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
step "lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "unit tests"
cargo test --workspace --quiet 2>&1 | grep -v "^$"
step "build (release)"
cargo build --release --workspace --bins --quiet
step "ops configs and end-to-end tests (DPDK TAP vdevs in network namespaces)"
/usr/bin/python3 -m pytest tests/ops tests/e2e -v -p no:cacheprovider
