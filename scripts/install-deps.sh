#!/bin/sh
# Installs what vidit needs from Debian's packages. Idempotent: installs only
# what is missing, with sudo when not root.
set -eu
pkgs="build-essential pkg-config libopenblas-openmp-dev libavformat-dev libavcodec-dev
libswscale-dev libavutil-dev ffmpeg clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: everything is installed"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
