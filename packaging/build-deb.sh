#!/usr/bin/env bash
# Builds the .deb: the binary (profile `dist` by default: debug info stripped by the
# profile, symbol names kept so crash reports say where, fat LTO), the desktop
# entry, the AppStream metainfo and the icons (scalable SVG and PNG sizes rendered from
# it). cargo-deb is installed from crates.io under ~/.cache/sagedesk/tools when missing.
#
#   packaging/build-deb.sh [--profile P] [--no-build] [--fast] [--output DIR]
#
# Prints the path of the .deb it made.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=dist
output=packaging/build
deb_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift ;;
        --output) output="$2"; shift ;;
        --no-build|--fast) deb_args+=("$1") ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

tools="${SAGEDESK_TOOLS:-$HOME/.cache/sagedesk/tools}"
export PATH="$tools/bin:$PATH"
if ! cargo deb --version >/dev/null 2>&1; then
    echo "installing cargo-deb into $tools…" >&2
    cargo install cargo-deb --version 3.8.0 --locked --quiet --root "$tools"
fi

bash packaging/icons.sh packaging/build/icons
mkdir -p "$output"
# The release profiles strip debug info and keep symbol names; other profiles (a test
# build) are stripped here, symbols and all, as they carry full debug info.
case "$profile" in
    release|dist) strip=--no-strip ;;
    *) strip=--strip ;;
esac
cargo deb --profile "$profile" "$strip" --quiet --output "$output" "${deb_args[@]}" \
    | tail -n 1
