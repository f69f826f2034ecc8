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

step "Create a workspace; alice's database becomes environment 'dev-alice'"
mv dev.db dev-alice.db
run "$cfgit" init
cat >> cfgit.yaml <<'YAML'
  logs:           { rule: skip }
  uiSchemas:      { json: [schema] }
  rolesResources: { key: [roleName, name] }
  workflows:      { ignore: [executed] }
YAML
run "$cfgit" env add dev-alice sqlite:dev-alice.db
run "$cfgit" commit dev-alice -m "Initial configuration"

step "Bob's database starts as a copy of the same configuration; staging and production are protected"
cp dev-alice.db dev-bob.db
cp dev-alice.db staging.db
run "$cfgit" env add dev-bob sqlite:dev-bob.db
run "$cfgit" env add staging sqlite:staging.db --protected
run "$cfgit" env add production sqlite:production.db --protected
run "$cfgit" branch dev-bob dev-alice
run "$cfgit" branch staging dev-alice
run "$cfgit" status

step "Both developers change configuration in their own databases and commit"
sqlite3 dev-alice.db <<'SQL'
INSERT INTO fields VALUES ('f_status', 'orders', 'status', 'string', '{"uiSchema":{"title":"Status"}}');
UPDATE uiSchemas SET schema = '{"type":"void","x-component":"Page","title":"All orders"}' WHERE "x-uid" = 'page1';
UPDATE roles SET title = 'Administrators' WHERE name = 'admin';
UPDATE workflows SET executed = 43;  -- an ignored runtime counter: not a change
SQL
run "$cfgit" diff dev-alice
run "$cfgit" commit dev-alice -m "Orders: status field, page title; admin renamed"
sqlite3 dev-bob.db <<'SQL'
UPDATE uiSchemas SET schema = '{"type":"void","x-component":"Page","title":"Orders","x-decorator":"Card"}' WHERE "x-uid" = 'page1';
UPDATE roles SET title = 'Admins' WHERE name = 'admin';
DELETE FROM rolesResources WHERE roleName = 'admin' AND name = 'users';
SQL
run "$cfgit" commit dev-bob -m "Orders page in a card; admin renamed; admin loses users"

step "Merge both into staging: the JSON page merges member by member, the role title conflicts"
run "$cfgit" merge dev-alice --into staging
run "$cfgit" merge dev-bob --into staging || true
run "$cfgit" conflicts staging
run "$cfgit" resolve staging --table roles --key admin --set "title='Administrators'"
run "$cfgit" merge --continue staging
run "$cfgit" diff dev-alice staging

step "Apply staging: its database becomes the merged configuration (backed up first)"
run "$cfgit" apply staging --dry-run
run "$cfgit" apply staging
run "$cfgit" apply staging

step "Promote staging to production as release v1 (production's database is created)"
run "$cfgit" promote staging production --tag v1

step "A second release, v2"
sqlite3 dev-alice.db "UPDATE collections SET title = 'Customer orders' WHERE name = 'orders';"
run "$cfgit" commit dev-alice -m "Orders renamed"
run "$cfgit" merge dev-alice --into staging
run "$cfgit" apply staging
run "$cfgit" promote staging production --tag v2
sqlite3 production.db "SELECT name, title FROM collections ORDER BY name;"

step "Someone edits production by hand: drift is refused, then v1 is rolled back with --force"
sqlite3 production.db "UPDATE roles SET title = 'root' WHERE name = 'admin';"
run "$cfgit" status production
run "$cfgit" rollback production --to v1 || true
run "$cfgit" rollback production --to v1 --force
sqlite3 production.db "SELECT name, title FROM collections ORDER BY name;"
run "$cfgit" backups production
run "$cfgit" log -g production

step "The store is a plain Git repository: stock git reads it"
run git --git-dir=.cfgit log --oneline --decorate --graph --all -n 12
path=$(git --git-dir=.cfgit ls-tree -r --name-only v1 tables/uiSchemas/rows | head -1)
run git --git-dir=.cfgit show "v1:$path"
run git --git-dir=.cfgit fsck --strict
echo
echo "Demo done. Workspace: $work"
