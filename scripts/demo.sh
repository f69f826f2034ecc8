#!/usr/bin/env bash
# The demo: installs what is missing, builds cfgit (release, -j2), then runs a short session on
# a small NocoBase-shaped SQLite configuration database in a temporary workspace.
#   scripts/demo.sh            keep nothing (the workspace is removed at the end)
#   scripts/demo.sh DIR        leave the workspace in DIR to explore it afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target cfgit
cfgit="$root/build/release/cfgit"

if [[ $# -ge 1 ]]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"
if [[ -e cfgit.yaml || -e .cfgit ]]; then
  echo "error: $work already holds a cfgit workspace; give an empty directory" >&2
  exit 2
fi
export CFGIT_AUTHOR_NAME="Demo Developer" CFGIT_AUTHOR_EMAIL="dev@example.com"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A development database with NocoBase-shaped configuration tables"
sqlite3 dev.db <<'SQL'
CREATE TABLE collections (name VARCHAR(255) PRIMARY KEY, title VARCHAR(255), options TEXT);
CREATE TABLE fields (key VARCHAR(255) PRIMARY KEY, collectionName VARCHAR(255) NOT NULL
  REFERENCES collections(name) ON DELETE CASCADE, name VARCHAR(255), type VARCHAR(255),
  options TEXT, UNIQUE (collectionName, name));
CREATE TABLE uiSchemas ("x-uid" VARCHAR(255) PRIMARY KEY, name VARCHAR(255), schema TEXT);
CREATE TABLE uiSchemaTreePath (ancestor VARCHAR(255), descendant VARCHAR(255), depth INTEGER);
CREATE TABLE roles (name VARCHAR(255) PRIMARY KEY, title VARCHAR(255), "default" BOOLEAN DEFAULT 0);
CREATE TABLE rolesResources (id INTEGER PRIMARY KEY AUTOINCREMENT, roleName VARCHAR(255)
  REFERENCES roles(name), name VARCHAR(255), usingActionsConfig BOOLEAN, UNIQUE (roleName, name));
CREATE TABLE workflows (id INTEGER PRIMARY KEY, title TEXT, enabled BOOLEAN, executed INTEGER DEFAULT 0);
CREATE TABLE logs (id INTEGER PRIMARY KEY, message TEXT);
INSERT INTO collections VALUES ('users', 'Users', '{"sortable":true,"logging":true}'),
  ('orders', 'Orders', '{"sortable":false}');
INSERT INTO fields VALUES ('f_email', 'users', 'email', 'string', '{"uiSchema":{"title":"Email","x-component":"Input"}}'),
  ('f_total', 'orders', 'total', 'decimal', '{"uiSchema":{"title":"Total"},"precision":2}');
INSERT INTO uiSchemas VALUES ('page1', 'orders-page', '{"type":"void","x-component":"Page","title":"Orders"}'),
  ('grid1', 'orders-grid', '{"type":"void","x-component":"Grid"}');
INSERT INTO uiSchemaTreePath VALUES ('page1', 'page1', 0), ('page1', 'grid1', 1), ('grid1', 'grid1', 0);
INSERT INTO roles VALUES ('admin', 'Admin', 0), ('member', 'Member', 1);
INSERT INTO rolesResources (roleName, name, usingActionsConfig) VALUES ('member', 'orders', 1), ('admin', 'users', 0);
INSERT INTO workflows VALUES (1, 'Notify on new order', 1, 42);
INSERT INTO logs VALUES (1, 'runtime noise, never versioned');
SQL
echo "dev.db: $(sqlite3 dev.db "SELECT count(*) FROM sqlite_schema WHERE type='table'") tables"

step "Create a workspace and register the database as environment 'dev'"
run "$cfgit" init
cat >> cfgit.yaml <<'YAML'
  logs:           { rule: skip }
  uiSchemas:      { json: [schema] }
  rolesResources: { key: [roleName, name] }
  workflows:      { ignore: [executed] }
YAML
run "$cfgit" env add dev sqlite:dev.db
run "$cfgit" env list

step "Snapshot dev"
run "$cfgit" commit dev -m "Initial configuration"
run "$cfgit" commit dev -m "Nothing changed yet"

step "Change configuration in dev: a new field, a renamed page, a revoked permission"
sqlite3 dev.db <<'SQL'
INSERT INTO fields VALUES ('f_status', 'orders', 'status', 'string', '{"uiSchema":{"title":"Status"}}');
UPDATE uiSchemas SET schema = '{"type":"void","x-component":"Page","title":"All orders"}' WHERE "x-uid" = 'page1';
DELETE FROM rolesResources WHERE roleName = 'admin' AND name = 'users';
UPDATE workflows SET executed = 43;  -- an ignored runtime counter: not a change
SQL
run "$cfgit" commit dev -m "Orders: status field, page title; admin loses users"

step "Read the history"
run "$cfgit" log
run "$cfgit" show dev
run "$cfgit" tag v1 dev -m "First release candidate"
run "$cfgit" log -n 1 --format json

step "The store is a plain Git repository: stock git reads it"
run git --git-dir=.cfgit log --oneline --decorate dev
run git --git-dir=.cfgit show --stat --format='%h %s' dev
path=$(git --git-dir=.cfgit ls-tree -r --name-only dev tables/uiSchemas/rows | head -1)
run git --git-dir=.cfgit show "dev:$path"
run git --git-dir=.cfgit fsck --strict
echo
echo "Demo done. Workspace: $work"
