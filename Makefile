# Thin wrapper over CMake so a new user needs only `make`.
#   make demo          build and run the echo demo on every backend
#   make test          build and run the conformance suite (+ Windows leg
#                      under wine when mingw-w64 and wine are installed)
#   make test-asan     the suite under AddressSanitizer + UBSan
#   make test-tsan     the suite under ThreadSanitizer
#   make test-windows  cross-compile with mingw-w64, run the suite in wine
#   make test-kqueue   the suite on kqueue, through libkqueue (pkg-config)
#   make bench [QUICK=1]  benchmarks against libuv, libev, libevent, epoll
BUILD ?= build
JOBS ?= 2
CTEST = ctest --output-on-failure -j$(JOBS)
CMAKE_FLAGS ?=

.PHONY: all build demo test test-unix test-asan test-tsan test-windows test-kqueue \
        bench clean

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/examples/evq_demo

# make docs: the API reference, HTML from include/evq.h's comments (with
# the user guide, docs/guide.md) into $(BUILD)/docs/html; needs doxygen and
# fails on any doxygen warning.
.PHONY: docs
docs:
	sh tools/docs.sh $(BUILD)/docs

test-unix: build
	cd $(BUILD) && $(CTEST)

test: test-unix
	@if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && \
	    { command -v wine >/dev/null 2>&1 || command -v wine64 >/dev/null 2>&1; } && \
	    [ -f cmake/mingw-w64-x86_64.cmake ]; then \
	  $(MAKE) --no-print-directory test-windows; \
	else \
	  echo "make test: Windows leg NOT run (needs gcc-mingw-w64-x86-64 and wine; see docs/windows.md)"; \
	fi

test-asan:
	$(MAKE) --no-print-directory test-unix BUILD=build-asan \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DEVQ_SANITIZE=address,undefined"

test-tsan:
	$(MAKE) --no-print-directory test-unix BUILD=build-tsan \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DEVQ_SANITIZE=thread"

test-windows:
	tools/test-windows.sh

test-kqueue:
	tools/test-kqueue.sh

bench: build
	$(MAKE) -C bench run QUICK=$(QUICK)

clean:
	rm -rf build build-asan build-tsan build-win build-kqueue-wide build-kqueue-narrow
