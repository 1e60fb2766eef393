#!/usr/bin/env bash
# Stop the one-machine SLURM started by tests/hpc/slurm-up.sh: slurmd, slurmctld, munged.
# Packages, config, munge key and SLURM state stay in place; slurm-up.sh starts it again.
#   bash tests/hpc/slurm-down.sh
# Jobs still queued or running are cancelled first (otherwise their processes would outlive
# slurmd); set SLURM_DOWN_KEEP_JOBS=1 to skip that (slurmctld then recovers them on the next up).
set -euo pipefail

log() { echo "slurm-down: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

if [ "${SLURM_DOWN_KEEP_JOBS:-0}" != 1 ] && pgrep -x slurmctld >/dev/null \
   && command -v squeue >/dev/null; then
  jobs=$(squeue -h -o '%i' 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    log "cancelling jobs: $(echo $jobs)"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 60); do [ -z "$(squeue -h -o '%i' 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi

stop() {  # stop NAME PIDFILE: SIGTERM via pid file (or by exact name), wait, SIGKILL if needed
  local name=$1 pidfile=$2 pid
  if ! pgrep -x "$name" >/dev/null; then log "$name not running"; return 0; fi
  log "stopping $name"
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
  fi
  pkill -x "$name" 2>/dev/null || true
  for _ in $(seq 75); do pgrep -x "$name" >/dev/null || return 0; sleep 0.2; done
  log "$name still running after 15 s; sending SIGKILL"
  pkill -9 -x "$name" 2>/dev/null || true
  sleep 0.5
  ! pgrep -x "$name" >/dev/null || die "cannot stop $name"
}

stop slurmd /run/slurm/slurmd.pid
stop slurmctld /run/slurm/slurmctld.pid
stop munged /run/munge/munged.pid
leftover=$(pgrep -x slurmstepd || true)
[ -z "$leftover" ] || log "warning: slurmstepd still running (pids: $(echo $leftover))"
echo "slurm-down: OK slurmd, slurmctld and munged stopped (packages and config kept)"
