#!/usr/bin/env bash
# Distributed training with torchrun (torch.distributed.run):
#   tools/dist_train.sh ${CONFIG} ${GPUS} [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as upstream. Without CUDA
# the processes train on CPU over gloo (tools/train.py sets that up).
# PYTHON selects the interpreter (default: python; the one with mmacon installed, e.g.
# .venv/bin/python). No PYTHONPATH edit: the installed (editable) mmacon is used.

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
