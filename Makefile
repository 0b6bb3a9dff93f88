# qkc — the two commands of the README, and friends.
#   make demo   install missing packages, build, compile the bundled CNN, run it
#   make test   install missing packages, build, run every test (+ ASan/UBSan)
#   make bench  benchmarks against peers (see bench/)
#   make zoo    real architectures against ONNX Runtime, writes bench/ZOO.md (bench/zoo/)
#   make valgrind  memcheck over the compiler and the runtime (tests/valgrind.sh)
#   make install   build, then install under PREFIX (default /usr/local)
#   make deb    build, then $(BUILD)/qkc_<version>_<arch>.deb (cpack -G DEB)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

.PHONY: all deps build demo test test-fast test-asan bench zoo fuzz valgrind install deb clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)

# Every test, then the whole suite again under ASan+UBSan.
test: test-fast test-asan

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQKC_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE no-asan

# libFuzzer targets (fuzz/), each run FUZZ_SECONDS with its seeds; exit 1 on
# a crash, a leak or a hang, with the reproducer printed.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
	  -DQKC_FUZZ=ON -DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	./fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	@./bench/run.sh $(BUILD)

# The model zoo: torchvision CNNs and HuggingFace transformers (random
# weights, nothing downloaded) at fp32/fp16/int8 against ONNX Runtime; prints
# the tables and writes bench/ZOO.md. ZOO_ARGS passes options to zoo.py
# (e.g. ZOO_ARGS="--models resnet18,bert --quick" or "--heldout"). Then
# bench/zoo/dynamic.py: int8-dynamic vs quantize_dynamic on the transformers
# (bench/ZOO-dynamic.md); bench/zoo/smooth.py: --smooth on GPT-2 with outliers.
ZOO_ARGS ?=
zoo: build
	python3 bench/zoo/zoo.py --build $(BUILD) $(ZOO_ARGS)
	python3 bench/zoo/dynamic.py --build $(BUILD)
	python3 bench/zoo/smooth.py --build $(BUILD)

# valgrind memcheck over compiles and runs of the bundled models (a few
# minutes: not part of `make test`); fails on any error or lost block.
valgrind: build
	./tests/valgrind.sh $(BUILD)

# qkc, libqkrt (shared and static), its headers, the CMake package
# (find_package(qkc), qkc_add_model), qkrt.pc and the docs; the tree is
# relocatable (cmake/install.cmake).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The same tree under /usr as a Debian package (install it with
# apt install ./$(BUILD)/qkc_*.deb).
deb: build
	cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
