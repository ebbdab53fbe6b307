#!/usr/bin/env bash
# `make demo`: the generator and a consumer side by side, first over files, then over a socket.
# Output of each side is prefixed with its name; everything is cleaned up at the end.
set -euo pipefail
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}  # quiets "hostname resolves to a loopback address"
work=$(mktemp -d "${TMPDIR:-/tmp}/spark-stream-lab-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tag() { sed -u "s/^/[$1] /"; }
report="$PWD/demo-report.html"  # kept: what step 1's consumer did, as a page

echo "== 1. files: a person file every 2 s, read by the notes' file stream (about 30 s)"
echo "   terminal 1: python -m generator files $work/data --interval 2 --seed 7"
echo "   terminal 2: python -m consumer files $work/data"
python -m generator files "$work/data" --interval 2 --seed 7 --duration 30 2>&1 | tag generator &
pids+=($!)
python -m consumer files "$work/data" --timeout 30 --log-level ERROR --report "$report" 2>&1 | tag consumer
wait "${pids[0]}" || true
echo
echo "   landed: $(ls "$work/data" | wc -l) files in $work/data"
echo

echo "== 2. socket: 5 rows/s over TCP, read by the notes' network stream (about 20 s)"
echo "   terminal 1: python -m generator socket 9999"
echo "   terminal 2: python -m consumer socket --port 9999"
mkfifo "$work/first-line"
python -m generator socket 0 --rate 5 --duration 60 --seed 7 >"$work/first-line" 2> >(tag generator >&2) &
pids+=($!)
read -r first <"$work/first-line"
echo "[generator] $first"
port=${first##*:}
python -m consumer socket --port "$port" --timeout 20 --num-rows 5 --log-level ERROR 2>&1 | tag consumer
echo
echo "== 3. inside Spark: the same person rows drawn in Spark's executors, no files, no server (about 20 s)"
echo "   python -m consumer files --synthetic --rate 20 --seed 7"
python -m consumer files --synthetic --rate 20 --seed 7 --timeout 15 --log-level ERROR 2>&1 | tag consumer
echo
echo "Done. To run them yourself, side by side: scripts/side-by-side.sh (tmux), or see README.md."
echo "What step 1's Spark query did, batch by batch (rows, rates, durations): open $report"
