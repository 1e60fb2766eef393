#!/usr/bin/env bash
# Bring up a real one-machine SLURM (munge + slurmctld + slurmd) for the HPC tests.
#   Run as root on a Debian-based machine without systemd:  bash tests/hpc/slurm-up.sh
# Idempotent: a second run finds the packages, the config and the daemons in place and changes
# nothing. If the generated slurm.conf differs from the one on disk (e.g. nproc or memory changed),
# the file is rewritten and slurmctld/slurmd are restarted (running jobs survive a restart).
# Teardown: tests/hpc/slurm-down.sh (stops the daemons, keeps the packages).
# Env: SLURM_UP_TIMEOUT (seconds to wait for the node to be idle, default 60).
# MinJobAge=300 (> the snakemake slurm plugin's 180 s max poll interval): finished jobs stay
# visible to `squeue --states=all`, which the plugin needs when sacct is unavailable (no accounting).
set -euo pipefail

log() { echo "slurm-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
timeout_s=${SLURM_UP_TIMEOUT:-60}

# ---- 1. packages -------------------------------------------------------------------------------
need_install=0
for cmd in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol pgrep pkill free; do
  command -v "$cmd" >/dev/null 2>&1 || { need_install=1; break; }
done
if [ "$need_install" = 1 ]; then
  log "installing munge, slurm-wlm, slurm-client (apt-get, non-interactive)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends munge slurm-wlm slurm-client procps >/dev/null \
    || die "apt-get install failed"
fi
id munge >/dev/null 2>&1 || die "user 'munge' missing (munge package broken?)"

# ---- 2. munge ----------------------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
chown munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 700 /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key (1024 random bytes)"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if munge_ok; then
  log "munged already running"
else
  pkill -x munged 2>/dev/null || true   # a hung munged that does not answer
  log "starting munged as user munge"
  runuser -u munge -- /usr/sbin/munged --force || die "munged failed to start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge_ok && break; sleep 0.1; done
  munge_ok || die "munge -n | unmunge fails (see /var/log/munge/munged.log)"
fi

# ---- 3. slurm.conf -----------------------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
total_mb=$(free -m | awk '/^Mem:/{print $2}')
reserve_mb=$(( total_mb / 20 )); [ "$reserve_mb" -ge 512 ] || reserve_mb=512
mem=$(( total_mb - reserve_mb ))        # "a bit below" physical memory, so slurmd never drains it
[ "$mem" -gt 0 ] || die "cannot size RealMemory (free -m says ${total_mb} MB)"
ctld_host=$host node_addr=""
if ! getent hosts "$host" >/dev/null 2>&1; then   # unresolvable hostname: talk over loopback
  ctld_host="${host}(127.0.0.1)" node_addr=" NodeAddr=127.0.0.1"
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
conf=/etc/slurm/slurm.conf
want=$(cat <<CONF
# Written by netsense tests/hpc/slurm-up.sh: one machine, no accounting, no cgroups, no systemd.
ClusterName=netsense-ci
SlurmctldHost=${ctld_host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=10
NodeName=${host}${node_addr} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
)

wait_gone() {  # wait_gone NAME: up to 15 s for a daemon to exit, then SIGKILL
  for _ in $(seq 75); do pgrep -x "$1" >/dev/null || return 0; sleep 0.2; done
  log "$1 did not exit on SIGTERM; sending SIGKILL"; pkill -9 -x "$1" || true; sleep 0.5
  ! pgrep -x "$1" >/dev/null || die "cannot stop $1"
}
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
  log "$conf up to date"
else
  log "writing $conf (node $host: CPUs=$cpus RealMemory=$mem)"
  [ ! -f "$conf" ] || cp -p "$conf" "$conf.bak"
  printf '%s\n' "$want" > "$conf"
  for d in slurmd slurmctld; do   # restart so the daemons read the new config
    if pgrep -x "$d" >/dev/null; then log "stopping $d (config changed)"; pkill -x "$d" || true; wait_gone "$d"; fi
  done
fi

# ---- 4. daemons (no systemd: started directly; each daemonizes itself) -------------------------
if pgrep -x slurmctld >/dev/null; then
  log "slurmctld already running"
else
  log "starting slurmctld"
  /usr/sbin/slurmctld || die "slurmctld failed to start (see /var/log/slurm/slurmctld.log)"
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld not answering (see /var/log/slurm/slurmctld.log)"
if pgrep -x slurmd >/dev/null; then
  log "slurmd already running"
else
  log "starting slurmd"
  /usr/sbin/slurmd || die "slurmd failed to start (see /var/log/slurm/slurmd.log)"
fi

# ---- 5. wait for the node to be usable ----------------------------------------------------------
node_state() { sinfo -h -n "$host" -N -o '%T' 2>/dev/null | head -n1 || true; }
usable() { case "$1" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac; }
deadline=$(( SECONDS + timeout_s )); resumed=0; state=""
while :; do
  state=$(node_state)
  usable "$state" && break
  case "$state" in            # left down/drained by an earlier run: ReturnToService=2 covers most cases
    down*|drain*|fail*) if [ "$resumed" = 0 ]; then
        log "node is '$state'; trying scontrol update state=resume"
        scontrol update nodename="$host" state=resume 2>/dev/null || true; resumed=1
      fi ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "node $host is '${state:-unknown}' after ${timeout_s}s; see /var/log/slurm/ and 'scontrol show node $host'"
  sleep 0.5
done
echo "slurm-up: OK cluster=netsense-ci node=$host cpus=$cpus mem=${mem}MB partition=debug state=$state slurm=$(sinfo -V | awk '{print $2}')"
