# Entry points for a fresh machine: `make demo` and `make test`. Each installs
# missing dependencies, configures (CMake + Ninja, ccache when present), builds
# and runs.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench check-lit clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -G Ninja -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS); \
	fi

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@$(BUILD_DIR)/bin/ssm-bench --report=bench/report.md $(BENCH_FLAGS)

check-lit: build
	@cmake --build $(BUILD_DIR) --target check-ssm-lit

clean:
	rm -rf $(BUILD_DIR)
