# feederos — developer entry points. `make install` is the idempotent bootstrap the others use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?= -n 2
# The benchmark's peers (pyproject's `bench` extra) in their own env: pandapower pins pandas~=2.3.
BENCH_BIN   := $(VENV)/bench/bin
BENCH_STAMP := $(VENV)/bench/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test lint typecheck bench bench-install bench-peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(BIN)/feederos info ieee13
	$(BIN)/feederos solve ieee13
	$(BIN)/feederos validate ieee123
	$(BIN)/feederos generate --profile suburban --buses 2000 --seed 7 out/suburban-2000.json
	$(BIN)/feederos info out/suburban-2000.json
	$(BIN)/feederos hosting-capacity ieee123 --out out/hosting-capacity --top 10
	$(BIN)/fos run --home out/fos --feeder demo --duration-s 2
	$(BIN)/python tools/service_demo.py
	$(BIN)/feederos microgrid run scenarios/grid_failure.json --out out/streetgrid

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/lint-imports
	$(BIN)/mypy src/feederos

test: lint
	$(BIN)/pytest --cov=feederos --cov-report=term --durations=15 $(PYTEST_ARGS)

bench: install bench-install
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/powerflow.py
	$(BENCH_BIN)/python -m bench.timeseries
	$(BIN)/python -m bench.hosting_capacity
	$(BIN)/python -m bench.runtime_bus
	$(BIN)/python -m bench.api_load
	$(BIN)/python bench/edge_idle.py --seconds 60

bench-install: $(BENCH_STAMP)

$(BENCH_STAMP): pyproject.toml
	@test -x $(BENCH_BIN)/python || $(PYTHON) -m venv $(VENV)/bench
	$(BENCH_BIN)/python -m pip install --quiet --upgrade pip
	$(BENCH_BIN)/python -m pip install --quiet -e ".[bench]"
	@rm -f $(VENV)/bench/.installed-*
	@touch $@

bench-peers: bench-install
	$(BENCH_BIN)/python -m bench.peers.check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage out
