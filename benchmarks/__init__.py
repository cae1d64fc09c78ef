"""Speed and memory measurements of mmacon, written to ``docs/benchmarks.md``.

A package of the checkout (not installed with mmacon); run its entry points from the
repository's root as modules: ``python -m benchmarks.run_all`` (``make bench``),
``python -m benchmarks.gpu_check`` (``make gpu-check``), see ``benchmarks/README.md``.
"""
