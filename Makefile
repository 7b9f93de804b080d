# Makefile — short commands around the CMake build (see README.md).
#   make                configure and build into build/ (binary: build/vitc)
#   make test           install missing Debian packages, build with -Werror, run every ctest suite
#   make test-sanitize  the same in build-asan/ with AddressSanitizer and UBSan
#   make demo           build, check the demo model, run it JIT-compiled and compiled ahead of time
#   make cross-aarch64  build the runtime and demo host for aarch64, run them under qemu against torch
#   make fuzz           run each libFuzzer target (fuzz/) for FUZZ_SECONDS (60); crashes go to fuzz/regressions
#   make clean          remove the build directories
BUILD := build
ASAN_BUILD := build-asan
JOBS := 2
CTEST_FLAGS := --output-on-failure -j$(JOBS)
# The bundled demo model: a small ViT classifier over 32x32 images (tests/models/demo).
DEMO := tests/models/demo

.PHONY: all deps test test-sanitize demo cross-aarch64 fuzz clean

all:
	cmake -S . -B $(BUILD)
	cmake --build $(BUILD) -j$(JOBS)

deps:
	tools/install-deps.sh

test: deps
	cmake -S . -B $(BUILD) -DVITC_WERROR=ON
	cmake --build $(BUILD) -j$(JOBS)
	ctest --test-dir $(BUILD) $(CTEST_FLAGS)

test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -DVITC_WERROR=ON -DVITC_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) $(CTEST_FLAGS)

demo: deps all
	$(BUILD)/vitc inspect $(DEMO)/model.onnx
	$(BUILD)/vitc check $(DEMO)
	@echo "== just in time: examples/jit_host.c loads the .onnx through include/vitc.h"
	$(BUILD)/examples/jit_host $(DEMO)/model.onnx $(DEMO)/test_data_set_0/input_0.pb $(DEMO)/labels.txt --iters 20
	@echo "== ahead of time: vitc compile writes demo.o + demo.h, linked into examples/aot_host.c"
	cmake --build $(BUILD) --target aot_host
	$(BUILD)/examples/aot_host $(DEMO)/test_data_set_0/input_0.pb $(DEMO)/labels.txt --iters 20

cross-aarch64: deps all
	tools/cross-aarch64.sh $(BUILD)/vitc $(BUILD)/cross-aarch64

fuzz: deps
	fuzz/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
