#!/usr/bin/env bash
# Installs the Debian 12 packages cfgit needs, when they are missing.
#   scripts/deps.sh          build dependencies (compiler, libraries, sqlite3, git)
#   scripts/deps.sh --test   the same plus what the tests use (PostgreSQL 15 server)
#   scripts/deps.sh [--test] PACKAGE...   and those packages too (the benchmark's)
set -euo pipefail

packages=(cmake g++ make pkg-config git ca-certificates
          libgit2-dev libpqxx-dev libyaml-cpp-dev libcli11-dev libxxhash-dev catch2
          zlib1g-dev libssl-dev libkrb5-dev
          libsqlite3-dev sqlite3)
for a in "$@"; do
  case "$a" in
    --test) packages+=(postgresql) ;;
    -*) echo "usage: scripts/deps.sh [--test] [PACKAGE...] (unknown option: $a)" >&2; exit 2 ;;
    *) packages+=("$a") ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "error: missing packages (${missing[*]}) and no root or sudo to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
