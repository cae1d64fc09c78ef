"""benchmarks/gpu_sections.py: the targets' tables read the right figures (the figures
themselves come from the GPU machine)."""
from benchmarks import gpu_sections


def test_kernel_targets_read_rows_and_bandwidth_at_the_large_shapes():
    def rows(acon, meta):
        return [{'name': 'SiLU', 'vs_silu': 1.0}, {'name': 'AconC (triton)', 'vs_silu': acon},
                {'name': 'MetaAconC (triton)', 'vs_silu': meta},
                {'name': 'AconC (eager)', 'error': 'RuntimeError: x'}]

    def bw(fwd, bwd):
        return [{'impl': 'triton', 'fwd_rel': fwd, 'bwd_rel': bwd},
                {'impl': 'eager', 'fwd_rel': 0.1, 'bwd_rel': 0.1}]

    figures = {'float32 2x64x200x336': {'rows': rows(1.05, 1.5), 'bandwidth': bw(0.9, 0.8)},
               'float16 2x64x200x336': {'rows': rows(9.0, 9.0), 'bandwidth': bw(0.1, 0.1)},
               'bfloat16 8x64x56x56': {'rows': rows(9.0, 9.0), 'bandwidth': bw(0.1, 0.1)}}
    lines = gpu_sections.kernel_targets(figures, ['2x64x200x336']).splitlines()
    assert lines[2:] == [
        '| AconC fwd+bwd time / SiLU | float32 2x64x200x336 | <= 1.1 | 1.050 | yes |',
        '| MetaAconC fwd+bwd time / SiLU | float32 2x64x200x336 | <= 1.4 | 1.500 | **no** |',
        '| AconC forward bandwidth / copy | float32 2x64x200x336 | >= 0.85 | 0.900 | yes |',
        '| AconC backward bandwidth / copy | float32 2x64x200x336 | >= 0.85 | 0.800 | **no** |']


def test_step_targets_compare_time_and_memory_with_relu():
    rows = [{'act': 'ReLU', 'vs_relu': 1.0, 'mem_vs_relu': 1.0},
            {'act': 'ACON-C', 'vs_relu': 1.04, 'mem_vs_relu': 1.031},
            {'act': 'Meta-ACON', 'vs_relu': 1.2, 'mem_vs_relu': 1.01}]
    assert gpu_sections.step_targets(rows).splitlines()[2:] == [
        '| ACON-C step time / ReLU | <= 1.05 | 1.040 | yes |',
        '| Meta-ACON step time / ReLU | <= 1.12 | 1.200 | **no** |',
        '| ACON-C step peak memory / ReLU | <= 1.03 | 1.031 | **no** |',
        '| Meta-ACON step peak memory / ReLU | <= 1.03 | 1.010 | yes |']
