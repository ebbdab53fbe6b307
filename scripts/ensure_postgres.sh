#!/usr/bin/env bash
# The change-feed tests keep a table in a real PostgreSQL server, which they start themselves in a
# temporary folder (tests/postgres.py). Use the server programs where they are; install Debian's
# package with apt where we run as root; otherwise say in one line why those tests will be
# skipped (never fail the set-up for it).
set -u
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && exit 0
done
command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL not found: installing postgresql with apt-get (for consumer upsert's tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq postgresql; } >/dev/null 2>&1 && exit 0
  echo "note: installing postgresql failed; the PostgreSQL tests of consumer upsert will be skipped" >&2
  exit 0
fi
echo "note: no PostgreSQL server (sudo apt-get install postgresql): the PostgreSQL tests of consumer upsert will be skipped" >&2
exit 0
