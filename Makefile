# The two commands of the README. Both set up what they need, so they work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PEERS_STAMP := $(VENV)/.peers-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test setup clean readme test-image test-slow bench-peers bench-fleet bench-instructions

demo: $(STAMP)  ## set up, then replay a recorded game day into ./data (no network, no keys)
	$(BIN)/scrapers demo

test: $(STAMP)  ## set up, then lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# Two pytest processes, one per core: the integration tests mostly wait on servers and
	@# subprocesses, the rest mostly compute. Every test takes its own free ports, so they never meet.
	@log=$$(mktemp); \
	$(BIN)/pytest -q -p no:cacheprovider -m "not slow" tests/integration > $$log 2>&1 & pid=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider -m "not slow" --ignore=tests/integration; rest=$$?; \
	wait $$pid; integration=$$?; \
	echo "--- tests/integration"; cat $$log; rm -f $$log; \
	test $$rest -eq 0 -a $$integration -eq 0

# The long fault runs and fleet proofs (several worker processes draining a queue, random kills);
# not part of `make test`, which keeps a fast test of the same behaviour.
test-slow: $(PEERS_STAMP)  ## the tests marked slow: long fault runs, multi-process fleet proofs, the peers
	$(BIN)/pytest -q -p no:cacheprovider -m slow tests

# The peer comparison: Courtside's fleet beside crawlee and Scrapy (the optional `peers`
# extra, installed into the venv once per version of pyproject.toml), three runs in one invocation.
bench-peers: $(PEERS_STAMP)  ## install the peers extra, then python -m bench --peers (about 10 minutes)
	$(BIN)/python -m bench --peers

# The fleet benchmark (README "Fleet benchmark"): real processes sharing a real redis-server beside
# per-process ones; rate limits, breakers, and failed-run counters on a real Prometheus scraping a
# real Pushgateway, in one run. Needs redis-server, prometheus and prometheus-pushgateway (apt).
bench-fleet: $(STAMP)  ## python -m bench.fleet: rate, breaker and metrics tables, fleet vs per-process
	$(BIN)/python -m bench.fleet

# The core's overhead in instructions per request under valgrind's callgrind (no noise from the
# machine); about 5 minutes.
bench-instructions: $(STAMP)  ## python -m bench.instructions: instructions per request, core vs raw httpx
	$(BIN)/python -m bench.instructions

$(PEERS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,peers]'
	rm -f $(VENV)/.peers-* && touch $@

# The image, built and run in a test (README "Container"); not part of `make test`. The local
# Debian base is built once per version of its recipe (the tag carries the script's checksum).
IMAGE_BASE ?= courtside-base:bookworm-$(shell cksum tests/image/prepare.sh | cut -d' ' -f1)

test-image: $(STAMP)  ## build the image on a local Debian base, run demo, a replayed job and the service in it
	bash tests/image/prepare.sh $(IMAGE_BASE)
	COURTSIDE_IMAGE_BASE=$(IMAGE_BASE) $(BIN)/pytest -q -p no:cacheprovider tests/image

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache

readme: $(STAMP)  ## regenerate the README's scraper table from registry.yaml
	$(BIN)/python -c "import re,pathlib,subprocess; p=pathlib.Path('README.md'); t=subprocess.run(['$(BIN)/scrapers','list','--markdown'],capture_output=True,text=True,check=True).stdout.strip(); s=p.read_text(); b,e='<!-- scrapers:begin -->','<!-- scrapers:end -->'; p.write_text(s.split(b)[0]+b+'\n'+t+'\n'+e+s.split(e)[1])"
