#!/usr/bin/env bash
# Spark 4 needs Java 17 or newer. Use what is there; install it with apt where we run as root;
# otherwise say in one line what to install and fail.
set -u
need=17

java_major() {
  local java_bin=$1 version
  version=$("$java_bin" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  [ -n "$version" ] || return 1
  case $version in 1.*) version=${version#1.} ;; esac
  echo "${version%%[.+-]*}"
}

found_ok() {
  local candidates=() c major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    major=$(java_major "$c") || continue
    [ "$major" -ge "$need" ] 2>/dev/null && return 0
  done
  return 1
}

found_ok && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Java $need+ not found: installing openjdk-17-jre-headless with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; } >/dev/null \
    && found_ok && exit 0
  echo "error: installing openjdk-17-jre-headless failed; install Java $need or newer and retry" >&2
  exit 1
fi

echo "error: Spark needs Java $need or newer: install it (e.g. 'sudo apt-get install openjdk-17-jre-headless') or set JAVA_HOME" >&2
exit 1
