# Thin wrapper over CMake so a new user needs only `make`.
#   make demo          build and run the echo demo on every backend
#   make test          build and run the suite on every backend, + the
#                      Windows leg under wine when mingw-w64 and wine work;
#                      ends with one line: passed, failed, skipped (each
#                      with its reason) and which legs ran
#   make test-asan     the suite under AddressSanitizer + UBSan
#   make test-tsan     the suite under ThreadSanitizer
#   make test-windows  cross-compile with mingw-w64, run the suite in wine
#   make test-kqueue   the suite on kqueue, through libkqueue (pkg-config)
#   make bench [QUICK=1]  benchmarks against libuv, libev, libevent, epoll
#   make install [PREFIX=/usr/local] [DESTDIR=]  headers, libraries, CMake
#                      package and evq.pc under PREFIX (builds the two
#                      libraries only)
#   make dist          dist/evq.c + evq.h + evq_net.h + evq_io.h: the library
#                      as one file
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=1]  the differential fuzzer
#                      (libFuzzer, clang) on every backend; skipped, saying
#                      why, without clang
#   make faults        the fault walk: every call site of the library made
#                      to fail, under AddressSanitizer + UBSan
#   make memcheck      the suite under valgrind memcheck
#   make load          10,000 connections, churn and soak, every backend
#   make soak [SOAK_SECONDS=3600]  the soak alone, as long as asked
BUILD ?= build
JOBS ?= 2
CTEST = ctest --output-on-failure -j$(JOBS)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local
# CMake's build runs make again below this one; without this, every one of
# those makes prints "Entering directory" and "Leaving directory".
MAKEFLAGS += --no-print-directory

.PHONY: all build demo test test-unix test-asan test-tsan test-windows \
        test-kqueue bench install dist clean fuzz faults memcheck load soak

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# quiet_build WHAT,TARGETS: configures $(BUILD) and builds TARGETS with the
# compiler's output in $(BUILD)/build.log, shown only when the build fails,
# so that what the person asked for is what they read.
define quiet_build
	@mkdir -p "$(BUILD)"
	@echo "building $(1) in $(BUILD) (log: $(BUILD)/build.log)"
	@{ cmake -S . -B "$(BUILD)" $(CMAKE_FLAGS) && \
	  cmake --build "$(BUILD)" -j$(JOBS) --target $(2); } \
	  >"$(BUILD)/build.log" 2>&1 || { tail -n 60 "$(BUILD)/build.log"; \
	  echo "build failed; the whole log: $(BUILD)/build.log"; exit 1; }
endef

demo:
	$(call quiet_build,the demo,evq_demo)
	@cd "$(BUILD)" && ./examples/evq_demo

# make docs: the API reference, HTML from the comments of include/evq.h,
# include/evq_net.h and include/evq_io.h (with the user guide,
# docs/guide.md) into $(BUILD)/docs/html; needs doxygen and fails on any
# doxygen warning.
.PHONY: docs
docs:
	sh tools/docs.sh $(BUILD)/docs

test-unix: build
	cd $(BUILD) && $(CTEST)

test:
	@BUILD="$(BUILD)" JOBS="$(JOBS)" CMAKE_FLAGS="$(CMAKE_FLAGS)" \
	  sh tools/test-all.sh

# The sanitizer legs leave out what runs no library code under them
# (package, single-file and benchmark builds), and the io_uring 5.11 rung
# (*.io_uring_5_11: the ladder's code runs under them as *.io_uring_ladder):
# make test runs those, and CI stays within its half hour.
SANITIZER_EXCLUDE := ^(bench\.smoke|dist\.|install\.)|\.io_uring_5_11$$

test-asan:
	@BUILD=build-asan JOBS="$(JOBS)" LEGS=native EXCLUDE='$(SANITIZER_EXCLUDE)' \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DEVQ_SANITIZE=address,undefined" \
	  sh tools/test-all.sh

test-tsan:
	@TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $$TSAN_OPTIONS" \
	  BUILD=build-tsan JOBS="$(JOBS)" LEGS=native EXCLUDE='$(SANITIZER_EXCLUDE)' \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DEVQ_SANITIZE=thread" \
	  sh tools/test-all.sh

test-windows:
	tools/test-windows.sh

test-kqueue:
	tools/test-kqueue.sh

install:
	$(call quiet_build,the libraries,evq_static evq_shared)
	DESTDIR="$(DESTDIR)" cmake --install "$(BUILD)" --prefix "$(PREFIX)"

dist:
	sh tools/amalgamate.sh dist

bench: build
	$(MAKE) -C bench run QUICK=$(QUICK)

# ---- reliability (docs/reliability.md) -------------------------------------
fuzz:
	@rc=0; sh fuzz/run.sh || rc=$$?; [ $$rc = 77 ] && rc=0; exit $$rc

faults:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
	  -DEVQ_SANITIZE=address,undefined >/dev/null
	cmake --build build-asan -j$(JOBS) --target fault_scenario
	cd build-asan && ctest --output-on-failure -R '^fault\.walk$$'

memcheck:
	@if ! valgrind --version >/dev/null 2>&1; then \
	  echo "SKIP: make memcheck: valgrind not installed (Debian: valgrind)"; \
	else BUILD=build-memcheck JOBS="$(JOBS)" LEGS=native \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DEVQ_MEMCHECK=ON" \
	  sh tools/test-all.sh; fi

load: build
	cd $(BUILD) && ctest --output-on-failure -L '^load$$'

soak: build
	cd $(BUILD) && SOAK_SECONDS=$(or $(SOAK_SECONDS),3600) \
	  ctest --output-on-failure --timeout 0 -R '^load\.soak\.'

clean:
	rm -rf build build-asan build-tsan build-win build-kqueue-wide \
	  build-kqueue-narrow build-fuzz build-memcheck dist
