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


JUNIT = '''<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="" name="tests.test_ops.test_function"><error message="collection failure">
tests/test_ops/test_function.py:10: in &lt;module&gt;
E   ModuleNotFoundError: No module named 'mmengine'</error></testcase>
<testcase classname="" name="tests.test_ops.test_broken"><error message="collection failure">
E   ModuleNotFoundError: No module named 'scipyx'</error></testcase>
<testcase classname="tests.test_ops.test_triton_acon" name="test_a" time="0.1"/>
<testcase classname="tests.test_ops.test_triton_acon" name="test_b" time="0.1">
<skipped message="needs CUDA"/></testcase>
<testcase classname="tests.test_ops.test_triton_acon" name="test_c" time="0.1">
<failure message="assert 1 == 2">assert 1 == 2</failure></testcase>
</testsuite></testsuites>'''


def test_junit_sets_apart_files_that_need_a_missing_openmmlab_package(tmp_path, monkeypatch):
    xml = tmp_path / 'junit.xml'
    xml.write_text(JUNIT)
    missing = {'mmengine'}
    real_find_spec = gpu_sections.importlib.util.find_spec
    monkeypatch.setattr(gpu_sections.importlib.util, 'find_spec',
                        lambda name: None if name in missing else real_find_spec(name))
    counts, failed, uncollected = gpu_sections._junit(str(xml))
    assert counts == {'error': 1, 'passed': 1, 'skipped': 1, 'failure': 1}
    assert failed == ['tests.test_ops.test_broken', 'tests.test_ops.test_triton_acon::test_c']
    assert uncollected == ['tests.test_ops.test_function (needs mmengine)']
    missing.clear()   # where mmengine is installed, a file failing to import it is a failure
    counts, failed, uncollected = gpu_sections._junit(str(xml))
    assert uncollected == [] and failed[0] == 'tests.test_ops.test_function'
