# dlgrade: `make report` (quick profile PDFs) and `make test` do all set-up themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dlgrade-installed
PROFILE ?= quick
OUT ?= out
# Offline course mirrors (MNIST, CIFAR-10) when this checkout sits beside them.
SHARED_DATA := $(abspath ../shared/datasets)
ifeq ($(DLGRADE_DATA),)
ifneq ($(wildcard $(SHARED_DATA)),)
export DLGRADE_DATA := $(SHARED_DATA)
endif
endif

.PHONY: setup system-deps fonts report test bench lint clean

setup: system-deps fonts $(STAMP)

system-deps:
	@scripts/install-system-deps.sh

# The Persian face (Vazirmatn, from npm, into dlgrade/typeset/fonts/); without npm the PDFs fall back to Noto Sans Arabic.
fonts:
	@scripts/fetch-fonts.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

report: setup
	$(BIN)/dlgrade report --profile $(PROFILE) --out $(OUT)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m dlgrade.bench

clean:
	rm -rf $(OUT) .pytest_cache
