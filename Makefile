# svgai: `make run` serves the app, `make test` runs the tests. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
THREADS ?= 16
STAMP := $(VENV)/.installed

.PHONY: run worker test install lint format benchmark clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/gunicorn svgai_site.wsgi:application --bind $(HOST):$(PORT) --workers $(WORKERS) \
		--threads $(THREADS) --timeout 180 --access-logfile -

# A Celery worker for batches: CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL) must be
# set; CELERY_WORKER_CONCURRENCY processes (default 2), each converting in one process of its own.
worker: $(STAMP)
	@test -n "$$CELERY_BROKER_URL" || { echo "Set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0, and DATABASE_URL first."; exit 1; }
	SVGAI_WORKERS=$${SVGAI_WORKERS:-1} $(BIN)/celery -A svgai_site worker --loglevel INFO

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
