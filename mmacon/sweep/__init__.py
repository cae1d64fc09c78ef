# Copyright (c) mmacon contributors. All rights reserved.
"""A sweep: configs x seeds trained as separate processes, optionally in two stages
(the engine of ``tools/benchmark.py`` and ``tools/demo.py``).

The matrix (``spec``), a run's command line (``launch``), skipping / resuming / running
the runs as subprocesses (``scheduler``), what mmengine logged (``scalars``), and the
results files (``report``, ``plot``). Kernel timings are elsewhere (``benchmarks/``)."""
from .launch import train_command
from .scheduler import SweepScheduler, run_sweep
from .spec import ACTIVATIONS, SweepRun, build_runs, load_spec

__all__ = ['ACTIVATIONS', 'SweepRun', 'SweepScheduler', 'build_runs', 'load_spec',
           'run_sweep', 'train_command']
