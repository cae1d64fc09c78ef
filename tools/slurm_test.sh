#!/usr/bin/env bash
# Slurm testing: tools/slurm_test.sh ${PARTITION} ${JOB_NAME} ${CONFIG} ${CHECKPOINT} [test.py args]
# Environment as tools/slurm_train.sh: GPUS (tasks in all), GPUS_PER_NODE (0: a CPU-only job,
# no --gres), CPUS_PER_TASK (checked against the partition's nodes), MASTER_PORT, SRUN_ARGS,
# PYTHON.

set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PY_ARGS=${@:5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}

source "$(dirname "$0")/slurm_resources.sh" || exit 1

srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    ${RESOURCE_ARGS} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    $PYTHON -u $(dirname "$0")/test.py ${CONFIG} ${CHECKPOINT} --launcher="slurm" ${PY_ARGS}
