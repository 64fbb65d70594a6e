# svgai: `make run` serves the app, `make test` runs the tests. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
THREADS ?= 16
STAMP := $(VENV)/.installed

.PHONY: run admin worker test test-under-load install system browser lint format benchmark clean

# Debian packages, installed when absent (we run as root here; elsewhere use sudo or your
# package manager): potrace is the layers tracer, run as a separate program (GPL-2, never
# linked); libcairo2 is what CairoSVG draws PDF and EPS downloads with; poppler-utils
# (pdftoppm) and ghostscript render them back in the tests; chromium drives the browser tests.
APT_INSTALL = { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); }

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP) system

system:
	@command -v potrace >/dev/null || $(call APT_INSTALL,potrace)
	@ldconfig -p | grep -q libcairo.so.2 || $(call APT_INSTALL,libcairo2)
	@command -v pdftoppm >/dev/null || $(call APT_INSTALL,poppler-utils)
	@command -v gs >/dev/null || $(call APT_INSTALL,ghostscript)

browser:
	@command -v chromium >/dev/null || $(call APT_INSTALL,chromium)

# gunicorn's asyncio worker (svgai_site/server.py: with a deadline on headers) reads each
# request whole, then svgai_site/front.py runs Django on THREADS threads: a client that sends
# slowly holds a socket, never a thread (slowloris). Overload answers 503 + Retry-After, whatever
# THREADS is: a request waits at most SVGAI_WEB_QUEUE_WAIT for a thread, and a conversion that
# is not expected to start within SVGAI_QUEUE_EXPECTED_WAIT is refused at once.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	SVGAI_WEB_THREADS=$(THREADS) $(BIN)/gunicorn svgai_site.front:application \
		--worker-class svgai_site.server.FrontWorker --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --timeout 180 --access-logfile -

# The first admin account for /admin/. With DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD
# and DJANGO_SUPERUSER_EMAIL set it is made without questions; otherwise createsuperuser asks,
# and refuses an e-mail address that is not valid (one is required).
admin: install
	$(BIN)/python manage.py migrate --noinput
	@if [ -n "$$DJANGO_SUPERUSER_USERNAME" ] && [ -n "$$DJANGO_SUPERUSER_PASSWORD" ] \
		&& [ -n "$$DJANGO_SUPERUSER_EMAIL" ]; then \
		$(BIN)/python manage.py createsuperuser --noinput; \
	else \
		echo "Creating the admin account: a user name, a valid e-mail (e.g. you@example.com), a password."; \
		$(BIN)/python manage.py createsuperuser; \
	fi

# A Celery worker for batches: CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL) must be
# set; CELERY_WORKER_CONCURRENCY processes (default 2), each converting in one process of its own.
worker: install
	@test -n "$$CELERY_BROKER_URL" || { echo "Set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0, and DATABASE_URL first."; exit 1; }
	SVGAI_WORKERS=$${SVGAI_WORKERS:-1} $(BIN)/celery -A svgai_site worker --loglevel INFO

# PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS='-m "not browser"'.
test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same run with HOGS CPU-bound processes beside it (default 2, one per core of a small CI
# machine): a test that asserts speed instead of behaviour fails here. The hogs are stopped
# whatever the outcome; the target's status is pytest's.
HOGS ?= 2
test-under-load: install browser
	@hogs=""; trap 'kill $$hogs 2>/dev/null' EXIT INT TERM; \
	for _ in $$(seq $(HOGS)); do $(BIN)/python -c 'while True: pass' & hogs="$$hogs $$!"; done; \
	echo "pytest beside $(HOGS) CPU hogs (pids$$hogs)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
