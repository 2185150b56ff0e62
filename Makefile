# Everything installs into .venv; torch is pinned by constraints.txt (CPU build, no CUDA downloads).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: report reports lessons diffs test bench clean

report: $(STAMP)  ## the main job: GoogLeNet at the 003 article's input -> reports/googlenet/
	$(VENV)/bin/archscope report googlenet --input 20,3,224,224
	$(VENV)/bin/archscope summary googlenet --input 20,3,224,224 --depth 1

reports: $(STAMP) lessons diffs  ## every zoo model's report, the comparison index, the lessons and the diffs, as committed in reports/
	$(VENV)/bin/archscope report --all --out reports

lessons: $(STAMP)  ## the lessons (en and zh) of the articles' networks and the Inception blocks -> reports/lessons/
	$(VENV)/bin/archscope teach --all --out reports/lessons

diffs: $(STAMP)  ## the GoogLeNet variants compared layer by layer (the pairs the zoo catalog lists) -> reports/diffs/
	$(VENV)/bin/archscope diff --all --out reports/diffs

test: $(STAMP)  ## the test suite
	$(PY) -m pytest

bench: $(STAMP)  ## speed against a plain meta forward and torchinfo (medians and ratios)
	$(PY) benchmarks/bench.py

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
