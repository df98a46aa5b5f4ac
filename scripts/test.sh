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
step "module graph: no cycles between the modules of a crate (scripts/modcycles.py)"
for src in dataplane/types/src dataplane/config/src dataplane/engine/src dataplane/daemon/src \
  dataplane/testkit/src control/src perf/src; do
  python3 scripts/modcycles.py "$src" --depth 2
done
step "unit tests"
cargo test --workspace --quiet 2>&1 | grep -v "^$"
step "fuzz: the targets' own tests, then ${FUZZ_SECONDS:=20} s of libFuzzer per target (fuzz/README.md)"
(
  cd fuzz
  cargo fmt -- --check
  # Unoptimized, in the workspace's target folder: the unit tests above built the engine's
  # dependencies already.
  CARGO_TARGET_DIR=../target cargo test --locked --quiet 2>&1 | grep -v "^$"
  cargo fuzz build -s none 2>&1 | grep -E -A20 "^(error|warning)|Finished"
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  for target in parse engine config; do
    # New inputs go to the scratch corpus; the committed seeds are only read.
    mkdir "$corpus/$target"
    cargo fuzz run -s none "$target" "$corpus/$target" "seeds/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 2>&1 |
      grep -E "^(Done|stat::number_of_executed_units)|panicked|SUMMARY|artifact"
  done
)
step "build (release)"
cargo build --release --workspace --bins --quiet
step "ops configs and end-to-end tests (DPDK TAP vdevs in network namespaces)"
/usr/bin/python3 -m pytest tests/ops tests/e2e -v -p no:cacheprovider
