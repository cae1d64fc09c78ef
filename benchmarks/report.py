"""``docs/benchmarks.md`` and its CUDA section, which ``run_all`` (CPU) keeps as it finds it
and ``gpu_check`` (CUDA) rewrites. Standard library only: the GPU check's driver imports
it before it knows what the machine can import."""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, 'docs', 'benchmarks.md')
HEADER = os.path.join(HERE, 'benchmarks_header.md')
FOOTER = os.path.join(HERE, 'benchmarks_footer.md')

CUDA_BEGIN = '<!-- cuda-section: written by benchmarks/gpu_check.py -->'
CUDA_END = '<!-- /cuda-section -->'
CUDA_PLACEHOLDER = ('## CUDA\n\nNo GPU check has been run yet: `make gpu-check` on a GPU machine '
                    'writes this section (see benchmarks/README.md).')


def cuda_section(path: str) -> str:
    """The CUDA section of ``path`` as gpu_check.py left it (CPU runs keep it), else a note."""
    body = CUDA_PLACEHOLDER
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if CUDA_BEGIN in text and CUDA_END in text:
            body = text.split(CUDA_BEGIN, 1)[1].split(CUDA_END, 1)[0].strip()
    return f'{CUDA_BEGIN}\n{body}\n{CUDA_END}'


def write_cuda_section(path: str, body: str) -> None:
    """Replace the CUDA section of ``path`` (created from the header if missing) by ``body``."""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    else:
        with open(HEADER) as f:
            text = f.read()
    block = f'{CUDA_BEGIN}\n{body.strip()}\n{CUDA_END}'
    if CUDA_BEGIN in text and CUDA_END in text:
        head, rest = text.split(CUDA_BEGIN, 1)
        text = head + block + rest.split(CUDA_END, 1)[1]
    else:
        text = text.rstrip() + '\n\n' + block + '\n'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
