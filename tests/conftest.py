import os
import sys

# Any test may use tests/test_tools/tool_helpers.py (``load_tool``, paths). Other shared
# helpers are imported as modules of the ``tests`` package (e.g. ``tests.test_ops.helpers``).
HERE = os.path.dirname(__file__)
for sub in ('test_tools',):
    sys.path.insert(0, os.path.join(HERE, sub))
