#!/usr/bin/env bash
# install-deps.sh — makes sure the Debian packages vitc builds and tests with are installed.
# Installs the missing ones when run as root; otherwise prints the command and fails.
set -euo pipefail

packages=(cmake make gcc pkg-config llvm-16-dev libprotobuf-c-dev protobuf-c-compiler libffi-dev
          libonnx-dev zlib1g-dev python3 python3-onnx python3-numpy
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user   # make cross-aarch64
          clang-16 libclang-rt-16-dev)                             # make fuzz

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
