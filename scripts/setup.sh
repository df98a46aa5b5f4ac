#!/usr/bin/env bash
# Installs what synwall needs to build, run and test on Debian 12, idempotently (only what is
# missing is installed). Run as root.
set -euo pipefail

PACKAGES=(
  # build: DPDK 22.11, bindgen's libclang, pkg-config
  dpdk dpdk-dev libdpdk-dev libpcap-dev clang libclang-dev pkg-config gcc
  # fuzzing: libFuzzer (built by the libfuzzer-sys crate) is C++
  g++
  # run and test: namespaces, real clients and servers, probes
  iproute2 iputils-ping curl netcat-openbsd hping3 nmap dnsutils tcpdump python3 python3-pytest
  util-linux procps
  # control: a real Prometheus server and promtool for the tests
  prometheus
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (apt-get, network namespaces and DPDK need it)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services (prometheus) on this machine.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust (>= 1.77) is needed: install it with rustup (https://rustup.rs), then run again" >&2
    exit 1
  fi
fi
# Fuzzing (fuzz/README.md): cargo-fuzz drives libFuzzer on the stable toolchain (`-s none`: no
# sanitizer, which would need nightly). Built from crates.io, about 30 s on 2 cores.
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "setup: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --quiet
fi
echo "setup: ok ($(cargo --version), DPDK $(pkg-config --modversion libdpdk), $(cargo fuzz --version))"
