# Vigil — the two commands in the README (make demo, make test) and their helpers.
# Build folders:
#   build/      clang, ASan+UBSan, libFuzzer targets: what the tests run
#   build-rel/  gcc -O2: the demo and the benchmarks
#   build-arm/  arm-none-eabi, Cortex-M0+: portable libraries, target tests, footprint
.PHONY: all deps build build-rel build-arm test test-unit test-target test-long demo bench clean

JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja
CTEST_FLAGS := --output-on-failure -j $(JOBS)

all: build

deps:
	@scripts/install-deps

build/build.ninja:
	cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang -DVIGIL_SANITIZE=ON -DVIGIL_FUZZ=ON

build: deps build/build.ninja
	cmake --build build -j $(JOBS)

build-rel/build.ninja:
	cmake -S . -B build-rel $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc

build-rel: deps build-rel/build.ninja
	cmake --build build-rel -j $(JOBS)

build-arm/build.ninja:
	cmake -S . -B build-arm $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=MinSizeRel \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake

build-arm: deps build-arm/build.ninja
	cmake --build build-arm -j $(JOBS)

# The gate: host tests (unit, fuzz smoke, integration) under ASan/UBSan,
# then the portable libraries' tests on a Cortex-M0 under QEMU.
test: build build-arm
	cd build && ctest $(CTEST_FLAGS) -LE long
	cd build-arm && ctest $(CTEST_FLAGS) -L target

test-unit: build
	cd build && ctest $(CTEST_FLAGS) -L unit

test-target: build-arm
	cd build-arm && ctest $(CTEST_FLAGS) -L target

# Too long for the gate: fuzz campaigns, valgrind runs, crash floods.
test-long: build build-rel
	cd build && ctest --output-on-failure -L long --timeout 7200

bench: build-rel build-arm
	bench/run-all

demo: build-rel
	scripts/demo

clean:
	rm -rf build build-rel build-arm
