# tandem — the two commands that matter: `make demo` and `make test`.
# Everything else here is a building block of those two.

BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=

# Debian 12 packages the build, the tests and the demo need. Kept in one list so
# `make deps` stays idempotent: it installs only what is missing.
DEB_PACKAGES = build-essential cmake pkg-config git ca-certificates \
  libgtest-dev libgmock-dev libbenchmark-dev \
  libsimdjson-dev libzstd-dev libxxhash-dev libcli11-dev libfmt-dev \
  librocksdb-dev libhnswlib-dev nlohmann-json3-dev libcpp-httplib-dev libyaml-cpp-dev \
  libspdlog-dev uuid-dev libssl-dev libhiredis-dev redis-server redis-tools \
  libpqxx-dev libpq-dev postgresql postgresql-client librdkafka-dev kcat \
  nodejs curl jq
# npm (the pgvector tests install PGlite from it): Debian's package unless an npm
# is already on PATH (NodeSource's nodejs bundles one and conflicts with Debian's).
DEB_PACKAGES += $(if $(shell command -v npm 2>/dev/null),,npm)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test test-long demo bench fuzz fuzz-long asan clean format

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_WERROR=ON $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Every tier CI runs: unit tests and the short crash tier.
test: deps
	$(MAKE) build
	cd $(BUILD) && ctest -L 'unit|crash' --output-on-failure -j$(JOBS) $(CTEST_ARGS)

# The long tiers (hundreds of kill rounds, long fuzzing): not in CI.
test-long: deps
	$(MAKE) build
	cd $(BUILD) && TANDEM_CRASH_ROUNDS=200 ctest -L 'unit|crash|slow' --output-on-failure $(CTEST_ARGS)

demo: deps
	$(MAKE) build
	./scripts/demo.sh $(BUILD)

bench: deps
	$(MAKE) build
	./scripts/bench.sh $(BUILD)

asan:
	$(MAKE) test BUILD=build-asan CMAKE_ARGS=-DTANDEM_SANITIZE=ON

fuzz:
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTANDEM_FUZZ=ON -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF
	cmake --build build-fuzz -j$(JOBS)

# libFuzzer: every target for 10 CPU-minutes each, summary per target (fuzz/README.md).
fuzz-long:
	./scripts/fuzz.sh build-fuzz 10

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-fuzz
