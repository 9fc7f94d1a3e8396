# Everything a fresh machine needs, in one place. `make run` and `make test` install what they use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp

.PHONY: setup browser run test test-fast lint format bench clean

setup: $(STAMP)

# torch first, pinned to the local CPU build: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ui]'
	touch $(STAMP)

# The main job on the built-in default input: two clips rendered from photos shipped with
# scikit-image and matplotlib -> training data -> a short training run -> swapped videos in demo_out/.
run: setup
	$(BIN)/faceswap-gan demo --out demo_out

# The web UI's browser test drives Debian's Chromium: installed here where it is missing and we may
# (root with apt-get); elsewhere that one test is skipped and says why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and chromium-driver for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	      >/dev/null || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "no chromium/chromedriver: the browser test will be skipped"; fi; \
	fi

test: setup browser
	$(BIN)/ruff format --check faceswap_gan tests bench docs
	$(BIN)/ruff check faceswap_gan tests bench docs
	$(BIN)/pytest -q

# The inner loop: everything but the end-to-end runs (under half a minute; no sample media needed).
test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff format faceswap_gan tests bench docs
	$(BIN)/ruff check --fix faceswap_gan tests bench docs

bench: setup
	$(BIN)/python bench/extract_speed.py

clean:
	rm -rf $(VENV) extract_out sample .pytest_cache .ruff_cache
