# Copyright (c) mmacon contributors. All rights reserved.
"""Where a run ran: what a comparison of runs needs to know.

The same seed gives the same numbers on one machine, not across machines: torch's CPU
kernels depend on the processor's instruction set (``cpu_capability``, e.g. ``AVX512``),
CUDA kernels on the device, and reductions on the number of threads and of processes.
:class:`~mmacon.utils.device_aware_runner.DeviceAwareRunner` writes these facts to the
run's log as one line, ``Run setup: {...}`` (JSON); ``tools/benchmark.py`` reads them back
into each run's record and warns when it averages runs made on different setups.
"""
import json
from typing import Iterable, Optional, Tuple

import torch

MARKER = 'Run setup: '


def run_setup(processes: int = 1) -> dict:
    """This process's setup: torch version, device ('cpu' or the CUDA device's name), CPU
    capability, intra-op threads, and the number of processes of the run."""
    cuda = torch.cuda.is_available()
    return dict(torch=torch.__version__,
                device=torch.cuda.get_device_name() if cuda else 'cpu',
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                threads=torch.get_num_threads(), processes=int(processes))


def setup_line(processes: int = 1) -> str:
    return MARKER + json.dumps(run_setup(processes), sort_keys=True)


def parse_setup(lines: Iterable[str]) -> Optional[dict]:
    """The last setup logged in ``lines`` (None when none was)."""
    found = None
    for line in lines:
        i = line.find(MARKER)
        if i >= 0:
            try:
                found = json.loads(line[i + len(MARKER):])
            except json.JSONDecodeError:  # a line cut by a killed run
                continue
    return found


def setup_key(setup: Optional[dict]) -> Optional[Tuple]:
    """What must agree for two runs to be comparable: torch version, hardware (the CUDA
    device, else the CPU capability), threads and processes. None: unknown."""
    if not setup:
        return None
    hardware = setup.get('device')
    if hardware in (None, 'cpu'):
        hardware = f"CPU {setup.get('cpu_capability')}"
    return setup.get('torch'), hardware, setup.get('threads'), setup.get('processes')


def describe_setup(setup: Optional[dict]) -> str:
    """``torch 2.13.0, CPU AVX512, 1 thread, 2 processes`` ('unknown setup' for None)."""
    key = setup_key(setup)
    if key is None:
        return 'unknown setup (not logged)'
    version, hardware, threads, processes = key
    return (f'torch {version}, {hardware}, {threads} thread{"" if threads == 1 else "s"}, '
            f'{processes} process{"" if processes == 1 else "es"}')
