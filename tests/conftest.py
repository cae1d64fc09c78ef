import os
import sys

# Test modules import helpers from their siblings (e.g. ``from test_acon import ...``).
HERE = os.path.dirname(__file__)
for sub in ('test_models/test_activations',):
    sys.path.insert(0, os.path.join(HERE, sub))
