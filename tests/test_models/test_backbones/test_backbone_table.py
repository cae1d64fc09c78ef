"""tools/analysis/backbone_table.py: measures what the docs table shows."""
from pathlib import Path

from tests.test_tools.tool_helpers import load_tool

ROOT = Path(__file__).resolve().parents[3]


def test_measure_and_row_format():
    tool = load_tool('tools/analysis/backbone_table.py')
    params, flops = tool.measure(dict(type='AconShuffleNetV2', widen_factor=0.5))
    assert params == 661_620
    assert 41.5e6 < flops < 42.0e6  # paper: 41M
    table = tool.build_table(only='^ShuffleNetV2 0.5x Meta-ACON$')
    row = table.splitlines()[-1]
    assert row.startswith('| ShuffleNetV2 0.5x Meta-ACON |') and '| 661,620 |' in row
    assert '1.69M' in row and '41M / 1.7M' in row


def test_docs_table_is_generated():
    text = (ROOT / 'docs' / 'backbones.md').read_text()
    tool = load_tool('tools/analysis/backbone_table.py')
    table = text.split(tool.START)[1].split(tool.END)[0]
    assert "| ResNet-50 Meta-ACON | `type='AconResNet', depth=50` | 23,697,808 |" in table
    assert len(table.strip().splitlines()) == 2 + len(tool.MODELS_TO_MEASURE)
