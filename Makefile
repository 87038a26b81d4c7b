# Entry points for a fresh machine: `make demo` and `make test`. Each installs
# missing dependencies, configures (CMake + Ninja, ccache when present), builds
# and runs.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# test-asan: the runtime, frontend and tools built with ASan + UBSan
# (SSM_SANITIZE, top CMakeLists.txt, which also sets the tests' run-time
# options) in their own directory, only what these tests need
# (ssm-test-asan-deps, test/CMakeLists.txt), then the model tests (sessions
# from several threads among them), the tools' lit tests, the CPU target's
# and the runtime's unit tests (calls from several threads among them).
ASAN_BUILD_DIR ?= build-asan
ASAN_TESTS = model/|Model|lit/tools|CpuTarget

.PHONY: all deps configure build test test-asan demo bench check-lit clean

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

test-asan: deps
	@if [ ! -f $(ASAN_BUILD_DIR)/build.ninja ]; then \
	  cmake -G Ninja -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DSSM_SANITIZE=address,undefined $(CMAKE_FLAGS); \
	fi
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target ssm-test-asan-deps
	@ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS) \
	  -R '$(ASAN_TESTS)'
	@ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS) -L runtime

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@$(BUILD_DIR)/bin/ssm-bench --report=bench/report.md $(BENCH_FLAGS)

check-lit: build
	@cmake --build $(BUILD_DIR) --target check-ssm-lit

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
