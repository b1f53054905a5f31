# The two commands of the README. Both work on a fresh machine with Python 3.11+.
# Without DATABASE_URL they use an embedded PostgreSQL in .pgdata/ (pgserver).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Local runs are development: DEBUG=True lets settings keep a random key in .dev_secret_key
# (production must set SECRET_KEY; without it and without DEBUG the settings refuse to start).
migrate run bench: export DEBUG ?= True

.PHONY: run test setup db migrate lint bench system-deps stop-db clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[test]"
	touch $(STAMP)

setup: $(STAMP)

db: setup
	$(PY) scripts/devdb.py

migrate: db
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo
	$(PY) scripts/serve.py

system-deps:
	@bash scripts/system_deps.sh
	@bash scripts/vendor_axe.sh

test: migrate system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

bench: migrate
	$(PY) bench/run.py $(BENCH_ARGS)

lint: setup
	$(PY) -m ruff check .

stop-db: setup
	$(PY) scripts/devdb.py --stop

clean: stop-db
	rm -rf $(VENV) .pgdata
