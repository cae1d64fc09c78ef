"""Test-suite root: ``tests`` and its folders are packages, so shared helpers import as
modules (``from tests.test_tools import tool_helpers``), with no ``sys.path`` edits."""
