import os
import sys

# Test modules import helpers from their siblings (e.g. ``from test_acon import ...``),
# and any test may use tests/test_tools/tool_helpers.py (``load_tool``, paths).
HERE = os.path.dirname(__file__)
for sub in ('test_models/test_activations', 'test_tools'):
    sys.path.insert(0, os.path.join(HERE, sub))
