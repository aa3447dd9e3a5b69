# The two quick-start commands: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The API client generator that tests/api/test_generated_client.py runs, in a venv of its own:
# it pins an older httpx than the platform's (requirements.lock), which must not leak into .venv.
CODEGEN := $(VENV)/codegen
CODEGEN_STAMP := $(CODEGEN)/.installed

.PHONY: run test lint

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CODEGEN_STAMP): Makefile
	test -x $(CODEGEN)/bin/python || $(PYTHON) -m venv $(CODEGEN)
	$(CODEGEN)/bin/python -m pip install --quiet 'openapi-python-client==0.29.1'
	touch $(CODEGEN_STAMP)

run: $(STAMP)
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py seed_demo
	@echo "Admin: http://127.0.0.1:8000/admin/"
	DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP) $(CODEGEN_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
