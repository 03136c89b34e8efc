# Berth: `make demo` runs the demo, `make test` runs the whole suite. Both set up the
# machine first (scripts/setup installs missing Debian packages).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup build test unit demo bench fuzz format clean

all: build

setup:
	scripts/setup

build: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	scripts/test

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

demo: build
	scripts/demo

bench: build
	scripts/bench

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
