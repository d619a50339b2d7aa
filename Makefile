# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv compile demo test lint typecheck importlint unit clean campaign bench bench-pg bench-scale bench-web

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

# The hot modules compiled with mypyc (src/rostersync/compiled.py; docs/performance.md
# item 59): built unless the build matches the sources. Plain Python runs without it.
compile: $(STAMP)
	ROSTERSYNC_PURE_PYTHON=1 $(BIN)/python -m rostersync.compiled_build ensure

demo: compile
	$(BIN)/python -m rostersync.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

importlint: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck importlint compile
	ROSTERSYNC_REQUIRE_COMPILED=1 $(BIN)/python -m pytest -q

# Districts per minute with 1, 2 and 4 worker processes (PostgreSQL and Redis on this
# machine). A benchmark, not a test; figures in docs/deploy.md.
bench-scale: $(STAMP)
	$(BIN)/python -m tests.scale.bench_scale

# The district-scale benchmark (not part of `make test`): STUDENTS=1000000 by default.
STUDENTS ?= 1000000
bench: compile
	$(BIN)/python -m rostersync.bench --students $(STUDENTS) --json .bench/results.json --markdown .bench/results.md

# The same on PostgreSQL (a server URL; the database rostersync_bench is recreated there).
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
bench-pg: compile
	$(BIN)/python -m rostersync.bench --students $(STUDENTS) --postgresql $(BENCH_PG_URL) --json .bench/results-pg.json --markdown .bench/results-pg.md

# The dashboard and API under load while syncs run (not part of `make test`); docs/load.md.
LOAD_CLIENTS ?= 50
LOAD_SECONDS ?= 60
bench-web: $(STAMP)
	$(BIN)/python -m tests.load.bench_web --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS)

campaign: $(STAMP)
	$(BIN)/python -m tests.campaign.harness --runs 200

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache src/rostersync/_compiled.json
	find src -name '*.so' -delete
