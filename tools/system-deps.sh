#!/usr/bin/env bash
# Installs the system packages Abi's tests use: PoCL (OpenCL on the CPU) and the Wasm
# toolchains that rebuild the first-party plugins from source. Needs root and apt-get;
# elsewhere it prints what is missing and carries on (the platform itself runs without them).
set -euo pipefail

packages=(ocl-icd-libopencl1 pocl-opencl-icd clang lld wasi-libc libclang-rt-14-dev-wasm32
          rustc libstd-rust-dev-wasm32 wrk)
# Real PostgreSQL and Redis servers for the multi-node tests (tests/integration/test_multinode.py).
packages+=(postgresql redis-server)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js + npm run the pinned AssemblyScript compiler (plugin-sdk/assemblyscript); any
# install that provides both commands will do (Debian's packages or NodeSource's).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
