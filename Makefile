# The commands of the README. Each one sets up .venv from requirements.lock first.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 2
STAMP := .venv/.installed-$(shell sha256sum requirements.lock 2>/dev/null | cut -c1-12)
STANDIN_PORT := 8765
UV_VERSION := 0.13.9
WEBSCRAPE ?= ../shared/data/webscrape

.PHONY: setup app test pipeline pipeline-offline bench lint chromium

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x .venv/bin/python || python3 -m venv .venv
	@# uv installs the same pinned lock as pip would, about five times faster (README).
	.venv/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	.venv/bin/uv pip install -q --python .venv/bin/python -r requirements.lock
	.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
	@rm -f .venv/.installed-* && touch $@

## Serve the app on the shipped model (published/).
app: $(STAMP)
	@# streamlit run app/main.py, with the model loading as the server starts (app/serve.py)
	python -m app.serve --browser.gatherUsageStats false

## Run the whole test suite (installs Chromium and its driver where apt-get can).
test: $(STAMP) chromium
	pytest

## Rebuild everything with DVC (Google Images and Kaggle; needs the internet).
pipeline: $(STAMP)
	dvc repro

## The complete pipeline on this machine: the scrape stages search a local stand-in
## for Google Images serving $(WEBSCRAPE); CIFAKE comes from ../shared/data/cifake.zip.
pipeline-offline: $(STAMP)
	@python -m devtools.standin --root $(WEBSCRAPE) --port $(STANDIN_PORT) & \
	  standin=$$!; trap "kill $$standin" EXIT; \
	  PARAMS_OVERLAY=params.offline.yaml dvc repro

## Measure every stage; writes docs/benchmarks/<date>.{json,md}.
bench: $(STAMP)
	python -m devtools.bench

lint: $(STAMP)
	ruff check . && ruff format --check .

chromium:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: Chromium/chromedriver not found and apt-get unavailable; browser tests will skip"; fi
