# Makefile — short commands around the CMake build (see README.md).
#   make                configure and build into build/ (binary: build/vitc)
#   make test           install missing Debian packages, build with -Werror, run every ctest suite
#   make test-sanitize  the same in build-asan/ with AddressSanitizer and UBSan
#   make demo           build, then inspect, run and check the demo model
#   make clean          remove the build directories
BUILD := build
ASAN_BUILD := build-asan
JOBS := 2
CTEST_FLAGS := --output-on-failure -j$(JOBS)
# The demo model: tests/models/demo, or else the first model directory there is.
DEMO ?= $(firstword $(wildcard tests/models/demo) $(patsubst %/model.onnx,%,$(wildcard tests/models/*/model.onnx)))

.PHONY: all deps test test-sanitize demo clean

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
	@test -n "$(DEMO)" || { echo "make demo: no model directory under tests/models/" >&2; exit 2; }
	$(BUILD)/vitc inspect $(DEMO)/model.onnx
	$(BUILD)/vitc run $(DEMO)/model.onnx $$(ls -v $(DEMO)/test_data_set_0/input_*.pb) -o $(BUILD)/demo-out
	$(BUILD)/vitc check $(DEMO)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
