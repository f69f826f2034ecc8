#!/usr/bin/env bash
# The test command: installs what is missing, builds the debug preset (ASan + UBSan) with -j2,
# and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh --test
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug -j2 "$@"
