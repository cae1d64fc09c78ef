# Copyright (c) mmacon contributors. All rights reserved.
"""Benchmarks of configs x seeds (``tools/benchmark.py``): the matrix (``spec``), a
run's command line (``launch``), skipping / resuming / running (``runner``), what
mmengine logged (``scalars``), and the results files (``report``, ``plot``)."""
from .launch import train_command
from .runner import BenchmarkRunner, run_benchmark
from .spec import ACTIVATIONS, BenchmarkRun, build_runs, load_spec

__all__ = ['ACTIVATIONS', 'BenchmarkRun', 'BenchmarkRunner', 'build_runs', 'load_spec',
           'run_benchmark', 'train_command']
