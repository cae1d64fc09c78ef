"""benchmarks/gpu_check.py: writes only the CUDA section, and says what it could not run."""
import pytest
import torch

from tests.test_tools.tool_helpers import load_tool

gpu_check = load_tool('benchmarks/gpu_check.py')
run_all = load_tool('benchmarks/run_all.py')


def test_cuda_section_replaced_in_place(tmp_path):
    out = tmp_path / 'benchmarks.md'
    out.write_text(f'# head\n\n{run_all.CUDA_BEGIN}\nold\n{run_all.CUDA_END}\n\n## Reading\ntail\n')
    run_all.write_cuda_section(str(out), '## CUDA\n\nnew figures')
    text = out.read_text()
    assert text == (f'# head\n\n{run_all.CUDA_BEGIN}\n## CUDA\n\nnew figures\n{run_all.CUDA_END}'
                    '\n\n## Reading\ntail\n')
    assert run_all.cuda_section(str(out)) == (f'{run_all.CUDA_BEGIN}\n## CUDA\n\nnew figures\n'
                                              f'{run_all.CUDA_END}')
    assert 'No GPU check has been run yet' in run_all.cuda_section(str(tmp_path / 'none.md'))


def test_sections_degrade_with_the_reason(monkeypatch):
    def broken():
        raise ImportError('No module named mmseg')

    title, _, body, _ = gpu_check.section('PSPNet', broken)
    assert title.startswith('### PSPNet (')
    assert body.startswith('Could not run: ImportError: No module named mmseg (')
    monkeypatch.setattr(gpu_check, '_START', 0.0)
    assert 'Skipped: the check had used its' in gpu_check.section('late', broken)[2]


def test_without_cuda_the_check_says_so(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('with CUDA the real check runs (make gpu-check)')
    out = tmp_path / 'benchmarks.md'
    assert gpu_check.main(['--out', str(out)]) == 0
    text = out.read_text()
    assert f'- torch {torch.__version__}' in text and '- CUDA: not available' in text
    assert 'No CUDA device: the CUDA tests and tables could not run here.' in text
