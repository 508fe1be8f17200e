# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up from a bare
# python3: the virtual environment lives in .venv/, installs are redone when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MNIST: $DIGITREC_DATA_DIR if set, else the shared copy beside the project if there is one,
# else digitrec's own cache/download.
DIGITREC_DATA_DIR ?= $(wildcard $(abspath ../shared/data/mnist))
export DIGITREC_DATA_DIR
export TF_CPP_MIN_LOG_LEVEL ?= 2
DEMO_DIR ?= runs/demo

.PHONY: demo test test-fast bench pretrained detector segmenter venv clean browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,serve,cluster,distributed,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/digitrec train --model fast --out $(DEMO_DIR) --overwrite
	$(BIN)/digitrec evaluate $(DEMO_DIR)

# Chromium for the browser tests, from Debian's packages (Playwright cannot download a browser here).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "browser tests will be skipped: /usr/bin/chromium missing and not root"; fi; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 tests

# Everything but the tests marked slow (Ray clusters, kills and resumes, training runs, big photos).
test-fast: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=10 -m "not slow" tests

bench: $(STAMP)
	$(BIN)/python benchmarks/real_pictures.py
	$(BIN)/python benchmarks/reading_cost.py --against e2e9a3b
	$(BIN)/python benchmarks/small_digits.py
	$(BIN)/python benchmarks/marks_around.py
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/batch_predict.py
	$(BIN)/python benchmarks/load_service.py
	$(BIN)/python benchmarks/resume_training.py
	$(BIN)/python benchmarks/fast_training.py
	$(BIN)/python benchmarks/multirun.py
	$(BIN)/python benchmarks/reproduce_seeds.py

# The model shipped in the package (about half an hour here): trains `robust`, exports it to
# src/digitrec/pretrained/ and measures it into the model card.
pretrained: $(STAMP)
	$(BIN)/python scripts/build_pretrained.py

# The "is this a digit?" detector shipped beside the model (about 20 minutes here): makes its
# training pictures, trains it, exports src/digitrec/pretrained/detector.onnx and its card.
detector: $(STAMP)
	$(BIN)/python scripts/build_detector.py

# The reader's learned stage (about 35 minutes here): draws its training pictures twice, with and
# without their handwriting, trains the small U-Net, exports src/digitrec/pretrained/segmenter.onnx
# and its card.
segmenter: $(STAMP)
	$(BIN)/python scripts/build_segmenter.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache
