#!/usr/bin/env bash
# ckpt against the tools users would pick instead, in one run, on the same data and server:
# restic and rclone (Debian's packages) on S3 (S3Proxy in its own JVM; a single-node Ceph RGW),
# restic and cp on the local disk. Prints the versions, the machine, a table per target of
# seconds (medians) and ratios ckpt/peer, the CPU seconds of each tool and of the rest of the
# machine (the server), and the bytes each tool stored; writes a TSV.
# Not a test. See docs/benchmarks.md ("ckpt against restic, rclone and cp") and --help.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/compare.sh [--targets s3proxy,rgw,local] [--mib N | --data DIR] [--reps N]
                        [--work DIR] [--tsv FILE] [--small-files N] [--keep] [--pin]

Per target and tool, REPS times into an empty store: first save (v1), second save (v2),
restore of v2 (checked byte for byte with cmp), then 10,000 files of 100 B pushed and
restored. Every timed step ends with a `sync`, for every tool alike. The small files'
stores, copies and restores are removed only at the end (see "small_out"). Each step also
records the CPU seconds of the tool's processes (bash's `times`) and of the rest of the
machine over the same interval (/proc/stat): on a quiet machine, the server's.

  --targets LIST    s3proxy, rgw, local, comma-separated (default: all three)
  --mib N           size of the generated checkpoint, MiB per version (default 1024:
                    1.07 GB, 12 safetensors shards; bench/gen_ckpt.py)
  --data DIR        use DIR/v1 and DIR/v2 instead of generating them (DIR/small too, if
                    present; otherwise the small files are generated)
  --reps N          repetitions per tool; the tables show medians (default $REPS or 3)
  --work DIR        scratch directory (default: a new one under $TMPDIR or /tmp; removed
                    at the end unless --keep). Stores, repositories and restores go here.
  --tsv FILE        the results as TSV (default: bench-results-<UTC time>.tsv here)
  --small-files N   number of small files (default 10000; 0 leaves the case out)
  --keep            keep the work directory
  --pin             the S3 server on CPU 1, every timed tool on CPU 0 (taskset): as with
                    a server on a machine of its own, each side gets one core

Environment: REPS; MVN_FLAGS (e.g. -o, for Maven, which builds ckpt-tool and the servers'
classpath); CKPT_JAVA_OPTS (ckpt-tool's JVM); RESTIC_FLAGS, RCLONE_FLAGS, CKPT_FLAGS (more
options for each tool's commands). Needs java 17, mvn, python3 with numpy (unless --data),
restic, rclone and, for rgw, Debian's ceph-mon ceph-osd radosgw ceph-common; as root with
apt-get, missing packages are installed, otherwise the script says what to install.
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CMDLINE="$(printf '%q ' "$0" "$@")"
TARGETS="s3proxy,rgw,local"
MIB=1024
DATA=""
REPS="${REPS:-3}"
WORK=""
TSV=""
SMALL_FILES=10000
KEEP=0
PIN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS="$2"; shift 2 ;;
    --mib) MIB="$2"; shift 2 ;;
    --data) DATA="$(cd "$2" && pwd)"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --tsv) TSV="$2"; shift 2 ;;
    --small-files) SMALL_FILES="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --pin) PIN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
case "$REPS" in ''|*[!0-9]*|0) echo "compare.sh: --reps/REPS must be a positive number, not '$REPS'" >&2; exit 2 ;; esac
SERVER_CPU=()
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || { echo "compare.sh: --pin needs taskset (Debian's util-linux)" >&2; exit 1; }
  [ "$(nproc)" -ge 2 ] || { echo "compare.sh: --pin needs 2 CPUs, this machine has $(nproc)" >&2; exit 1; }
  SERVER_CPU=(taskset -c 1)
fi
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
for t in "${TARGET_LIST[@]}"; do
  case "$t" in s3proxy|rgw|local) ;; *) echo "compare.sh: unknown target '$t' (s3proxy, rgw, local)" >&2; exit 2 ;; esac
done
if [ -n "$DATA" ] && { [ ! -d "$DATA/v1" ] || [ ! -d "$DATA/v2" ]; }; then
  echo "compare.sh: --data $DATA needs the subdirectories v1 and v2 (the two versions of the checkpoint)" >&2
  exit 2
fi
has() { [[ ",$TARGETS," == *",$1,"* ]]; }

# ---- what is needed, installed where we may ---------------------------------------------------
PY=""
numpy_python() {
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1; then PY="$p"; return 0; fi
  done
  return 1
}
need_data=1
[ -n "$DATA" ] && need_data=0
[ -n "$DATA" ] && [ "$SMALL_FILES" -gt 0 ] && [ ! -d "$DATA/small" ] && need_data=1
pkgs=()
command -v restic >/dev/null 2>&1 || pkgs+=(restic)
command -v rclone >/dev/null 2>&1 || pkgs+=(rclone)   # also lists and deletes the S3 stores
[ "$need_data" = 1 ] && ! numpy_python && pkgs+=(python3-numpy)
if has rgw; then
  for c in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$c" >/dev/null 2>&1 || { pkgs+=(ceph-mon ceph-osd radosgw ceph-common); break; }
  done
fi
for c in java mvn; do
  command -v "$c" >/dev/null 2>&1 || { echo "compare.sh: $c is needed (a JDK 17 and Maven 3.8+, as for ckpt-tool)" >&2; exit 1; }
done
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing from Debian's archive: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null 2>&1 || echo "apt-get update failed; trying the install anyway"
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "compare.sh: missing packages; install them first: sudo apt-get install ${pkgs[*]}" >&2
    exit 1
  fi
  [ "$need_data" = 1 ] && { numpy_python || { echo "compare.sh: no python3 with numpy after installing python3-numpy" >&2; exit 1; }; }
fi

# ---- work directory, clean-up -----------------------------------------------------------------
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/ckpt-bench.XXXXXX")"
else
  mkdir -p "$WORK"
  WORK="$(cd "$WORK" && pwd)"
fi
[ -n "$TSV" ] || TSV="$PWD/bench-results-$(date -u +%Y%m%dT%H%M%SZ).tsv"
LOG="$WORK/commands.log"      # every command's output
SAMPLES="$WORK/samples.tsv"   # target, measure, tool, rep, value
: >"$SAMPLES"
SRV_PID=""
SRV_IN=""
stop_server() {
  if [ -n "$SRV_PID" ]; then
    [ -n "$SRV_IN" ] && exec {SRV_IN}>&-
    SRV_IN=""
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
  fi
}
cleanup() {
  stop_server
  if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() {
  echo "compare.sh: $*" >&2
  echo "compare.sh: the last lines of $LOG:" >&2
  tail -n 15 "$LOG" >&2 || true
  KEEP=1
  exit 1
}

# ---- build ckpt-tool and the servers' classpath ------------------------------------------------
CKPT="$ROOT/bin/ckpt-tool"
echo "building ckpt-tool (bin/ckpt-tool builds on first use)..." >&2
"$CKPT" --version >"$WORK/ckpt-version" 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }
if has s3proxy || has rgw; then
  echo "compiling the store's test classes for the S3 servers..." >&2
  # shellcheck disable=SC2086
  (cd "$ROOT" && mvn -q -B ${MVN_FLAGS:-} -pl store test-compile dependency:build-classpath \
      -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/store-test.cp") >>"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; exit 1; }
  SERVER_CP="$ROOT/store/target/test-classes:$ROOT/store/target/classes:$(cat "$WORK/store-test.cp")"
fi

# ---- data ---------------------------------------------------------------------------------------
if [ -z "$DATA" ]; then
  DATA="$WORK/data"
  echo "generating a $MIB MiB checkpoint (two versions) and $SMALL_FILES small files in $DATA..." >&2
  "$PY" "$ROOT/bench/gen_ckpt.py" "$DATA" --mib "$MIB" --small-files "$SMALL_FILES" >"$WORK/gen.json"
  SMALL="$DATA/small"
elif [ -d "$DATA/small" ]; then
  SMALL="$DATA/small"
else
  SMALL="$WORK/small"
  if [ "$SMALL_FILES" -gt 0 ]; then
    "$PY" -c 'import os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
w = len(str(max(n - 1, 0)))
for i in range(n):
    with open(os.path.join(out, "f%0*d.bin" % (w, i)), "wb") as f:
        f.write(os.urandom(100))' "$SMALL" "$SMALL_FILES"
  fi
fi
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}'; }
tree_files() { find "$1" -type f | wc -l; }
RAW_V1=$(tree_bytes "$DATA/v1")
RAW_V2=$(tree_bytes "$DATA/v2")
changed=0
changed_files=0
while IFS= read -r -d '' f; do
  if ! cmp -s "$f" "$DATA/v2/${f#"$DATA/v1/"}"; then
    changed=$((changed + $(stat -c %s "$f")))
    changed_files=$((changed_files + 1))
  fi
done < <(find "$DATA/v1" -type f -print0)

# ---- header ------------------------------------------------------------------------------------
ver() { "$@" 2>&1 | sed -n 1p; }
s3proxy_jar=""
# every stage reads all its input: a grep -m1 that stops early lets tr die of SIGPIPE, which pipefail and set -e
# turn into the script's exit (141, seen once in Run 20's first attempt)
[ -n "${SERVER_CP:-}" ] && s3proxy_jar="$(tr ':' '\n' <<<"$SERVER_CP" | sed -n 's#.*/\(s3proxy-[0-9.]*\)\.jar$#\1#p' | sed -n 1p)"
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -v '^??' || true)" ] && commit="$commit (with uncommitted changes)"
echo "== ckpt against restic, rclone and cp (bench/compare.sh)"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "command:  $CMDLINE"
env_set=""
for v in REPS MVN_FLAGS CKPT_JAVA_OPTS CKPT_FLAGS RESTIC_FLAGS RCLONE_FLAGS; do
  [ -n "${!v:-}" ] && env_set="$env_set $v=${!v}"
done
[ -n "$env_set" ] && echo "env:     $env_set"
echo "machine:  $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) memory, $(uname -sr)"
echo "          transparent huge pages: $(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown) (bin/ckpt-tool asks for them under madvise, except for the runs that get C1 alone)"
echo "ckpt:     $(cat "$WORK/ckpt-version"), commit $commit; $(ver java -version)"
echo "restic:   $(ver restic version)"
echo "rclone:   $(ver rclone version)"
echo "cp:       $(ver cp --version)"
has s3proxy && echo "S3Proxy:  ${s3proxy_jar:-?} (filesystem backend, its own JVM, loopback HTTP)"
has rgw && echo "Ceph RGW: $(ver radosgw --version) (one monitor, one memstore OSD, loopback HTTP)"
printf 'data:     %s: v1 %d bytes in %d files; v2 differs in %d files (%d bytes, %.1f %% of v1)' \
  "$DATA" "$RAW_V1" "$(tree_files "$DATA/v1")" "$changed_files" "$changed" "$(awk -v a="$changed" -v b="$RAW_V1" 'BEGIN {print 100 * a / b}')"
if [ -f "$WORK/gen.json" ]; then   # generated: the share of tensors that changed
  sed -n 's/.*"changed_bytes": \([0-9]*\).*"changed_tensors": \([0-9]*\).*"changed_bytes_pct": \([0-9.]*\).*/, of which changed tensors \2 of 150: \1 bytes (\3 %)/p' "$WORK/gen.json" | tr -d '\n'
fi
printf '; small: %d files in %s\n' "$( [ -d "$SMALL" ] && tree_files "$SMALL" || echo 0)" "$SMALL"
echo "reps:     $REPS per tool (tables: medians); each timed step ends with sync; work directory $WORK"
echo

# ---- measuring -----------------------------------------------------------------------------------
export RESTIC_PASSWORD="ckpt-bench-not-a-secret" RESTIC_CACHE_DIR="$WORK/restic-cache"
export RCLONE_CONFIG=/dev/null   # the remote comes from RCLONE_CONFIG_BENCH_* below, never from a user's config
OUT="$WORK/out"
TARGET=""
REP=0
now_ns() { date +%s%N; }
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# CPU seconds this shell's finished children have used, from `times` written to FILE (its second
# line: user, system). `times` itself must run in this shell, not in a $(...) subshell, which has
# no children of its own yet.
children_cpu() {
  awk 'function s(x,  a) { split(x, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
       NR == 2 { printf "%.3f", s($1) + s($2) }' "$1"
}
# CPU seconds the whole machine has been busy (every core; /proc/stat: user nice system irq softirq steal)
machine_cpu() { awk -v t="$TICK" '/^cpu / { printf "%.3f", ($2 + $3 + $4 + $7 + $8 + $9) / t; exit }' /proc/stat; }
# timed MEASURE TOOL CMD...: runs CMD (stdout to $WORK/last.out, stderr to the log), then sync; records
# seconds, the tool's CPU seconds (its process and children) and the rest of the machine's (the server's,
# on a quiet machine: S3Proxy's JVM, or radosgw and the Ceph daemons; the kernel's page-cache writeback)
timed() {
  local measure="$1" tool="$2"
  shift 2
  echo "\$ $*" >>"$LOG"
  local t0 t1 c0 c1 m0 m1
  times >"$WORK/times.0"
  m0=$(machine_cpu)
  t0=$(now_ns)
  "$@" >"$WORK/last.out" 2>>"$LOG" || die "$TARGET: $tool: $measure failed: $*"
  sync
  t1=$(now_ns)
  m1=$(machine_cpu)
  times >"$WORK/times.1"
  c0=$(children_cpu "$WORK/times.0")
  c1=$(children_cpu "$WORK/times.1")
  cat "$WORK/last.out" >>"$LOG"
  local s cpu rest
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
  cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.3f", b - a}')
  rest=$(awk -v a="$m0" -v b="$m1" -v c="$cpu" 'BEGIN {r = b - a - c; printf "%.3f", r < 0 ? 0 : r}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$measure" "$tool" "$REP" "$s" >>"$SAMPLES"
  printf '%s\t%s\t%s\t%s\t%s\n' "$TARGET" "cpu tool: $measure" "$tool" "$REP" "$cpu" >>"$SAMPLES"
  printf '%s\t%s\t%s\t%s\t%s\n' "$TARGET" "cpu rest: $measure" "$tool" "$REP" "$rest" >>"$SAMPLES"
  printf '  %-8s rep %d  %-7s %-16s %8s s  (CPU: tool %s s, rest of the machine %s s)\n' "$TARGET" "$REP" "$tool" \
    "$measure" "$s" "$cpu" "$rest"
}
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$1" "$2" "$REP" "$3" >>"$SAMPLES"; }
quiet() { echo "\$ $*" >>"$LOG"; "$@" >>"$LOG" 2>&1 || die "$TARGET: failed: $*"; }
# same_tree WANT GOT: the same file names and sizes, and the same bytes (one cmp over all files in order)
same_tree() {
  local want="$1" got="$2" what="$3"
  [ -d "$got" ] || die "$TARGET: $what: restored directory $got is missing"
  if ! diff <(cd "$want" && find . -type f -printf '%P %s\n' | LC_ALL=C sort) \
            <(cd "$got" && find . -type f -printf '%P %s\n' | LC_ALL=C sort) >>"$LOG"; then
    die "$TARGET: $what: the restored files differ in names or sizes from $want"
  fi
  cmp <(cd "$want" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r cat) \
      <(cd "$got" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r cat) >>"$LOG" 2>&1 \
    || die "$TARGET: $what: the restored bytes differ from $want (cmp)"
}
# stored bytes: a local directory (hard links once) or an S3 prefix (rclone size)
local_bytes() { find "$1" -type f -printf '%i %s\n' | sort -u | awk '{s += $2} END {printf "%d", s}'; }
s3_bytes() {
  # shellcheck disable=SC2086
  rclone size --json "bench:$1" 2>>"$LOG" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p'
}
s3_purge() {
  rclone purge "bench:$1" >>"$LOG" 2>&1 || true
  if [ "$TARGET" = rgw ]; then server_gc; fi
}
fresh_out() { rm -rf "$OUT"; mkdir -p "$OUT"; }
# The small files' restores go to a directory of their own per target, tool and repetition,
# and nothing of the small case (stores, repositories, copies, restores, S3 prefixes) is
# removed before the run ends. On ext4 without a journal (as on this project's machines),
# creating a file skips every inode freed in the last 60-300 s (the kernel's
# recently_deleted(), found by perf: 58 % of a 10,000-file create after an rm -rf), so
# whichever tool ran right after a removal of 10,000 files paid for it, in 2-5 s of system
# time, and each repetition more than the one before.
small_out() { local d="$WORK/small-out/$TARGET-$1-r$REP"; mkdir -p "$d"; echo "$d"; }

# -- the tools' steps. $1: s3 or local. Stores, repositories and copies are fresh per repetition.
run_ckpt() {
  local kind="$1" store small sout
  if [ "$kind" = s3 ]; then store="s3://ckpt/r$REP"; small="s3://ckpt/r$REP-small"
  else store="$WORK/local/ckpt-r$REP"; small="$WORK/local/ckpt-r$REP-small"; fi
  # shellcheck disable=SC2086
  {
    quiet "$CKPT" init "$store" ${CKPT_FLAGS:-}   # as restic init: not timed
    timed "first save" ckpt "$CKPT" push "$store" "$DATA/v1" --run bench --step 1 --json --progress=none ${CKPT_FLAGS:-}
    record "stored after v1" ckpt "$(stored_ckpt "$store")"
    timed "second save" ckpt "$CKPT" push "$store" "$DATA/v2" --run bench --step 2 --json --progress=none ${CKPT_FLAGS:-}
    record "second save uploaded" ckpt "$(sed -n 's/.*"storedBytesUploaded" : \([0-9]*\).*/\1/p' "$WORK/last.out")"
    record "stored after v2" ckpt "$(stored_ckpt "$store")"
    fresh_out
    timed "restore" ckpt "$CKPT" restore "$store" bench@2 "$OUT/v2" --json --progress=none ${CKPT_FLAGS:-}
    same_tree "$DATA/v2" "$OUT/v2" "ckpt restore"
    if [ -d "$SMALL" ] && [ "$SMALL_FILES" -gt 0 ]; then
      quiet "$CKPT" init "$small" ${CKPT_FLAGS:-}
      timed "small push" ckpt "$CKPT" push "$small" "$SMALL" --run small --step 1 --json --progress=none ${CKPT_FLAGS:-}
      sout="$(small_out ckpt)"
      timed "small restore" ckpt "$CKPT" restore "$small" small@1 "$sout/small" --json --progress=none ${CKPT_FLAGS:-}
      same_tree "$SMALL" "$sout/small" "ckpt small restore"
    fi
  }
  if [ "$kind" = s3 ]; then s3_purge "ckpt/r$REP"; else rm -rf "$store"; fi
  rm -rf "$OUT"
}
stored_ckpt() { if [[ "$1" == s3://* ]]; then s3_bytes "${1#s3://}"; else local_bytes "$1"; fi; }

run_restic() {
  local kind="$1" repo small sid sout
  if [ "$kind" = s3 ]; then repo="s3:$ENDPOINT/restic/r$REP"; small="s3:$ENDPOINT/restic/r$REP-small"
  else repo="$WORK/local/restic-r$REP"; small="$WORK/local/restic-r$REP-small"; fi
  # repository format 2: compressed (--compression auto, restic's default for it); 0.14 makes format 1 unless asked
  # shellcheck disable=SC2086
  {
    quiet restic -r "$repo" init --repository-version 2 ${RESTIC_FLAGS:-}
    # relative paths (cd DATA): the snapshot holds v1/..., restored to TARGET/v1/...
    timed "first save" restic restic_in "$DATA" -r "$repo" backup -q v1 ${RESTIC_FLAGS:-}
    record "stored after v1" restic "$(stored_restic "$repo")"
    timed "second save" restic restic_in "$DATA" -r "$repo" backup -q --json v2 ${RESTIC_FLAGS:-}
    sid="$(sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' "$WORK/last.out" | tail -n 1)"
    [ -n "$sid" ] || die "$TARGET: restic backup printed no snapshot id"
    record "stored after v2" restic "$(stored_restic "$repo")"
    fresh_out
    timed "restore" restic restic -r "$repo" restore "$sid" --target "$OUT" ${RESTIC_FLAGS:-}
    same_tree "$DATA/v2" "$OUT/v2" "restic restore"
    if [ -d "$SMALL" ] && [ "$SMALL_FILES" -gt 0 ]; then
      quiet restic -r "$small" init --repository-version 2 ${RESTIC_FLAGS:-}
      timed "small push" restic restic_in "$(dirname "$SMALL")" -r "$small" backup -q "$(basename "$SMALL")" ${RESTIC_FLAGS:-}
      sout="$(small_out restic)"
      timed "small restore" restic restic -r "$small" restore latest --target "$sout" ${RESTIC_FLAGS:-}
      same_tree "$SMALL" "$sout/$(basename "$SMALL")" "restic small restore"
    fi
  }
  if [ "$kind" = s3 ]; then s3_purge "restic/r$REP"; else rm -rf "$repo"; fi
  rm -rf "$OUT" "$RESTIC_CACHE_DIR"
}
restic_in() { local dir="$1"; shift; (cd "$dir" && restic "$@"); }
stored_restic() { if [[ "$1" == s3:* ]]; then s3_bytes "${1#"s3:$ENDPOINT/"}"; else local_bytes "$1"; fi; }

run_rclone() {
  local dest="rclone/r$REP" small="rclone/r$REP-small" sout
  # shellcheck disable=SC2086
  {
    timed "first save" rclone rclone copy "$DATA/v1" "bench:$dest" ${RCLONE_FLAGS:-}
    record "stored after v1" rclone "$(s3_bytes "$dest")"
    # the second save updates the same copy (only files whose MD5 differs are sent); v1 is not kept
    timed "second save" rclone rclone copy --checksum "$DATA/v2" "bench:$dest" ${RCLONE_FLAGS:-}
    record "stored after v2" rclone "$(s3_bytes "$dest")"
    fresh_out
    timed "restore" rclone rclone copy "bench:$dest" "$OUT/v2" ${RCLONE_FLAGS:-}
    same_tree "$DATA/v2" "$OUT/v2" "rclone restore"
    if [ -d "$SMALL" ] && [ "$SMALL_FILES" -gt 0 ]; then
      timed "small push" rclone rclone copy "$SMALL" "bench:$small" ${RCLONE_FLAGS:-}
      sout="$(small_out rclone)"
      timed "small restore" rclone rclone copy "bench:$small" "$sout/small" ${RCLONE_FLAGS:-}
      same_tree "$SMALL" "$sout/small" "rclone small restore"
    fi
  }
  s3_purge "$dest"
  rm -rf "$OUT"
}

run_cp() {
  local dest="$WORK/local/cp-r$REP" small="$WORK/local/cp-r$REP-small" sout
  mkdir -p "$dest"
  timed "first save" cp cp -r "$DATA/v1" "$dest/v1"
  record "stored after v1" cp "$(local_bytes "$dest")"
  timed "second save" cp cp -r "$DATA/v2" "$dest/v2"   # a second full copy: both versions kept
  record "stored after v2" cp "$(local_bytes "$dest")"
  fresh_out
  timed "restore" cp cp -r "$dest/v2" "$OUT/v2"
  same_tree "$DATA/v2" "$OUT/v2" "cp restore"
  if [ -d "$SMALL" ] && [ "$SMALL_FILES" -gt 0 ]; then
    timed "small push" cp cp -r "$SMALL" "$small"
    sout="$(small_out cp)"
    timed "small restore" cp cp -r "$small" "$sout/small"
    same_tree "$SMALL" "$sout/small" "cp small restore"
  fi
  rm -rf "$dest" "$OUT"
}

# -- the S3 servers: BenchServerMain (store test classes) in its own JVM; stdin a FIFO, stdout a file
start_server() {
  local kind="$1" args=()
  case "$kind" in
    s3proxy) args=(s3proxy "$WORK/s3proxy" ckpt restic rclone); mkdir -p "$WORK/s3proxy" ;;
    rgw) args=(rgw ckpt restic rclone) ;;
  esac
  mkdir -p "$WORK/tmp"
  rm -f "$WORK/server.in"
  mkfifo "$WORK/server.in"
  : >"$WORK/server.out"
  # shellcheck disable=SC2086
  ${SERVER_CPU[@]+"${SERVER_CPU[@]}"} java ${BENCH_SERVER_OPTS:--Xmx1g} -Djava.io.tmpdir="$WORK/tmp" -cp "$SERVER_CP" dev.ckpt.store.bench.BenchServerMain "${args[@]}" \
    <"$WORK/server.in" >"$WORK/server.out" 2>>"$WORK/server-$kind.log" &
  SRV_PID=$!
  exec {SRV_IN}>"$WORK/server.in"
  local i=0
  until grep -q '^READY ' "$WORK/server.out"; do
    kill -0 "$SRV_PID" 2>/dev/null || { tail -n 20 "$WORK/server-$kind.log" >&2; SRV_PID=""; die "the $kind server exited before it was ready"; }
    i=$((i + 1))
    [ "$i" -gt 1200 ] && die "the $kind server did not start in 10 minutes (log: $WORK/server-$kind.log)"
    sleep 0.5
  done
  read -r _ ENDPOINT ACCESS SECRET < <(grep -m1 '^READY ' "$WORK/server.out")
  export AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID="$ACCESS" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1
  export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_ENDPOINT="$ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$ACCESS" \
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$SECRET" RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_ENV_AUTH=false
  if [ "$kind" = rgw ]; then export RCLONE_CONFIG_BENCH_PROVIDER=Ceph; else export RCLONE_CONFIG_BENCH_PROVIDER=Other; fi
}
# RGW deletes the data of deleted objects hours later; its OSD holds 2 GiB in memory: collect now
server_gc() {
  local before
  before=$(grep -c '^OK$' "$WORK/server.out" || true)
  echo gc >&"$SRV_IN"
  while [ "$(grep -c '^OK$' "$WORK/server.out" || true)" -le "$before" ]; do
    kill -0 "$SRV_PID" 2>/dev/null || die "the RGW server exited"
    sleep 0.2
  done
}

saved_ca="${AWS_CA_BUNDLE-}"
if [ "$PIN" = 1 ]; then
  # this shell, and so every tool it runs from here on, on CPU 0; the server starts with CPU 1
  taskset -cp 0 $$ >/dev/null
  echo "pinned:   the tools on CPU 0, the S3 server on CPU 1"
fi
for TARGET in "${TARGET_LIST[@]}"; do
  echo "== $TARGET"
  case "$TARGET" in
    s3proxy|rgw)
      echo "starting $TARGET..." >&2
      # a CA bundle means nothing to a plain-HTTP endpoint, and rclone 1.60 fails on one
      # ("LoadCustomCABundleError ... unsupported transport"): leave it out for the S3 servers here
      unset AWS_CA_BUNDLE
      start_server "$TARGET"
      echo "  server at $ENDPOINT"
      for REP in $(seq 1 "$REPS"); do
        run_ckpt s3
        run_restic s3
        run_rclone
      done
      stop_server
      [ -n "$saved_ca" ] && export AWS_CA_BUNDLE="$saved_ca"
      unset AWS_ENDPOINT_URL
      ;;
    local)
      mkdir -p "$WORK/local"
      for REP in $(seq 1 "$REPS"); do
        run_ckpt local
        run_restic local
        run_cp
      done
      ;;
  esac
  echo
done

# ---- tables: medians, ratios ckpt/peer, stored bytes; the TSV --------------------------------------
awk -F'\t' -v OFS='\t' -v raw1="$RAW_V1" -v raw2="$RAW_V2" '
  function median(s,   a, n, i, j, t) {
    n = split(s, a, ",")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 SUBSEP $2 SUBSEP $3
    if (k in seen) v[k] = v[k] "," $5; else { seen[k] = 1; order[++n] = k; v[k] = $5 } }
  END {
    print "target", "measure", "tool", "median", "samples", "unit"
    for (i = 1; i <= n; i++) {
      split(order[i], p, SUBSEP)
      bytes = p[2] ~ /^stored|uploaded/
      cpu = p[2] ~ /^cpu /
      print p[1], p[2], p[3], sprintf(bytes ? "%.0f" : "%.3f", median(v[order[i]])), v[order[i]], bytes ? "bytes" : cpu ? "CPU s" : "s"
    }
    print "all", "raw bytes v1", "data", raw1, raw1, "bytes"
    print "all", "raw bytes v2", "data", raw2, raw2, "bytes"
  }' "$SAMPLES" >"$TSV"

awk -F'\t' -v raw1="$RAW_V1" -v reps="$REPS" -v small="$SMALL_FILES" '
  NR == 1 || $1 == "all" { next }
  { m[$1, $2, $3] = $4; if (!($1 in tseen)) { tseen[$1] = 1; targets[++nt] = $1 }
    if (!(($1, $3) in toolseen)) { toolseen[$1, $3] = 1; tools[$1] = tools[$1] " " $3 } }
  function secs(x) { return x == "" ? "-" : sprintf("%.2f", x) }
  function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
  function gb(x) { return x == "" ? "-" : sprintf("%.3f GB", x / 1e9) }
  END {
    names["s3proxy"] = "S3Proxy (own JVM, loopback)"; names["rgw"] = "Ceph RGW (single node, loopback)"; names["local"] = "local disk"
    steps[1] = "first save"; steps[2] = "second save"; steps[3] = "restore"; steps[4] = "small push"; steps[5] = "small restore"
    label["first save"] = "first save (v1)"; label["second save"] = "second save (v2)"; label["restore"] = "restore v2"
    label["small push"] = small " x 100 B push"; label["small restore"] = small " x 100 B restore"
    for (t = 1; t <= nt; t++) {
      tg = targets[t]; nk = split(substr(tools[tg], 2), tl, " ")
      printf "%s: seconds, median of %d; ratio = ckpt / peer (below 1: ckpt is faster)\n", names[tg], reps
      printf "| %-22s |", "step"
      for (j = 1; j <= nk; j++) printf " %9s |", tl[j]
      for (j = 2; j <= nk; j++) printf " %12s |", "ckpt/" tl[j]
      printf "\n|%s|", "------------------------"
      for (j = 1; j <= nk; j++) printf "%s|", "-----------"
      for (j = 2; j <= nk; j++) printf "%s|", "--------------"
      printf "\n"
      for (s = 1; s <= 5; s++) {
        st = steps[s]
        if (!((tg, st, "ckpt") in m)) continue
        printf "| %-22s |", label[st]
        for (j = 1; j <= nk; j++) printf " %9s |", secs(m[tg, st, tl[j]])
        for (j = 2; j <= nk; j++) printf " %12s |", ratio(m[tg, st, "ckpt"], m[tg, st, tl[j]])
        printf "\n"
      }
      printf "stored bytes (raw v1 %s):\n", gb(raw1)
      for (j = 1; j <= nk; j++) {
        k = tl[j]
        printf "  %-7s after v1 %s (%s of raw v1), after v1 + v2 %s%s\n", k, gb(m[tg, "stored after v1", k]),
          ratio(m[tg, "stored after v1", k], raw1), gb(m[tg, "stored after v2", k]),
          (k == "rclone" ? " (v2 overwrote v1: one version kept)" : (k == "cp" ? " (two full copies)" : ""))
      }
      if ((tg, "second save uploaded", "ckpt") in m)
        printf "  ckpt second save uploaded %s\n", gb(m[tg, "second save uploaded", "ckpt"])
      printf "CPU seconds, median: the tool (its processes) + the rest of the machine (the server, writeback)\n"
      printf "| %-22s |", "step"
      for (j = 1; j <= nk; j++) printf " %15s |", tl[j]
      printf "\n|%s|", "------------------------"
      for (j = 1; j <= nk; j++) printf "%s|", "-----------------"
      printf "\n"
      for (s = 1; s <= 5; s++) {
        st = steps[s]
        if (!((tg, "cpu tool: " st, "ckpt") in m)) continue
        printf "| %-22s |", label[st]
        for (j = 1; j <= nk; j++) {
          c = m[tg, "cpu tool: " st, tl[j]]; r = m[tg, "cpu rest: " st, tl[j]]
          printf " %15s |", c == "" ? "-" : sprintf("%.1f + %.1f", c, r)
        }
        printf "\n"
      }
      printf "\n"
    }
  }' "$TSV"
echo "TSV: $TSV (medians and every sample); commands and their output: $LOG$([ "$KEEP" = 1 ] && echo "" || echo " (removed with the work directory; --keep keeps it)")"
