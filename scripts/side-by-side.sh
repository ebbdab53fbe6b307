#!/usr/bin/env bash
# Open the generator and a consumer side by side in tmux: window 1 files, window 2 socket.
# Usage: scripts/side-by-side.sh [DATA_DIR] [PORT]   (run from the repository, after `make demo`)
set -euo pipefail
data=${1:-/tmp/spark-stream-lab/data}
port=${2:-9999}
here=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v tmux >/dev/null 2>&1; then
  echo "error: tmux is not installed: install it (sudo apt-get install tmux) or open two terminals as README.md shows" >&2
  exit 1
fi
py="$here/.venv/bin/python"
[ -x "$py" ] || { echo "error: no .venv yet: run 'make demo' or 'make test' first" >&2; exit 1; }
session=spark-stream-lab
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -n files -c "$here" "$py -m generator files $data; read -r"
tmux split-window -h -t "$session:files" -c "$here" "$py -m consumer files $data; read -r"
tmux new-window -t "$session" -n socket -c "$here" "$py -m generator socket $port; read -r"
tmux split-window -h -t "$session:socket" -c "$here" "$py -m consumer socket --port $port; read -r"
tmux select-window -t "$session:files"
if [ -n "${TMUX:-}" ]; then
  tmux switch-client -t "$session"
else
  tmux attach -t "$session"
fi
