# vidit — plain make. `make` builds build/vidit; `make test` runs every test
# (unit tests, the sanitizer build of them, and a short fuzzing run).
#
# BUILD selects the output folder, so several builds can live side by side
# (make BUILD=build-dbg CFLAGS_OPT='-O0 -g').

BUILD      ?= build
CC         ?= cc
CFLAGS_OPT ?= -O3 -march=native
WERROR     ?= -Werror
BLAS_CFLAGS := $(shell pkg-config --cflags openblas)
BLAS_LIBS   := $(shell pkg-config --libs openblas) -Wl,-rpath,$(shell pkg-config --variable=libdir openblas)
AV_PKGS     := libavformat libavcodec libswscale libavutil
AV_CFLAGS   := $(shell pkg-config --cflags $(AV_PKGS))
AV_LIBS     := $(shell pkg-config --libs $(AV_PKGS))

CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(CFLAGS_OPT) \
          -fopenmp -fno-math-errno -Wall -Wextra -Wshadow -Wno-unused-parameter $(WERROR) \
          -Iinclude -Isrc $(BLAS_CFLAGS) $(AV_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(BLAS_LIBS) $(AV_LIBS) -lm $(EXTRA_LDLIBS)
LDFLAGS = -fopenmp $(EXTRA_LDFLAGS)

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c))
TOOL_SRC := $(sort $(wildcard tools/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_LIB := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/*.c)))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TESTLIB_OBJ := $(TEST_LIB:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

# `make V=1` shows full command lines.
Q := $(if $(V),,@)

# Keep test objects (make would otherwise delete them as intermediates).
.SECONDARY:

.PHONY: all lib tests test test-unit test-asan fuzz bench demo clean deps goldens
all: $(BUILD)/vidit

lib: $(BUILD)/libvidit.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvidit.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/vidit: $(TOOL_OBJ) $(BUILD)/libvidit.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TESTLIB_OBJ) $(BUILD)/libvidit.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

tests: $(TEST_BIN) $(BUILD)/vidit

# Unit tests: every tests/test_*.c is one program; tests find their data
# relative to the repository root and build/vidit through VIDIT_BIN.
test-unit: tests
	@VIDIT_BIN=$(abspath $(BUILD)/vidit) sh tests/run_tests.sh $(BUILD)/tests

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer
# (LeakSanitizer included). Slow tests read VIDIT_TEST_QUICK and shrink.
test-asan:
	$(MAKE) --no-print-directory -j2 BUILD=build-asan \
	  CFLAGS_OPT='-O1 -g -march=native -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined' tests
	@VIDIT_TEST_QUICK=1 VIDIT_BIN=$(abspath build-asan/vidit) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  sh tests/run_tests.sh build-asan/tests

# libFuzzer on the safetensors reader, seeded with malformed files.
FUZZ_SECONDS ?= 30
fuzz:
	@sh fuzz/run.sh $(FUZZ_SECONDS)

test: deps
	$(MAKE) --no-print-directory -j2 tests
	$(MAKE) --no-print-directory test-unit test-asan fuzz
	@echo "all tests passed"

# Kernel benchmarks, then vidit against the PyTorch peer (bench/peer_torch.py,
# in the venv of scripts/torch-venv.sh) on the same DiT workloads, the VAE and
# generation: one markdown table (bench/README.md). About 10 minutes on 2 cores.
bench: $(BUILD)/vidit
	@sh bench/run.sh $(BUILD)/vidit

# Regenerates the PyTorch golden files (needs the venv made by
# scripts/torch-venv.sh; never needed to run the tests).
goldens:
	sh scripts/make-goldens.sh

deps:
	sh scripts/install-deps.sh

# Installs what is missing, builds, and generates a video with the default
# model (models/default.safetensors): out/demo.mp4 and out/demo.gif.
DEMO_PROMPT ?= a red circle moves to the right on a blue background
demo:
	sh scripts/install-deps.sh
	$(MAKE) --no-print-directory -j2 all
	@mkdir -p out
	$(BUILD)/vidit generate "$(DEMO_PROMPT)" -o out/demo.mp4 --scale 4
	$(BUILD)/vidit generate "$(DEMO_PROMPT)" -o out/demo.gif --scale 4
	@echo "wrote out/demo.mp4 and out/demo.gif"

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.d)
