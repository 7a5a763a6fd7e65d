# egovflow — `make run` serves the demo, `make test` runs the whole suite.
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ASSETS  := service/static/dist/.built
HOST    ?= 127.0.0.1
PORT    ?= 8000
export EGOVFLOW_SECRET_KEY ?= dev-only-secret-change-me

.PHONY: install run test bench lint worker clean

install: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(ASSETS): package.json package-lock.json $(shell find frontend -type f 2>/dev/null)
	npm ci --no-audit --no-fund --loglevel=error
	npm run build
	touch $(ASSETS)

run: install
	$(BIN)/egovflow db upgrade
	$(BIN)/egovflow deploy bpmn/
	$(BIN)/egovflow seed
	$(BIN)/egovflow logins --url http://$(HOST):$(PORT)
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 1 --threads 4 --config service/gunicorn_conf.py 'service:create_app()'

worker: install
	$(BIN)/egovflow worker

test: install
	$(BIN)/python -m pytest -n 2 tests --ignore=tests/perf

bench: install
	$(BIN)/python tests/perf/bench_engine.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules service/static/dist egovflow.db*
