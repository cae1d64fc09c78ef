# mmacon: install into .venv, run the suite, run the demo.
#   make install   idempotent; builds mmcv 2.1.0 with its C++ ops only when missing
#   make test      install, then the whole pytest suite
#   make test-configs  install, then every shipped config (configs/**) for 3 iterations
#                  under 2-process DDP and tools/test.py on its checkpoint (make test
#                  runs one config per model family)
#   make demo      install, then the transfer-learning pipeline in miniature (tools/demo.py)
#   make gpu-check on a GPU machine: CUDA tests, CUDA benchmark tables, PSPNet AMP step, NCCL
#                  torchrun (no install but the kit's; GPU_PYTHON, GPU_KIT, OUT: benchmarks/README.md)
#   make gpu-kit   the wheels the GPU check's model sections need there, into .gpu-kit/
#
# TORCH_SPEC: the torch + torchvision to install. The default takes the package
# registry's torch 2.13.0 (a CUDA 13 build that also runs on CPU; with triton
# 3.7.1) and the torchvision 0.28.0 of that release. `===` (exact version) and
# not `==`: `==2.13.0` also matches a local `2.13.0+cpu` wheel (pip config
# find-links), which pip would prefer and with which torchvision's ops do not
# load. torchvision is pinned with torch: unpinned, it upgrades torch.
# On a GPU cluster take the build of your CUDA, e.g.
#   make install TORCH_SPEC="torch==2.13.0 torchvision==0.28.0 --index-url https://download.pytorch.org/whl/cu128"
PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
TORCH_SPEC  ?= torch===2.13.0 torchvision===0.28.0
NPROC       := $(shell nproc 2>/dev/null || echo 2)
STAMP       := $(VENV)/.mmacon-installed
# the torch / torchvision just installed, as constraints: no later install may change them
CONSTRAINTS := $(VENV)/torch-constraints.txt

.PHONY: install test test-configs demo bench gpu-check gpu-kit clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_SPEC)
	$(PY) -c "from importlib.metadata import version as v; print(f'torch==={v(\"torch\")}\ntorchvision==={v(\"torchvision\")}')" > $(CONSTRAINTS)
	$(PIP) install -q -c $(CONSTRAINTS) numpy ninja wheel "setuptools>=77.0.3,<82"
	@if $(PY) -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; then \
		echo "mmcv 2.1.0 with mmcv.ops already importable: skipping the build"; \
	else \
		echo "building mmcv 2.1.0 with its C++ ops (about 15-22 minutes on 2 cores; pip caches the wheel)"; \
		MMCV_WITH_OPS=1 MAX_JOBS=$(NPROC) $(PIP) install -c $(CONSTRAINTS) --no-build-isolation mmcv==2.1.0 || exit 1; \
	fi
	$(PIP) install -q -c $(CONSTRAINTS) mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 \
		mmpretrain==1.2.0 ftfy regex
	$(PIP) install -q -c $(CONSTRAINTS) --no-build-isolation -e ".[all,tests]"
	$(PY) -c "import torch, torchvision, mmcv.ops, mmdet, mmseg, mmpretrain, mmacon; \
		torchvision.ops.nms(torch.rand(2, 4), torch.rand(2), 0.5); \
		print('mmacon', mmacon.__version__, 'ready: torch', torch.__version__, \
		'torchvision', torchvision.__version__)"
	@touch $(STAMP)

test: install
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

# one config after another: each training run uses 2 processes
test-configs: install
	MMACON_SHIPPED_CONFIGS=all $(PY) -m pytest -q tests/test_configs/test_shipped_configs_ddp.py

demo: install
	$(PY) tools/demo.py

bench: install
	$(PY) -m benchmarks.run_all

# The GPU machine has its own Python with torch and Triton, and no network. The kernel
# sections need nothing more; the model sections need the wheel kit (make gpu-kit here, carry
# .gpu-kit), which gpu_check installs with pip --no-index --no-deps --target into a temporary
# folder and adds to PYTHONPATH (extended, never replaced). OUT: where results are copied;
# GPU_CHECK_ARGS: more options (--only, --budget, --cpu-dry-run: python -m benchmarks.gpu_check -h).
GPU_PYTHON     ?= python3
GPU_KIT        ?= .gpu-kit
OUT            ?=
GPU_CHECK_ARGS ?=
gpu-check:
	PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(GPU_PYTHON) -m benchmarks.gpu_check \
		--kit $(GPU_KIT) $(if $(OUT),--out-dir $(OUT)) $(GPU_CHECK_ARGS)

# mmcv is built for cp312 against torch 2.11.0 (about 40 minutes on 2 cores) with KIT_PYTHON,
# unless MMCV_WHEEL names such a wheel built before.
KIT_PYTHON ?= python3.12
MMCV_WHEEL ?=
gpu-kit:
	PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(PYTHON) -m benchmarks.gpu_kit \
		--dest $(GPU_KIT) --build-python $(KIT_PYTHON) $(if $(MMCV_WHEEL),--mmcv-wheel $(MMCV_WHEEL))

clean-venv:
	rm -rf $(VENV)
