"""The setup of a run (torch, device, CPU capability, threads, processes): made, logged as
one line, read back, compared and described."""
import json

import torch

from mmacon.utils.run_setup import (MARKER, describe_setup, parse_setup, run_setup, setup_key,
                                    setup_line)

AVX512 = dict(torch='2.13.0', device='cpu', cpu_capability='AVX512', threads=1, processes=2)


def test_this_process():
    setup = run_setup(processes=4)
    assert setup == dict(torch=torch.__version__,
                         device='cpu' if not torch.cuda.is_available()
                         else torch.cuda.get_device_name(),
                         cpu_capability=torch.backends.cpu.get_cpu_capability(),
                         threads=torch.get_num_threads(), processes=4)
    assert setup_line(4) == MARKER + json.dumps(setup, sort_keys=True)


def test_parse_the_last_whole_line():
    avx2 = dict(AVX512, cpu_capability='AVX2')
    lines = ['12/04 20:42:53 - mmengine - INFO - ' + MARKER + json.dumps(AVX512),
             'unrelated', MARKER + json.dumps(avx2),
             MARKER + json.dumps(AVX512)[:20]]  # cut by a killed run
    assert parse_setup(lines) == avx2
    assert parse_setup(['no setup here']) is None


def test_what_must_agree():
    assert setup_key(AVX512) == ('2.13.0', 'CPU AVX512', 1, 2)
    # a GPU run is compared by its device; its CPU's capability matters less
    h100 = dict(AVX512, device='NVIDIA H100 80GB HBM3', threads=8, processes=1)
    assert setup_key(h100) == setup_key(dict(h100, cpu_capability='AVX2'))
    assert setup_key(h100) == ('2.13.0', 'NVIDIA H100 80GB HBM3', 8, 1)
    for change in (dict(torch='2.12.0'), dict(cpu_capability='AVX2'), dict(threads=2),
                   dict(processes=1)):
        assert setup_key(dict(AVX512, **change)) != setup_key(AVX512), change
    assert setup_key(None) is None and setup_key({}) is None


def test_description():
    assert describe_setup(AVX512) == 'torch 2.13.0, CPU AVX512, 1 thread, 2 processes'
    assert describe_setup(dict(AVX512, threads=4, processes=1)) == (
        'torch 2.13.0, CPU AVX512, 4 threads, 1 process')
    assert describe_setup(None) == 'unknown setup (not logged)'
