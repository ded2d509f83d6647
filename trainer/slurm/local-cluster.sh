#!/usr/bin/env bash
# A private single-node SLURM cluster (munged, slurmctld, slurmd) for trying and testing the
# batch scripts on one machine, without systemd. Used by SlurmRanksTest; needs root.
#
#   trainer/slurm/local-cluster.sh up   DIR [CTLD_PORT SLURMD_PORT]   install if missing, start, wait for the node
#   trainer/slurm/local-cluster.sh down DIR                            stop what "up" started in DIR (by pid)
#
# Everything lives below DIR: slurm.conf, the munge key and socket, state, logs, pid files.
# Point the client commands at it with   export SLURM_CONF=DIR/slurm.conf
# Nothing is written to /etc. The node offers 8 CPUs and 64 GiB whatever the machine has
# (config_overrides), so train-ranks.sbatch's defaults fit on a laptop.
#
# Exit codes: 0 up (or down); 3 the packages are missing and cannot be installed (not root,
# or apt-get failed) -- the caller may skip; 1 anything else (the message names the log).
set -euo pipefail

cmd="${1:?usage: local-cluster.sh up|down DIR [CTLD_PORT SLURMD_PORT]}"
BASE="$(mkdir -p "${2:?usage: local-cluster.sh up|down DIR}" && cd "$2" && pwd)"
CTLD_PORT="${3:-6817}"
SLURMD_PORT="${4:-6818}"
NODE="$(hostname -s)"

log() { echo "[local-cluster] $*" >&2; }
die() { echo "[local-cluster] ERROR: $*" >&2; exit "${2:-1}"; }

# pid of a live process named NAME* recorded in PIDFILE
alive() {
  local pf="$2" pid
  [ -s "$pf" ] || return 1
  pid="$(tr -dc 0-9 < "$pf")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  case "$(cat "/proc/$pid/comm" 2>/dev/null)" in "$1"*) echo "$pid";; *) return 1;; esac
}

if [ "$cmd" = down ]; then
  for d in slurmd:run/slurmd.pid slurmctld:run/slurmctld.pid munged:munge/munged.pid; do
    if pid=$(alive "${d%%:*}" "$BASE/${d#*:}"); then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      log "stopped ${d%%:*} (pid $pid)"
    fi
  done
  exit 0
fi
[ "$cmd" = up ] || die "unknown command '$cmd': use up or down"

# ---- install (Debian/Ubuntu packages) when missing
missing=0
for b in munged munge slurmctld slurmd slurmstepd sbatch srun sinfo scontrol; do
  command -v "$b" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "SLURM is not installed and installing it needs root (apt-get install slurm-wlm munge)" 3
  command -v apt-get >/dev/null 2>&1 || die "SLURM is not installed and there is no apt-get to install it" 3
  log "installing slurm-wlm and munge with apt-get"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # keep the packages' scripts from starting services
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  pkgs="slurm-wlm slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  ok=1
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $pkgs >&2 \
    || { apt-get -o DPkg::Lock::Timeout=600 update >&2 && apt-get -o DPkg::Lock::Timeout=600 install -y \
         --no-install-recommends $pkgs >&2; } || ok=0
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$ok" = 1 ] || die "apt-get could not install $pkgs" 3
fi
[ "$(id -u)" = 0 ] || die "slurmd must run as root to start jobs as their users; run this as root"

mkdir -p "$BASE"/{munge,state/ctld,state/d,log,run}
chmod 755 "$BASE" "$BASE/munge"   # munged wants its socket directory traversable, not writable by others

# ---- munge: a private key and socket
SOCK="$BASE/munge/munge.socket.2"
[ -s "$BASE/munge/munge.key" ] || (umask 077; head -c 1024 /dev/urandom > "$BASE/munge/munge.key")
chmod 600 "$BASE/munge/munge.key"
if ! alive munged "$BASE/munge/munged.pid" >/dev/null; then
  rm -f "$SOCK" "$SOCK.lock"
  munged --socket="$SOCK" --key-file="$BASE/munge/munge.key" --log-file="$BASE/munge/munged.log" \
         --pid-file="$BASE/munge/munged.pid" --seed-file="$BASE/munge/munged.seed" \
    || die "munged did not start; see $BASE/munge/munged.log"
  for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
fi
munge -n --socket="$SOCK" | unmunge --socket="$SOCK" >/dev/null || die "munge round trip failed; see $BASE/munge/munged.log"

# ---- slurm.conf
CONF="$BASE/slurm.conf"
cat > "$CONF" <<CONF
ClusterName=ckpt-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
# a requeued job may start again cred_expire+1 s after it ended (default 120)
AuthInfo=socket=$SOCK,cred_expire=10
StateSaveLocation=$BASE/state/ctld
SlurmdSpoolDir=$BASE/state/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
KillWait=5
JobRequeue=1
ReturnToService=2
MinJobAge=600
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=8 RealMemory=65536 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$CONF"

# ---- daemons
if ! alive slurmctld "$BASE/run/slurmctld.pid" >/dev/null; then
  slurmctld -f "$CONF" -i || die "slurmctld did not start; see $BASE/log/slurmctld.log"
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld does not answer; see $BASE/log/slurmctld.log"
if ! alive slurmd "$BASE/run/slurmd.pid" >/dev/null; then
  slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start; see $BASE/log/slurmd.log"
fi
state=""
for i in $(seq 120); do
  state="$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -1)"
  case "$state" in
    idle|mixed|allocated|completing) break;;
    down*|drain*) [ "$i" -gt 5 ] && scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) die "node $NODE is not usable (state '$state'); see $BASE/log/";;
esac
log "up: node $NODE $state; export SLURM_CONF=$CONF"
