#!/usr/bin/env bash
# Sourced by tools/slurm_train.sh and tools/slurm_test.sh: puts the srun options for GPUS tasks
# of CPUS_PER_TASK CPUs, GPUS_PER_NODE GPUs and tasks per node (0: no GPU, no --gres, Slurm
# places the tasks) in RESOURCE_ARGS. Slurm leaves a job whose tasks fit on no node of the
# partition pending for ever with no error; this returns 1 with a message instead.
{ _FLAGS=$-; set +x; } 2>/dev/null  # quiet here; the caller's xtrace is restored
for var in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
  if ! [[ "${!var}" =~ ^[0-9]+$ ]]; then
    echo "$(basename "$0"): $var=${!var} is not a number" >&2
    if [[ $_FLAGS == *x* ]]; then set -x; fi
    return 1
  fi
done
if [ "$GPUS_PER_NODE" -gt 0 ]; then
  RESOURCE_ARGS="--gres=gpu:$GPUS_PER_NODE --ntasks=$GPUS --ntasks-per-node=$GPUS_PER_NODE"
  PER_NODE=$(( GPUS < GPUS_PER_NODE ? GPUS : GPUS_PER_NODE ))  # --ntasks wins over per-node
else
  RESOURCE_ARGS="--ntasks=$GPUS"
  PER_NODE=1
fi
RESOURCE_ARGS="$RESOURCE_ARGS --cpus-per-task=$CPUS_PER_TASK"
# CPUs of the partition's nodes (none when sinfo cannot tell: then Slurm decides)
NODE_CPUS=$(sinfo -h -N -p "$PARTITION" -o %c 2>/dev/null | grep -E '^[0-9]+$')
if [ -n "$NODE_CPUS" ] && ! [[ " $SRUN_ARGS " =~ \ (-O|--overcommit)\  ]]; then
  MAX_CPUS=0; ALL_CPUS=0
  for c in $NODE_CPUS; do
    ALL_CPUS=$(( ALL_CPUS + c )); MAX_CPUS=$(( c > MAX_CPUS ? c : MAX_CPUS ))
  done
  WHY=""
  if [ $(( CPUS_PER_TASK * PER_NODE )) -gt "$MAX_CPUS" ]; then
    WHY="CPUS_PER_TASK=$CPUS_PER_TASK x $PER_NODE task(s) per node, but the nodes of"
    WHY="$WHY partition $PARTITION have at most $MAX_CPUS CPUs: set CPUS_PER_TASK to at most"
    WHY="$WHY $(( MAX_CPUS / PER_NODE ))"
    [ "$PER_NODE" -gt 1 ] && WHY="$WHY or lower GPUS_PER_NODE"
  elif [ $(( CPUS_PER_TASK * GPUS )) -gt "$ALL_CPUS" ]; then
    WHY="GPUS=$GPUS tasks x CPUS_PER_TASK=$CPUS_PER_TASK CPUs, but partition $PARTITION has"
    WHY="$WHY $ALL_CPUS CPUs in all: lower GPUS or CPUS_PER_TASK"
  fi
  if [ -n "$WHY" ]; then
    echo "$(basename "$0"): $WHY (Slurm would keep the job pending for ever)" >&2
    if [[ $_FLAGS == *x* ]]; then set -x; fi
    return 1
  fi
fi
if [[ $_FLAGS == *x* ]]; then set -x; fi
