# The two commands of the README, and the steps they are made of. Every target installs what it
# needs first (scripts/install-deps is idempotent and quick when nothing is missing).
#
#   make up      deps + release build + run the whole platform in the foreground
#   make test    deps + release build + every test (unit, contract, end-to-end) via CTest

BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan
FUZZ_BUILD_DIR ?= build-fuzz
JOBS ?= $(shell nproc)
# Tests mostly wait on sockets and PostgreSQL, so twice the cores keeps both cores busy.
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
ARGS ?=

.PHONY: all deps build up test test-asan test-tsan fuzz bench format format-check tidy clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)
	@cd web && npm run build --silent -- --logLevel warn

up: build
	$(BUILD_DIR)/substrate up $(ARGS)

test: build
	@scripts/run-tests $(BUILD_DIR) $(TEST_JOBS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (also run by .ci/run).
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Asan -DSUBSTRATE_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) --target unit_tests
	@scripts/run-tests $(ASAN_BUILD_DIR) $(TEST_JOBS) -L unit

# Unit tests under ThreadSanitizer (also run by .ci/run). Tests labelled rdkafka drive librdkafka,
# whose Debian build is not instrumented: TSan cannot see its threads' synchronisation and would
# report races inside it, so those run under ASan and in `make test` only.
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Tsan -DSUBSTRATE_BENCH=OFF >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target unit_tests
	@scripts/run-tests $(TSAN_BUILD_DIR) $(TEST_JOBS) -L unit -LE rdkafka

# libFuzzer targets (clang): replay the committed corpus, then fuzz briefly.
FUZZ_SECONDS ?= 30
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSUBSTRATE_FUZZ=ON \
	  -DSUBSTRATE_TESTS=OFF -DSUBSTRATE_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_targets
	@scripts/run-fuzz $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

bench: build
	bench/http/run $(BUILD_DIR)
	bench/startup/run $(BUILD_DIR)/substrate
	bench/kafka/run $(BUILD_DIR)
	bench/avro/run $(BUILD_DIR)
	bench/auth/run $(BUILD_DIR)
	bench/realtime/run $(BUILD_DIR)
	bench/processors/run $(BUILD_DIR)
	bench/rest/run $(BUILD_DIR)
	bench/gateway/run $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check: deps
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

tidy: build
	@git ls-files 'src/*.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
