# Thin wrapper over CMake so a new user needs only `make`.
#   make demo          build and run the echo demo on every backend
#   make test          build and run the conformance suite (+ Windows leg
#                      under wine when mingw-w64 and wine are installed)
#   make test-asan     the suite under AddressSanitizer + UBSan
#   make test-tsan     the suite under ThreadSanitizer
#   make test-windows  cross-compile with mingw-w64, run the suite in wine
#   make bench [QUICK=1]  benchmarks against libuv, libev, libevent, epoll
#   make install [PREFIX=/usr/local] [DESTDIR=]  header, libraries, CMake
#                      package and evq.pc under PREFIX
#   make dist          dist/evq.c + dist/evq.h: the library as one file
BUILD ?= build
JOBS ?= 2
CTEST = ctest --output-on-failure -j$(JOBS)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

.PHONY: all build demo test test-unix test-asan test-tsan test-windows \
        bench install dist clean

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/examples/evq_demo

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

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

dist:
	sh tools/amalgamate.sh dist

bench: build
	$(MAKE) -C bench run QUICK=$(QUICK)

clean:
	rm -rf build build-asan build-tsan build-win dist
