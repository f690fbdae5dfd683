#!/usr/bin/env bash
# Renders assets/icon.svg into the PNG sizes a desktop looks for, as a hicolor theme tree
# under the folder given (default packaging/build/icons), and the window's own icon
# (assets/icon-256.png) when asked with --window. Needs rsvg-convert (Debian:
# librsvg2-bin), installed with apt-get when missing and this user may.
set -euo pipefail
cd "$(dirname "$0")/.."

out="packaging/build/icons"
window=0
while [ $# -gt 0 ]; do
    case "$1" in
        --window) window=1 ;;
        *) out="$1" ;;
    esac
    shift
done

if ! command -v rsvg-convert >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "installing librsvg2-bin for rsvg-convert…" >&2
        apt-get install -y -qq librsvg2-bin >/dev/null
    else
        echo "rsvg-convert is needed to render the icons: install librsvg2-bin" >&2
        exit 1
    fi
fi

for size in 16 24 32 48 64 128 256 512; do
    dir="$out/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    rsvg-convert --width "$size" --height "$size" assets/icon.svg -o "$dir/sagedesk.png"
done
mkdir -p "$out/hicolor/scalable/apps"
cp assets/icon.svg "$out/hicolor/scalable/apps/sagedesk.svg"
if [ "$window" = 1 ]; then
    rsvg-convert --width 256 --height 256 assets/icon.svg -o assets/icon-256.png
fi
