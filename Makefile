# Two commands do all the set-up: `make demo` and `make test` create .venv, install the project
# and check for Java 17+ (installing it with apt when run as root); the tests also want Chromium
# for the report's browser check and a PostgreSQL server for consumer upsert's (each installed
# the same way, else those tests are skipped, saying why).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test quick demo lint bench java chromium postgres clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 is required: install python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# the checkout on sys.path: PySpark looks up pyspark_* modules with pkgutil.iter_modules,
	# which an editable install's finder does not list (pyspark_stream_lab.py)
	echo "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/spark_stream_lab_checkout.pth"
	@touch $@

java:
	@bash scripts/ensure_java.sh

chromium:
	@bash scripts/ensure_chromium.sh

postgres:
	@bash scripts/ensure_postgres.sh

# three workers (pytest-xdist) on two cores: the tests mostly wait on JVM starts and
# subprocesses (a third of the CPU busy with two workers); 9 min 55 s -> 8 min 36 s measured.
# Work stealing: a worker that runs dry takes tests queued for another, so the run does not end
# on one worker's queue (fresh clones: 8 min 49 s and 9 min 3 s without; 7 min 7 s, 7 min 35 s
# and 7 min 1 s with). With the soak test (ba42a46, 992bf86, c1e16ec): 7 min 41 s, 7 min 47 s, 7 min 5 s; four
# workers were slower (8 min 39 s) and a timeout-bound test failed under the load. With lesson 2
# run cold and the console tables printed by the consumer (2026-12-04, a59374e, 829239c): 8 min 3 s,
# 9 min 4 s
# With the notebook, the README recipe and the pytest plugin (7112d4c, a45e2cf): 8 min 52 s,
# 9 min 34 s (9 min 25 s, 10 min 9 s with set-up). With the checks of one's own queries and
# lesson 10 (e6d8eba): 10 min 15 s (10 min 55 s with set-up). With change feeds, lesson 11 and
# PostgreSQL (35cec8a): 10 min 43 s, 529 tests (11 min 19 s with set-up); at 8c17ad8, 10 min 42 s,
# 531 tests (11 min 19 s)
test: $(VENV)/.installed java chromium postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 3 --dist worksteal

# the quick lane: everything but the tests marked slow (two workers: 2 min 51 s at 35cec8a with
# the costliest change-feed tests marked slow, 450 tests; 2 min 38 s at e6d8eba, 418 tests; 2 min 45 s at 7112d4c, 406 tests; 2 min 49 s from a fresh clone at 992bf86, 2 min 57 s at 5988d55; at 646bcb7, 3 min 40 s, and with three workers 3 min 54 s)
quick: $(VENV)/.installed java chromium postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -m "not slow"

demo: $(VENV)/.installed java
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python scripts/bench_generator.py
	$(BIN)/python scripts/bench_landing.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
