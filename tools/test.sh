#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real child processes, real SQLite) and CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "python3 is needed by the local-mode tests" >&2; exit 1; }
cargo test --all-targets
