#!/usr/bin/env bash
# Slurm training: tools/slurm_train.sh ${PARTITION} ${JOB_NAME} ${CONFIG} ${WORK_DIR} [train.py args]
# Environment (upstream's names and defaults):
#   GPUS           tasks (training processes) in all, default 8
#   GPUS_PER_NODE  GPUs and tasks per node, default 8. 0: a CPU-only job (gloo): no --gres is
#                  asked (a cluster without a "gpu" gres refuses --gres=gpu:N) and Slurm places
#                  the GPUS tasks on nodes by their CPUs
#   CPUS_PER_TASK  CPUs of each task, default 5. Slurm keeps a job pending for ever, without an
#                  error, when no node has CPUS_PER_TASK x tasks per node CPUs: checked first
#   MASTER_PORT    port of rank 0 (mmengine's slurm launcher), default 29500: jobs that share a
#                  node need one each (tools/benchmark.py gives every run its own)
#   SRUN_ARGS      more srun options; PYTHON the interpreter (default python)

set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}
PYTHON=${PYTHON:-python}

source "$(dirname "$0")/slurm_resources.sh" || exit 1

srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    ${RESOURCE_ARGS} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    $PYTHON -u $(dirname "$0")/train.py ${CONFIG} --work-dir=${WORK_DIR} --launcher="slurm" ${PY_ARGS}
