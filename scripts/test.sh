#!/usr/bin/env bash
# The test command: installs what is missing, builds the debug preset (ASan + UBSan) with -j2,
# starts a throwaway PostgreSQL server (scripts/with-postgres.sh) and runs the whole suite with
# ctest against it and against SQLite files. Extra arguments go to ctest (e.g. -R store_tests).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh --test
cmake --preset debug >/dev/null
cmake --build --preset debug
# The PostgreSQL tests fail, rather than skip, when the server is missing.
export CFGIT_REQUIRE_PG=1
scripts/with-postgres.sh ctest --preset debug -j2 "$@"
