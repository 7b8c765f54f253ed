# ButlerDesk. `make run` serves the demo; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run serve secret test test-postgres db sweep notify clean catalogs

$(BIN)/python:
	scripts/ensure-venv.sh $(PYTHON) $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The compiled catalogs (ignored by git) are rebuilt whenever a .po file changes.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/*.po))
$(CATALOGS): %.mo: %.po $(VENV)/.runtime
	$(BIN)/pybabel -q compile -d translations

catalogs: $(CATALOGS)

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## db: create or upgrade the database (the migrations) and load the demo estate when it is empty
db: $(VENV)/.runtime catalogs
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty

# $(call with_sweeper,command): run the command beside a sweeper loop and a delivery worker loop
# (email and the group webhook); Ctrl-C stops all three.
with_sweeper = @echo "ButlerDesk on http://$(HOST):$(PORT)  (Ctrl-C stops the server, the sweeper and the notices)"; \
	$(FLASK) sweep --every 5 & sweeper=$$!; \
	$(FLASK) notify --every 2 & notifier=$$!; \
	trap 'kill $$sweeper $$notifier 2>/dev/null' EXIT INT TERM; \
	$(1)

## run: set up, then serve on http://$(HOST):$(PORT) with a sweeper recording missed deadlines
## and a worker sending the notices
run: db
	$(call with_sweeper,$(FLASK) run --host $(HOST) --port $(PORT))

## serve: as in production: gunicorn (workers from the core count), a sweeper loop and a notices loop.
## Needs SECRET_KEY, shared by every app server (refused before anything starts without it).
serve: secret db
	$(call with_sweeper,HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py "app:create_app()")

secret: $(VENV)/.runtime
	@$(BIN)/python -c "import os, sys, config; problem = config.secret_key_problem(os.environ.get('SECRET_KEY')); sys.exit(problem and 'ButlerDesk cannot start: ' + problem)"

## test: set up (Chromium included, for the browser tests), lint, run the whole suite in parallel
test: $(VENV)/.dev catalogs
	scripts/ensure-chromium.sh
	$(BIN)/ruff check --quiet .
	$(BIN)/pytest -n auto -q

## test-postgres: the whole suite again on PostgreSQL (a throwaway cluster, installed when missing)
test-postgres: $(VENV)/.dev catalogs
	scripts/ensure-chromium.sh
	scripts/with-postgres.sh $(BIN)/pytest -n auto -q

## sweep: record missed deadlines once
sweep: $(VENV)/.runtime catalogs
	$(FLASK) sweep

## notify: send the notices due (email, the group webhook) once
notify: $(VENV)/.runtime catalogs
	$(FLASK) notify

## bench: the benchmarks (not part of `make test`), about 15 minutes; writes bench/results.md.
## SQLite temp files by default (data sets cached in bench/.cache); DATABASE_URL=postgresql+psycopg://…
## for PostgreSQL; BENCH_ARGS="--only sweep,pages --sizes 10000,100000" for a part (bench/__main__.py)
.PHONY: bench
bench: $(VENV)/.runtime catalogs
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
