#!/usr/bin/env bash
# A/B of two ckpt-tool builds on the same data, interleaved: first save, second save, restore;
# with --small: a push of DATA/small (10,000 files of 100 B), its restore, and ls of that store.
# Prints CPU seconds (perf stat task-clock) and wall seconds per step and rep, then medians.
set -euo pipefail
usage() {
  cat <<'USAGE'
usage: bench/ab-steps.sh [--reps N] [--dir DIR] [--small] A_CKPT_TOOL B_CKPT_TOOL DATA
  A_CKPT_TOOL, B_CKPT_TOOL  two launchers (bin/ckpt-tool of two checkouts, e.g. a git worktree of the
                            older commit: git worktree add /tmp/a OLD && /tmp/a/bin/ckpt-tool --version)
  DATA                      a directory with v1/ and v2/ (python3 bench/gen_ckpt.py DATA); with --small,
                            one with small/ (bench/compare.sh --data DATA makes it)
  --small                   the small-file steps instead: push DATA/small into a new store, restore it, ls
  --reps N                  repetitions, A then B each time (default 3)
  --dir DIR                 where the store and the restore go (default /dev/shm: no disk noise)
Needs perf (linux-perf). Exit 0 on success; 1 if a step fails (its output is shown).
USAGE
}
REPS=3; DIR=/dev/shm; SMALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --small) SMALL=1; shift ;;
    --dir) DIR="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) break ;;
  esac
done
[ $# -eq 3 ] || { usage >&2; exit 2; }
A="$1"; B="$2"; DATA="$3"
command -v perf >/dev/null || { echo "ab-steps: needs perf (apt-get install linux-perf)" >&2; exit 1; }
work="$(mktemp -d "$DIR/ckpt-ab.XXXXXX")"; trap 'rm -rf "$work"' EXIT
"$A" --version >/dev/null 2>&1; "$B" --version >/dev/null 2>&1   # builds, class archives: not timed
step() { # TOOL OUTFILE ARGS...: runs one step under perf stat; prints "cpu wall"
  local tool="$1" out="$2"; shift 2
  if ! perf stat -e task-clock -o "$out.perf" "$tool" "$@" >"$out.log" 2>&1; then cat "$out.log" >&2; exit 1; fi
  awk '/task-clock/{c=$1/1000} /elapsed/{e=$1} END{printf "%.2f %.2f", c, e}' "$out.perf"
}
results="$work/results"
for i in $(seq "$REPS"); do
  for v in A B; do
    tool="$A"; [ "$v" = B ] && tool="$B"
    s="$work/store"; rm -rf "$s" "$work/out"; "$tool" init "$s" >/dev/null; sync
    if [ "$SMALL" = 1 ]; then
      f=$(step "$tool" "$work/f" push "$s" "$DATA/small" --run r --step 1 --progress none)
      g=$(step "$tool" "$work/g" restore "$s" r:latest "$work/out" --progress none)
      r=$(step "$tool" "$work/r" ls "$s")
      echo "$v $f $g $r" | tee -a "$results"
      continue
    fi
    f=$(step "$tool" "$work/f" push "$s" "$DATA/v1" --run r --step 1); sync
    g=$(step "$tool" "$work/g" push "$s" "$DATA/v2" --run r --step 2); sync
    r=$(step "$tool" "$work/r" restore "$s" r:latest "$work/out"); sync
    echo "$v $f $g $r" | tee -a "$results"
  done
done
if [ "$SMALL" = 1 ]; then
  echo "medians (CPU s, wall s): small push, small restore, ls"
else
  echo "medians (CPU s, wall s): first save, second save, restore"
fi
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for v in "AB":
    r = [list(map(float, x[1:])) for x in rows if x[0] == v]
    m = [statistics.median(c[i] for c in r) for i in range(6)]
    print(f"{v}  {m[0]:.2f} / {m[1]:.2f}   {m[2]:.2f} / {m[3]:.2f}   {m[4]:.2f} / {m[5]:.2f}")
PY
