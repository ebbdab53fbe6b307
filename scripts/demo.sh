#!/usr/bin/env bash
# `make demo`: land a few seconds of files in a temporary folder and show what landed.
set -euo pipefail
out=$(mktemp -d "${TMPDIR:-/tmp}/spark-stream-lab-demo.XXXXXX")
echo "== python -m generator files $out --duration 4 --interval 0.5 --seed 7"
python -m generator files "$out" --duration 4 --interval 0.5 --seed 7
echo
echo "== what landed (Spark sees only these: no temp files are ever visible)"
ls -l --time-style=+%T.%N "$out"
echo
first=$(ls "$out" | head -n 1)
echo "== $first"
cat "$out/$first"
echo
echo "== python -m generator files $out/retail --dataset retail --files 2 --interval 0 --seed 7"
python -m generator files "$out/retail" --dataset retail --files 2 --interval 0 --seed 7
ls -l "$out/retail"
head -n 4 "$out/retail/$(ls "$out/retail" | head -n 1)"
echo
echo "Files are in $out. Next: point a Spark stream at them (see README: 'Side by side')."
