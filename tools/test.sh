#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real child processes, real SQLite) and CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "python3 is needed by the local-mode tests" >&2; exit 1; }
# Open MPI, for the test of mpirun across a job's hosts (skipped where it cannot be had).
if ! command -v mpirun >/dev/null && command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    { $sudo apt-get install -y -q openmpi-bin >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 \
             && $sudo apt-get install -y -q openmpi-bin >/dev/null 2>&1; }; } \
        || echo "note: openmpi-bin could not be installed; the mpirun test is skipped" >&2
fi
cargo test --all-targets
