# Vigil — the two commands in the README (make demo, make test) and their helpers.
# Build folders:
#   build/      clang, ASan+UBSan, libFuzzer targets: what the tests run
#   build-rel/  gcc -O2: the demo and the benchmarks
#   build-arm/  arm-none-eabi, Cortex-M0+: portable libraries, target tests, footprint
#   build-install/  gcc -O2, PREFIX: what `make install` installs
#   build-deb/  `make deb`: a copy of the tree (src/), the .debs and lintian's report
.PHONY: all deps build build-rel build-arm test test-unit test-target test-long demo bench clean \
        install deb

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

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/root]: the programs, web files,
# agencies, example configuration (PREFIX=/usr: /etc/vigil), systemd units, man pages.
PREFIX ?= /usr/local
install: deps
	cmake -S . -B build-install $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_C_COMPILER=gcc -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build build-install -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install build-install

# make deb: vigil-station, vigil-console, vigil-tools, vigil-panel-sim .debs in
# build-deb/ (dpkg-buildpackage on a copy of the tree: the checkout stays clean),
# then lintian on them (build-deb/lintian.txt; packaging/README.md explains each
# warning left). DEB_JOBS: parallel jobs of the package build.
DEB_JOBS ?= $(JOBS)
DEB_DIR ?= build-deb
deb: deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git ls-files -z -co --exclude-standard | grep -zv '^BRIEF.md$$' | \
	    tar --null -T - --ignore-failed-read -cf - | tar -C $(DEB_DIR)/src -xf - ; \
	else \
	  tar --exclude='./build*' --exclude='./demo-run' --exclude='node_modules' -cf - . | \
	    tar -C $(DEB_DIR)/src -xf - ; \
	fi
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc -j$(DEB_JOBS) > ../build.log 2>&1 || \
	  { tail -40 ../build.log; exit 1; }
	ls -l $(DEB_DIR)/*.deb
	lintian --fail-on error --info $(DEB_DIR)/*.changes | tee $(DEB_DIR)/lintian.txt

clean:
	rm -rf build build-rel build-arm build-install build-deb
