#!/bin/sh
# Install the Debian packages qkc needs to build, test and run its demo.
# Idempotent: installs only what is missing, and does nothing (no apt-get
# update, no root needed) when everything is present.
set -eu

PKGS="cmake ninja-build pkg-config llvm-19-dev lld-19 clang-19 libclang-rt-19-dev \
re2c libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev \
python3-onnx python3-numpy python3-torch python3-torchvision qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
graphviz"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
