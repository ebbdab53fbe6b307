#!/usr/bin/env bash
# A real Spark standalone cluster on this machine, without Docker: one master and N workers,
# started from the installed pyspark's own launcher (bin/spark-class), bound to 127.0.0.1.
#
#   scripts/cluster.sh start [--workers N] [--cores C] [--memory 1g] [--port 7077]
#                            [--webui-port 8080] [--dir DIR]
#   scripts/cluster.sh status [--dir DIR]
#   scripts/cluster.sh stop [--dir DIR]
#
# `start` prints the master URL (spark://127.0.0.1:PORT) as its last line once every worker has
# registered. Logs and pid files live in DIR (default: .cluster in the repository); `stop` ends
# exactly the processes recorded there.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
command=${1:-}
[ $# -gt 0 ] && shift
workers=1 cores=1 memory=1g port=7077 webui=8080 dir=$here/.cluster

die() { echo "cluster.sh: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --workers) workers=${2:?}; shift 2 ;;
    --cores) cores=${2:?}; shift 2 ;;
    --memory) memory=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --webui-port) webui=${2:?}; shift 2 ;;
    --dir) dir=${2:?}; shift 2 ;;
    *) die "unknown option $1 (see the head of scripts/cluster.sh)" ;;
  esac
done
for n in "$workers" "$cores" "$port" "$webui"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a whole number: $n"
done
[ "$workers" -ge 1 ] || die "--workers must be 1 or more"
[[ $memory =~ ^[0-9]+[mMgG]$ ]] || die "--memory takes a size like 512m or 2g, not $memory"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

spark_home() {
  [ -x "$python" ] || die "no Python at $python: run 'make test' or set PYTHON"
  "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

status() {
  local any=0 f
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    any=1
    if alive "$f"; then
      echo "$(basename "$f" .pid): running, pid $(cat "$f")"
    else
      echo "$(basename "$f" .pid): not running (stale pid file)"
    fi
  done
  [ "$any" = 1 ] || echo "no cluster started from $dir"
  [ -f "$dir/master-url" ] && alive "$dir/master.pid" && cat "$dir/master-url"
  return 0
}

stop() {
  local f pid entry left stopping=()
  # every process told at once, then waited for (up to 5 s, then killed)
  for f in "$dir"/worker-*.pid "$dir"/master.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      stopping+=("$f:$pid")
    else
      rm -f "$f"
    fi
  done
  for _ in $(seq 50); do
    left=0
    for entry in "${stopping[@]}"; do kill -0 "${entry##*:}" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for entry in "${stopping[@]}"; do
    f=${entry%:*} pid=${entry##*:}
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped $(basename "$f" .pid) (pid $pid)"
    rm -f "$f"
  done
  rm -f "$dir/master-url"
}

launch() {  # name, then the spark-class arguments
  local name=$1; shift
  # setsid: its own process group, so `stop` ends the JVM and nothing else
  SPARK_HOME=$home SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR=$dir SPARK_NO_DAEMONIZE=1 \
    setsid nohup "$home/bin/spark-class" "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

wait_for() {  # until the master's status page says it leads, with N workers alive
  "$python" - "$webui" "$1" <<'EOF'
import json, sys, time, urllib.request
webui, want = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=2) as r:
            state = json.load(r)
            if state.get("status") == "ALIVE" and state.get("aliveworkers", 0) >= want:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
EOF
}

start() {
  mkdir -p "$dir"
  if alive "$dir/master.pid"; then
    die "a cluster from $dir is running already ($(cat "$dir/master-url" 2>/dev/null)): stop it first"
  fi
  stop >/dev/null
  home=$(spark_home)
  export PYSPARK_PYTHON=$python
  launch master org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port "$webui"
  local url=spark://127.0.0.1:$port k
  # the workers start once the master leads: a worker that finds no master retries only after
  # 5 to 15 s (Spark's first registration back-off)
  if ! wait_for 0; then
    echo "cluster.sh: error: the master did not start within 90 s; logs in $dir" >&2
    stop >&2
    exit 1
  fi
  for k in $(seq 1 "$workers"); do
    launch "worker-$k" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "$cores" --memory "$memory" --webui-port 0 \
      --work-dir "$dir/work-$k" "$url"
  done
  if ! wait_for "$workers"; then
    echo "cluster.sh: error: the workers did not register within 90 s; logs in $dir" >&2
    stop >&2
    exit 1
  fi
  echo "$url" >"$dir/master-url"
  echo "master UI: http://127.0.0.1:$webui  logs: $dir"
  echo "$url"
}

case $command in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/cluster.sh start|stop|status [options]" ;;
esac
