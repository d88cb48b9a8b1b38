# One command each: `make demo` (the tracked NER experiment on the bundled sample) and `make test`.
# The venv is rebuilt from the project's own files whenever pyproject.toml or constraints.txt change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sparktag-installed
export SPARK_LOCAL_IP ?= 127.0.0.1
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv demo test test-lowest lint clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# torch first and pinned: an unpinned torch resolves to a multi-GB CUDA build.
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/sparktag demo

# Two processes (pytest-xdist; tests/conftest.py deals the tests out by module). On two cores, with the tests'
# JVMs sharing one archive of Spark's classes (tests/jvm_archive.py): two processes 20 min; before that archive
# one process took 31 min and four 38 (they crowd each other). TEST_WORKERS=0 runs them all in pytest's own
# process.
TEST_WORKERS ?= 2
test: venv
	$(PY) -m pytest -n $(TEST_WORKERS)

# The Spark and tracking tests on the LOWEST versions pyproject.toml allows (run by hand, not in CI; the README
# keeps its last result). A separate venv: pyspark, mlflow, pandas, ... at their lower bounds (torch stays the CPU
# wheel). Left out: the MLflow UI test (it checks the pages of the pinned MLflow's web app) and test_model_env
# (it builds a third environment from the package index, for the model it logs).
LOWEST_VENV ?= .venv-lowest
LOWEST_TESTS ?= tests/spark tests/tracking --ignore=tests/tracking/test_ui.py --ignore=tests/tracking/test_model_env.py
test-lowest: venv
	rm -rf $(LOWEST_VENV)
	python3 -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) .ci/lowest_constraints.py > $(LOWEST_VENV)/lowest-constraints.txt
	$(LOWEST_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		-c $(LOWEST_VENV)/lowest-constraints.txt -e '.[test]'
	$(LOWEST_VENV)/bin/python -m pip list --disable-pip-version-check 2>/dev/null \
		| grep -i -E '^(torch|pyspark|mlflow|pandas|pyarrow|numpy|transformers|safetensors|matplotlib|scikit-learn) '
	$(LOWEST_VENV)/bin/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) $(LOWEST_TESTS)

lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .pytest_cache
