#!/usr/bin/env bash
# The report tests open a consumer's HTML report in a real headless browser. Use Chromium where
# it is; install Debian's package with apt where we run as root; otherwise say in one line why
# those tests will be skipped (never fail the set-up for it).
set -u
for c in chromium chromium-browser google-chrome; do
  command -v "$c" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing chromium with apt-get (for the report's browser test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq chromium; } >/dev/null 2>&1 && exit 0
  echo "note: installing chromium failed; the browser test of the report will be skipped" >&2
  exit 0
fi
echo "note: no Chromium (sudo apt-get install chromium): the browser test of the report will be skipped" >&2
exit 0
